// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/exponentialbackoff.h>

namespace goroutinemap {

// The window after failureCount consecutive failures, jitter included: shared by
// ExponentialBackoff and the map's own compact per-name state.
std::chrono::milliseconds nextBackoffDelay(const BackoffPolicy &policy, qint64 failureCount);

// Time left in a window, or a negative value once retries are permitted. Kubernetes
// refuses while elapsed <= duration, so zero left still means "refused".
inline std::chrono::nanoseconds backoffTimeLeft(Clock::time_point lastErrorTime,
                                               std::chrono::milliseconds duration, Clock::time_point now)
{
    return (lastErrorTime + duration) - now;
}

// Milliseconds left, rounded up so a refusal never says "retry after 0 ms" too early.
inline std::chrono::milliseconds ceilMilliseconds(std::chrono::nanoseconds ns)
{
    return std::chrono::ceil<std::chrono::milliseconds>(ns);
}

} // namespace goroutinemap
