// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap_export.h>

#include <QString>

#include <atomic>
#include <memory>

namespace goroutinemap {

class OperationContextPrivate;

/*!
    \class goroutinemap::OperationContext
    \brief What a running operation can ask and tell the map.

    An operation started with the context overload of GoRoutineMap::run() receives one.
    It is valid only while the operation's function runs.

    \threadsafe Every function may be called from any thread while the operation runs;
    the operation usually calls them from its own pool thread.
*/
class GOROUTINEMAP_EXPORT OperationContext
{
public:
    //! The name the operation runs under.
    QString operationName() const;

    /*!
        True once GoRoutineMap::cancel() or cancelAll() was called for this run, or the map
        is being destroyed. A cooperative operation checks it and returns early; whatever
        it returns then, its outcome is reported as Error::Kind::Canceled.
    */
    bool isCancellationRequested() const noexcept;

    /*!
        Reports progress in percent, clamped to [0, 100]. Reaches the map's thread as
        GoRoutineMap::operationProgress(), coalesced: a burst of calls yields one signal
        carrying the latest values.
    */
    void setProgress(int percent);

    //! Reports a short status text; delivered like setProgress().
    void setStatus(const QString &status);

    OperationContext(const OperationContext &) = delete;
    OperationContext &operator=(const OperationContext &) = delete;

private:
    friend class GoRoutineMapPrivate;
    explicit OperationContext(OperationContextPrivate *d) : d(d) { }
    ~OperationContext() = default;
    OperationContextPrivate *const d;
};

/*!
    \class goroutinemap::RunOptions
    \brief Per-run options for GoRoutineMap::run().
*/
struct RunOptions
{
    /*!
        How many times the map reruns the operation by itself after a failure, each time
        its backoff window ends (like client-go's AddRateLimited). Needs backoff on and an
        event loop in the map's thread. 0 (the default) never retries.
    */
    int maxRetries = 0;
};

} // namespace goroutinemap
