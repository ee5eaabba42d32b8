// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/exponentialbackoff.h>

#include <QDialog>

QT_BEGIN_NAMESPACE
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;
QT_END_NAMESPACE

namespace goroutinemap::demo {

/*!
    \brief Edits a goroutinemap::BackoffPolicy: initial delay, multiplier, maximum,
    jitter and reset-after, with a preview of the first delays and the library's own
    validation (BackoffPolicy::isValid()) before OK is allowed. GUI thread.
*/
class BackoffPolicyDialog : public QDialog
{
    Q_OBJECT
public:
    explicit BackoffPolicyDialog(const BackoffPolicy &policy, QWidget *parent = nullptr);

    BackoffPolicy policy() const;
    void setPolicy(const BackoffPolicy &policy);

private:
    void update();

    QSpinBox *m_initial;
    QDoubleSpinBox *m_multiplier;
    QSpinBox *m_maximum;
    QDoubleSpinBox *m_jitter;
    QSpinBox *m_resetAfter;
    QLabel *m_preview;
    QLabel *m_problem;
    QDialogButtonBox *m_buttons;
};

} // namespace goroutinemap::demo
