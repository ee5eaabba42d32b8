// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>
#include <goroutinemap/goroutinemap_export.h>

#include <QDateTime>
#include <QString>

#include <chrono>

namespace goroutinemap {

//! The monotonic clock every backoff decision is made with; a wall-clock jump changes nothing.
using Clock = std::chrono::steady_clock;

/*!
    \class goroutinemap::BackoffPolicy
    \brief How long a failed name is refused: the initial delay, its growth and its cap.

    The defaults are Kubernetes': 500 ms after the first failure, doubling on each
    further failure, capped at 2 min 2 s, no jitter, history kept until a success.

    A value type. \threadsafe Distinct instances may be used from different threads.
*/
class GOROUTINEMAP_EXPORT BackoffPolicy
{
public:
    //! Kubernetes' initial window: 500 ms.
    static constexpr std::chrono::milliseconds defaultInitialDelay{500};
    //! Kubernetes' longest window: 2 min 2 s.
    static constexpr std::chrono::milliseconds defaultMaximumDelay{2 * 60 * 1000 + 2 * 1000};

    //! Kubernetes' policy: see the class description for the values.
    BackoffPolicy() = default;

    //! The window after the first failure (500 ms by default).
    std::chrono::milliseconds initialDelay() const noexcept { return m_initialDelay; }
    //! Sets initialDelay() to \a delay.
    void setInitialDelay(std::chrono::milliseconds delay) noexcept { m_initialDelay = delay; }

    //! The factor applied to the window on each further failure (2.0 by default).
    double multiplier() const noexcept { return m_multiplier; }
    //! Sets multiplier() to \a multiplier.
    void setMultiplier(double multiplier) noexcept { m_multiplier = multiplier; }

    //! The longest window (2 min 2 s by default).
    std::chrono::milliseconds maximumDelay() const noexcept { return m_maximumDelay; }
    //! Sets maximumDelay() to \a delay.
    void setMaximumDelay(std::chrono::milliseconds delay) noexcept { m_maximumDelay = delay; }

    /*!
        A random fraction of the window added to it, in [0, 1] (0 by default). A window
        of d becomes a value in [d, d * (1 + jitter)], never more than maximumDelay().
    */
    double jitter() const noexcept { return m_jitter; }
    //! Sets jitter() to \a jitter.
    void setJitter(double jitter) noexcept { m_jitter = jitter; }

    /*!
        When a failed name has stayed quiet this long after its window ended, its history
        is forgotten and it leaves the map. Zero (the default, Kubernetes' behaviour) keeps
        it until the name next succeeds.
    */
    std::chrono::milliseconds resetAfter() const noexcept { return m_resetAfter; }
    //! Sets resetAfter() to \a after.
    void setResetAfter(std::chrono::milliseconds after) noexcept { m_resetAfter = after; }

    //! True when every value is in range; otherwise \a why (if given) says what is wrong.
    bool isValid(QString *why = nullptr) const;

    /*!
        The window after \a failureCount consecutive failures (1 for the first), without
        jitter: initialDelay() * multiplier()^(failureCount - 1), capped at maximumDelay().
        Never overflows, never shrinks as failureCount grows.
    */
    std::chrono::milliseconds delayForFailure(qint64 failureCount) const noexcept;

    friend GOROUTINEMAP_EXPORT bool operator==(const BackoffPolicy &a,
                                               const BackoffPolicy &b) noexcept;
    //! The opposite of operator==().
    friend bool operator!=(const BackoffPolicy &a, const BackoffPolicy &b) noexcept
    {
        return !(a == b);
    }

private:
    std::chrono::milliseconds m_initialDelay = defaultInitialDelay;
    std::chrono::milliseconds m_maximumDelay = defaultMaximumDelay;
    std::chrono::milliseconds m_resetAfter{0};
    double m_multiplier = 2.0;
    double m_jitter = 0.0;
};

/*!
    \class goroutinemap::ExponentialBackoff
    \brief The backoff state of one name (Go: exponentialbackoff.ExponentialBackoff).

    A value type that the map keeps per failed name; usable on its own and testable
    without waiting, since every time-dependent call has an overload taking "now".

    \threadsafe Distinct instances may be used from different threads; one instance
    must not be changed while another thread uses it.
*/
class GOROUTINEMAP_EXPORT ExponentialBackoff
{
public:
    //! No failure recorded yet, with the default BackoffPolicy.
    ExponentialBackoff() = default;
    //! No failure recorded yet, with \a policy.
    explicit ExponentialBackoff(const BackoffPolicy &policy) : m_policy(policy) { }

    //! The policy the windows are computed with.
    const BackoffPolicy &policy() const noexcept { return m_policy; }
    //! Sets the policy for the next update(); the current window is kept.
    void setPolicy(const BackoffPolicy &policy) noexcept { m_policy = policy; }

    /*!
        No error when a retry is permitted; otherwise an ExponentialBackoff error for
        \a operationName. As in Kubernetes a retry exactly at the boundary is still refused
        (elapsed <= duration).
    */
    Error safeToRetry(const QString &operationName) const
    {
        return safeToRetry(operationName, Clock::now());
    }
    //! As above, measured at \a now instead of Clock::now() (tests, simulations).
    Error safeToRetry(const QString &operationName, Clock::time_point now) const;

    //! Records the failure \a err: the window grows (or starts at the initial delay).
    void update(const Error &err) { update(err, Clock::now(), QDateTime::currentDateTime()); }
    //! As above, with the failure at \a now (monotonic) and \a wallNow (wall clock, for display).
    void update(const Error &err, Clock::time_point now, const QDateTime &wallNow);

    //! Forgets the history: the next failure starts at the initial delay again.
    void reset() noexcept;

    //! The translated "no retries permitted until …" text for \a operationName.
    QString generateNoRetriesPermittedMsg(const QString &operationName) const;

    //! The last recorded failure; no error before the first.
    Error lastError() const { return m_lastError; }
    //! Monotonic time of the last failure.
    Clock::time_point lastErrorTime() const noexcept { return m_lastErrorTime; }
    //! Wall-clock time of the last failure, for display.
    QDateTime lastErrorWallTime() const { return m_lastErrorWallTime; }
    //! The current window; zero before the first failure.
    std::chrono::milliseconds durationBeforeRetry() const noexcept { return m_durationBeforeRetry; }
    //! When retries are permitted again: lastErrorTime() + durationBeforeRetry().
    Clock::time_point retryDeadline() const noexcept;
    //! Consecutive failures recorded since the last reset().
    qint64 failureCount() const noexcept { return m_failureCount; }

private:
    BackoffPolicy m_policy;
    Error m_lastError;
    Clock::time_point m_lastErrorTime{};
    QDateTime m_lastErrorWallTime;
    std::chrono::milliseconds m_durationBeforeRetry{0};
    qint64 m_failureCount = 0;
};

} // namespace goroutinemap
