// SPDX-License-Identifier: Apache-2.0
#include "rundialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

namespace goroutinemap::demo {

namespace {
QSpinBox *msSpinBox(int min, int max, qint64 value, QWidget *parent)
{
    auto *box = new QSpinBox(parent);
    box->setRange(min, max);
    box->setSingleStep(100);
    box->setValue(int(value));
    box->setSuffix(QStringLiteral(" ms"));
    box->setGroupSeparatorShown(true);
    return box;
}

QDialogButtonBox *okCancel(QDialog *dialog)
{
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, dialog);
    QObject::connect(buttons, &QDialogButtonBox::accepted, dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::reject);
    return buttons;
}
} // namespace

RunDialog::RunDialog(const SimulatedOperation &initial, QWidget *parent)
    : QDialog(parent),
      m_name(new QLineEdit(initial.name, this)),
      m_duration(msSpinBox(0, 10 * 60 * 1000, initial.duration.count(), this)),
      m_outcome(new QComboBox(this)),
      m_progress(new QCheckBox(tr("Report progress"), this)),
      m_retries(new QSpinBox(this))
{
    setWindowTitle(tr("Run Operation"));
    m_outcome->addItem(tr("Succeed"), int(SimulatedOperation::Outcome::Succeed));
    m_outcome->addItem(tr("Fail (return an error)"), int(SimulatedOperation::Outcome::Fail));
    m_outcome->addItem(tr("Throw an exception"), int(SimulatedOperation::Outcome::Throw));
    m_outcome->setCurrentIndex(m_outcome->findData(int(initial.outcome)));
    m_progress->setChecked(initial.reportProgress);
    m_retries->setRange(0, 20);
    m_retries->setValue(initial.maxRetries);
    m_retries->setToolTip(
            tr("With backoff on, the map runs a failed operation again each time its backoff "
               "window ends, this many times."));
    m_name->setToolTip(
            tr("Runs with the same name are refused while one is pending or backing off."));

    auto *form = new QFormLayout(this);
    form->addRow(tr("&Name:"), m_name);
    form->addRow(tr("&Duration:"), m_duration);
    form->addRow(tr("&Outcome:"), m_outcome);
    form->addRow(QString(), m_progress);
    form->addRow(tr("Automatic &retries:"), m_retries);
    auto *buttons = okCancel(this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Run"));
    form->addRow(buttons);
    connect(m_name, &QLineEdit::textChanged, this, [this, buttons] {
        buttons->button(QDialogButtonBox::Ok)->setEnabled(!m_name->text().isEmpty());
    });
}

SimulatedOperation RunDialog::operation() const
{
    SimulatedOperation op;
    op.name = m_name->text();
    op.duration = std::chrono::milliseconds(m_duration->value());
    op.outcome = SimulatedOperation::Outcome(m_outcome->currentData().toInt());
    op.reportProgress = m_progress->isChecked();
    op.maxRetries = m_retries->value();
    return op;
}

BurstDialog::BurstDialog(const BurstSpec &initial, QWidget *parent)
    : QDialog(parent),
      m_count(new QSpinBox(this)),
      m_names(new QSpinBox(this)),
      m_failure(new QSpinBox(this)),
      m_minDuration(msSpinBox(0, 60 * 1000, initial.minDuration.count(), this)),
      m_maxDuration(msSpinBox(1, 10 * 60 * 1000, initial.maxDuration.count(), this)),
      m_spread(msSpinBox(0, 60 * 1000, initial.spread.count(), this))
{
    setWindowTitle(tr("Burst"));
    m_count->setRange(1, 100000);
    m_count->setValue(initial.count);
    m_count->setGroupSeparatorShown(true);
    m_names->setRange(1, 100000);
    m_names->setValue(initial.names);
    m_failure->setRange(0, 100);
    m_failure->setValue(initial.failurePercent);
    m_failure->setSuffix(QStringLiteral(" %"));

    auto *form = new QFormLayout(this);
    form->addRow(tr("&Operations:"), m_count);
    form->addRow(tr("Distinct &names:"), m_names);
    form->addRow(tr("&Failure rate:"), m_failure);
    form->addRow(tr("S&hortest duration:"), m_minDuration);
    form->addRow(tr("&Longest duration:"), m_maxDuration);
    form->addRow(tr("&Spread over:"), m_spread);
    form->addRow(okCancel(this));
}

BurstSpec BurstDialog::spec() const
{
    BurstSpec spec;
    spec.count = m_count->value();
    spec.names = m_names->value();
    spec.failurePercent = m_failure->value();
    spec.minDuration =
            std::chrono::milliseconds(qMin(m_minDuration->value(), m_maxDuration->value()));
    spec.maxDuration =
            std::chrono::milliseconds(qMax(m_minDuration->value(), m_maxDuration->value()));
    spec.spread = std::chrono::milliseconds(m_spread->value());
    return spec;
}

} // namespace goroutinemap::demo
