// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/exponentialbackoff.h>

namespace goroutinemap {

// The window after failureCount consecutive failures, jitter included: shared by
// ExponentialBackoff and the map's own compact per-name state.
std::chrono::milliseconds nextBackoffDelay(const BackoffPolicy &policy, qint64 failureCount);

// lastErrorTime + duration, saturating: a window of centuries must not wrap around the
// clock's 64-bit nanoseconds into the past.
inline Clock::time_point saturatingDeadline(Clock::time_point lastErrorTime,
                                            std::chrono::milliseconds duration)
{
    const auto headroom = Clock::time_point::max() - lastErrorTime;
    if (duration >= std::chrono::duration_cast<std::chrono::milliseconds>(headroom))
        return Clock::time_point::max();
    return lastErrorTime + duration;
}

// Time left in a window, or a negative value once retries are permitted. Kubernetes
// refuses while elapsed <= duration, so zero left still means "refused".
inline std::chrono::nanoseconds backoffTimeLeft(Clock::time_point lastErrorTime,
                                                std::chrono::milliseconds duration,
                                                Clock::time_point now)
{
    const Clock::time_point deadline = saturatingDeadline(lastErrorTime, duration);
    if (deadline == Clock::time_point::max())
        return std::chrono::nanoseconds::max();
    return deadline - now;
}

// The one place the boundary rule lives: refused while elapsed <= duration, as in Kubernetes.
inline bool isRefused(std::chrono::nanoseconds timeLeft)
{
    return timeLeft.count() >= 0;
}

// Milliseconds left, rounded up so a refusal never says "retry after 0 ms" too early.
inline std::chrono::milliseconds ceilMilliseconds(std::chrono::nanoseconds ns)
{
    return std::chrono::ceil<std::chrono::milliseconds>(ns);
}

} // namespace goroutinemap
