// SPDX-License-Identifier: Apache-2.0
#include "backoffpolicydialog.h"

#include "appearance.h"

#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>

namespace goroutinemap::demo {

namespace {
QSpinBox *msBox(QWidget *parent)
{
    auto *box = new QSpinBox(parent);
    // Negative values are allowed in the box so that the library's validation shows.
    box->setRange(-1000, 24 * 60 * 60 * 1000);
    box->setSingleStep(100);
    box->setSuffix(QStringLiteral(" ms"));
    box->setGroupSeparatorShown(true);
    return box;
}
} // namespace

BackoffPolicyDialog::BackoffPolicyDialog(const BackoffPolicy &policy, QWidget *parent)
    : QDialog(parent),
      m_initial(msBox(this)),
      m_multiplier(new QDoubleSpinBox(this)),
      m_maximum(msBox(this)),
      m_jitter(new QDoubleSpinBox(this)),
      m_resetAfter(msBox(this)),
      m_preview(new QLabel(this)),
      m_problem(new QLabel(this)),
      m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel
                                             | QDialogButtonBox::RestoreDefaults,
                                     this))
{
    setWindowTitle(tr("Backoff Policy"));
    m_multiplier->setRange(0.0, 100.0);
    m_multiplier->setDecimals(2);
    m_multiplier->setSingleStep(0.25);
    m_jitter->setRange(-1.0, 2.0);
    m_jitter->setDecimals(2);
    m_jitter->setSingleStep(0.05);
    m_resetAfter->setSpecialValueText(tr("never"));
    m_resetAfter->setMinimum(0);
    m_preview->setWordWrap(true);
    m_problem->setWordWrap(true);
    QPalette warning = m_problem->palette();
    warning.setColor(QPalette::WindowText, appearance::color(appearance::Look::Failed));
    m_problem->setPalette(warning);

    m_initial->setToolTip(tr("The window after the first failure."));
    m_multiplier->setToolTip(tr("Each further failure multiplies the window by this."));
    m_maximum->setToolTip(tr("The window never grows beyond this."));
    m_jitter->setToolTip(tr("A random fraction of the window added to it, from 0 to 1."));
    m_resetAfter->setToolTip(
            tr("A failed name that stayed quiet this long after its window ended is forgotten."));

    auto *form = new QFormLayout(this);
    form->addRow(tr("&Initial delay:"), m_initial);
    form->addRow(tr("&Multiplier:"), m_multiplier);
    form->addRow(tr("Ma&ximum delay:"), m_maximum);
    form->addRow(tr("&Jitter:"), m_jitter);
    form->addRow(tr("&Forget history after:"), m_resetAfter);
    form->addRow(tr("Delays:"), m_preview);
    form->addRow(m_problem);
    form->addRow(m_buttons);

    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            [this] { setPolicy(BackoffPolicy()); });
    for (QSpinBox *box : {m_initial, m_maximum, m_resetAfter})
        connect(box, &QSpinBox::valueChanged, this, &BackoffPolicyDialog::update);
    for (QDoubleSpinBox *box : {m_multiplier, m_jitter})
        connect(box, &QDoubleSpinBox::valueChanged, this, &BackoffPolicyDialog::update);
    setPolicy(policy);
}

void BackoffPolicyDialog::setPolicy(const BackoffPolicy &policy)
{
    m_initial->setValue(int(policy.initialDelay().count()));
    m_multiplier->setValue(policy.multiplier());
    m_maximum->setValue(int(policy.maximumDelay().count()));
    m_jitter->setValue(policy.jitter());
    m_resetAfter->setValue(int(policy.resetAfter().count()));
    update();
}

BackoffPolicy BackoffPolicyDialog::policy() const
{
    BackoffPolicy policy;
    policy.setInitialDelay(std::chrono::milliseconds(m_initial->value()));
    policy.setMultiplier(m_multiplier->value());
    policy.setMaximumDelay(std::chrono::milliseconds(m_maximum->value()));
    policy.setJitter(m_jitter->value());
    policy.setResetAfter(std::chrono::milliseconds(m_resetAfter->value()));
    return policy;
}

void BackoffPolicyDialog::update()
{
    const BackoffPolicy p = policy();
    QString why;
    const bool valid = p.isValid(&why);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(valid);
    m_problem->setText(valid ? QString() : why);
    m_problem->setVisible(!valid);
    if (!valid) {
        m_preview->clear();
        return;
    }
    QStringList delays;
    for (qint64 failures = 1; failures <= 8; ++failures)
        delays << appearance::formatDuration(p.delayForFailure(failures).count());
    QString text = delays.join(QStringLiteral(", ")) + QStringLiteral(", … ")
            + tr("at most %1").arg(appearance::formatDuration(p.maximumDelay().count()));
    if (p.jitter() > 0)
        text += QLatin1Char(' ') + tr("(plus up to %1 % jitter)").arg(qRound(p.jitter() * 100));
    m_preview->setText(text);
}

} // namespace goroutinemap::demo
