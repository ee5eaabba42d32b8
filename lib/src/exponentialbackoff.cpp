// SPDX-License-Identifier: Apache-2.0
#include <goroutinemap/exponentialbackoff.h>

#include "exponentialbackoff_p.h"
#include "logging_p.h"

#include <QCoreApplication>
#include <QRandomGenerator>

#include <cmath>
#include <limits>

namespace goroutinemap {

bool BackoffPolicy::isValid(QString *why) const
{
    auto fail = [why](const QString &text) {
        if (why)
            *why = text;
        return false;
    };
    if (m_initialDelay.count() < 0)
        return fail(QCoreApplication::translate("goroutinemap::BackoffPolicy",
                                                "The initial delay must not be negative."));
    if (m_maximumDelay.count() < 0)
        return fail(QCoreApplication::translate("goroutinemap::BackoffPolicy",
                                                "The maximum delay must not be negative."));
    if (m_initialDelay > m_maximumDelay)
        return fail(QCoreApplication::translate(
                            "goroutinemap::BackoffPolicy",
                            "The initial delay (%1) must not exceed the maximum delay (%2).")
                            .arg(formatDuration(m_initialDelay), formatDuration(m_maximumDelay)));
    if (!(m_multiplier >= 1.0) || !std::isfinite(m_multiplier))
        return fail(QCoreApplication::translate(
                            "goroutinemap::BackoffPolicy",
                            "The multiplier must be a finite number of at least 1, not %1.")
                            .arg(m_multiplier));
    if (!(m_jitter >= 0.0 && m_jitter <= 1.0))
        return fail(QCoreApplication::translate("goroutinemap::BackoffPolicy",
                                                "The jitter must be between 0 and 1, not %1.")
                            .arg(m_jitter));
    if (m_resetAfter.count() < 0)
        return fail(QCoreApplication::translate("goroutinemap::BackoffPolicy",
                                                "The reset-after time must not be negative."));
    if (why)
        why->clear();
    return true;
}

std::chrono::milliseconds BackoffPolicy::delayForFailure(qint64 failureCount) const noexcept
{
    if (failureCount <= 1 || m_initialDelay >= m_maximumDelay)
        return std::min(m_initialDelay, m_maximumDelay);
    // Computed in floating point so that no failure count can overflow; once past the
    // maximum it stays there.
    const double exponent = double(failureCount - 1);
    const double delay = double(m_initialDelay.count()) * std::pow(m_multiplier, exponent);
    if (!std::isfinite(delay) || delay >= double(m_maximumDelay.count()))
        return m_maximumDelay;
    return std::max(m_initialDelay, std::chrono::milliseconds(qint64(delay)));
}

bool operator==(const BackoffPolicy &a, const BackoffPolicy &b) noexcept
{
    return a.m_initialDelay == b.m_initialDelay && a.m_maximumDelay == b.m_maximumDelay
            && a.m_resetAfter == b.m_resetAfter && a.m_multiplier == b.m_multiplier
            && a.m_jitter == b.m_jitter;
}

std::chrono::milliseconds nextBackoffDelay(const BackoffPolicy &policy, qint64 failureCount)
{
    const std::chrono::milliseconds base = policy.delayForFailure(failureCount);
    if (policy.jitter() <= 0.0 || base >= policy.maximumDelay())
        return base;
    const double extra =
            double(base.count()) * policy.jitter() * QRandomGenerator::global()->generateDouble();
    const double jittered =
            std::min(double(base.count()) + extra, double(policy.maximumDelay().count()));
    return std::chrono::milliseconds(qint64(jittered));
}

Error ExponentialBackoff::safeToRetry(const QString &operationName, Clock::time_point now) const
{
    if (m_failureCount == 0)
        return Error();
    const auto left = backoffTimeLeft(m_lastErrorTime, m_durationBeforeRetry, now);
    if (!isRefused(left))
        return Error();
    return Error::makeExponentialBackoff(
            operationName, m_lastError.text(), m_lastErrorWallTime, m_durationBeforeRetry,
            ceilMilliseconds(left),
            int(std::min<qint64>(m_failureCount, std::numeric_limits<int>::max())));
}

void ExponentialBackoff::update(const Error &err, Clock::time_point now, const QDateTime &wallNow)
{
    if (m_failureCount < std::numeric_limits<qint64>::max())
        ++m_failureCount;
    m_durationBeforeRetry = nextBackoffDelay(m_policy, m_failureCount);
    m_lastError = err;
    m_lastErrorTime = now;
    m_lastErrorWallTime = wallNow;
}

Clock::time_point ExponentialBackoff::retryDeadline() const noexcept
{
    return saturatingDeadline(m_lastErrorTime, m_durationBeforeRetry);
}

void ExponentialBackoff::reset() noexcept
{
    m_failureCount = 0;
    m_durationBeforeRetry = std::chrono::milliseconds(0);
    m_lastError = Error();
    m_lastErrorTime = Clock::time_point{};
    m_lastErrorWallTime = QDateTime();
}

QString ExponentialBackoff::generateNoRetriesPermittedMsg(const QString &operationName) const
{
    return QCoreApplication::translate("goroutinemap::ExponentialBackoff",
                                       "Operation for \"%1\" failed. No retries permitted until %2 "
                                       "(durationBeforeRetry %3). Error: %4")
            .arg(operationName,
                 m_lastErrorWallTime.addMSecs(m_durationBeforeRetry.count())
                         .toString(Qt::ISODateWithMs),
                 formatDuration(m_durationBeforeRetry), m_lastError.message());
}

} // namespace goroutinemap
