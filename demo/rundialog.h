// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "simulation.h"

#include <QDialog>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;
QT_END_NAMESPACE

namespace goroutinemap::demo {

/*!
    \brief Asks for one simulated operation: name, duration, outcome (succeed, fail,
    throw), whether it reports progress and how often the map retries it. GUI thread.
*/
class RunDialog : public QDialog
{
    Q_OBJECT
public:
    explicit RunDialog(const SimulatedOperation &initial, QWidget *parent = nullptr);
    SimulatedOperation operation() const;

private:
    QLineEdit *m_name;
    QSpinBox *m_duration;
    QComboBox *m_outcome;
    QCheckBox *m_progress;
    QSpinBox *m_retries;
};

/*!
    \brief Asks for a burst: how many operations over how many names, the failure rate,
    the durations and the time the submissions are spread over. GUI thread.
*/
class BurstDialog : public QDialog
{
    Q_OBJECT
public:
    explicit BurstDialog(const BurstSpec &initial, QWidget *parent = nullptr);
    BurstSpec spec() const;

private:
    QSpinBox *m_count;
    QSpinBox *m_names;
    QSpinBox *m_failure;
    QSpinBox *m_minDuration;
    QSpinBox *m_maxDuration;
    QSpinBox *m_spread;
};

} // namespace goroutinemap::demo
