// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>
#include <goroutinemap/exponentialbackoff.h>
#include <goroutinemap/goroutinemap_export.h>
#include <goroutinemap/operationcontext.h>
#include <goroutinemap/operationinfo.h>

#include <QDeadlineTimer>
#include <QFuture>
#include <QList>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
class QThreadPool;
QT_END_NAMESPACE

namespace goroutinemap {

class GoRoutineMapPrivate;

/*!
    \class goroutinemap::GoRoutineMap
    \brief Runs background operations by name, never two of one name at once, with
    optional exponential backoff for names that fail.

    A Qt port of Kubernetes' \c goroutinemap. run() starts a function on a thread pool
    unless an operation of that name is pending; with backoff on, a name whose operation
    failed is refused for 500 ms, then 1 s, 2 s, … up to 2 min 2 s (see BackoffPolicy).

    \code
    goroutinemap::GoRoutineMap map(true); // backoff on
    QObject::connect(&map, &goroutinemap::GoRoutineMap::operationFailed, &window,
                     [](const QString &name, const goroutinemap::Error &err) {
                         qWarning() << err.message();
                     });
    const goroutinemap::Error err = map.run(path, [path] { return hashFile(path); });
    if (goroutinemap::isAlreadyExists(err))
        ; // already being hashed
    else if (goroutinemap::isExponentialBackoff(err))
        ; // failed recently; err.retryAfter() says how long to wait
    \endcode

    \section Threads
    run(), isOperationPending(), operations(), operationInfo(), cancel(), cancelAll(),
    resetBackoff(), wait() and waitForCompletion() are thread-safe: any thread may call
    them, concurrently. Setters are meant for the map's own thread. Every signal is
    emitted in the thread the map lives in (its thread affinity), through that thread's
    event loop, so receivers there need no locking. Signals of one name arrive in order
    (started before finished). Destroying the map discards the signals not yet delivered.
    The map queues operation signals only while something is connected to them, so an
    unobserved map pays nothing for them; a receiver connected while an operation runs
    may therefore see its operationFinished() without its operationStarted().

    \section Pool
    Operations do not each become a QRunnable: accepted runs wait in the map's queue, in
    the order run() accepted them, and a few pool tasks (at most the pool's
    maxThreadCount()) run them one after another. A task whose queue runs dry stops after a
    few microseconds; a task that has run for 10 ms goes back behind the pool's other tasks
    once its current operation returns, so a pool shared with the application
    (setThreadPool()) is never held by the map.

    \section Lifetime
    Destroying the map requests cancellation of every operation, waits for the running
    ones to return and never starts the queued ones.
*/
class GOROUTINEMAP_EXPORT GoRoutineMap : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool exponentialBackOffOnError READ isExponentialBackOffOnError WRITE
                       setExponentialBackOffOnError NOTIFY exponentialBackOffOnErrorChanged)
    Q_PROPERTY(int maxConcurrency READ maxConcurrency WRITE setMaxConcurrency NOTIFY
                       maxConcurrencyChanged)

public:
    //! An operation: returns no error on success.
    using OperationFunc = std::function<Error()>;
    //! An operation that can be canceled and report progress.
    using ContextOperationFunc = std::function<Error(OperationContext &)>;

    /*!
        Creates a map with its own thread pool of QThread::idealThreadCount() threads.
        With \a exponentialBackOffOnError a failed name is refused until its backoff
        window passes.
    */
    explicit GoRoutineMap(bool exponentialBackOffOnError = false, QObject *parent = nullptr);
    /*!
        Requests cancellation of every operation, waits for the running ones to return,
        drops the queued ones and discards undelivered signals. Call from the map's thread.
    */
    ~GoRoutineMap() override;

    /*!
        Starts \a operationFunc under \a operationName on the pool unless that name is
        pending (AlreadyExists) or backing off (ExponentialBackoff); a null function is an
        InvalidArgument error. Any string is a valid name, the empty one included; names
        are compared exactly. Returns no error when the operation was accepted; a refused
        run emits nothing; a run() while the map is being destroyed is refused as Canceled.
        An exception thrown by the function, of any type, is a failure.

        What the function captured is destroyed in the pool thread right after it returns,
        while its name is still pending (a capture kept for an automatic retry lives until
        the last retry; a queued run that is canceled loses its captures in the thread that
        canceled it). A destructor there may call the map, as the function itself may: a
        wait() returns false at once, and a cancel() no longer changes the outcome, which was
        settled when the function returned.
        \threadsafe
    */
    Error run(const QString &operationName, OperationFunc operationFunc);
    //! As above, with a context for cancellation and progress. \threadsafe
    Error run(const QString &operationName, ContextOperationFunc operationFunc);
    //! As above, with per-run options such as automatic retry. \threadsafe
    Error run(const QString &operationName, OperationFunc operationFunc, const RunOptions &options);
    //! As above. \threadsafe
    Error run(const QString &operationName, ContextOperationFunc operationFunc,
              const RunOptions &options);

    /*!
        Singleflight: when \a operationName is pending, returns a future of that pending
        run's outcome (\a operationFunc is not used); when it is backing off, a finished
        future holding the ExponentialBackoff error; otherwise starts \a operationFunc and
        returns its future. The future's result is the operation's Error (no error on
        success). It is never canceled; cancellation shows as Error::Kind::Canceled.
        \threadsafe
    */
    QFuture<Error> runOrJoin(const QString &operationName, OperationFunc operationFunc);

    //! True while an operation of \a operationName is queued or running. \threadsafe
    bool isOperationPending(const QString &operationName) const;

    /*!
        Blocks until the map holds no name at all. With backoff on, a failed name stays in
        the map until it later succeeds (Kubernetes' semantics), or until
        BackoffPolicy::resetAfter() lets it go: wait() then blocks until that happens.
        Returns at once on an empty map; every waiting thread wakes.
        \threadsafe Called from inside one of this map's operations (or a destructor of
        what one captured), or while the map is being destroyed, it returns at once with a
        warning instead of deadlocking. Called in the map's own thread it blocks that
        thread's event loop: an operation that needs it (a blocking queued call, a signal it
        waits for) then never finishes. Such a wait cannot be broken, but it is not silent:
        after 5 s it logs a warning naming the pending operations. Prefer
        wait(QDeadlineTimer) there, or react to the map's signals.
    */
    void wait();
    //! As wait(), but gives up at \a deadline; returns false on timeout or misuse. \threadsafe
    bool wait(QDeadlineTimer deadline);

    /*!
        Blocks until no operation is queued or running (backing-off names do not count).
        \threadsafe Same rules as wait().
    */
    void waitForCompletion();
    //! As waitForCompletion(), but gives up at \a deadline; false on timeout or misuse. \threadsafe
    bool waitForCompletion(QDeadlineTimer deadline);

    /*!
        Requests cancellation of \a operationName. A queued run never starts and its name is
        freed at once; a running one sees OperationContext::isCancellationRequested() and
        keeps its name pending until its function returns. Either way the outcome is
        Error::Kind::Canceled, signalled with operationCanceled(), and never a failure for
        backoff. A name backing off with automatic retries still to come (RunOptions) loses
        them, also signalled with operationCanceled(); its failure history stays. Returns
        false when there was nothing to cancel. \threadsafe
    */
    bool cancel(const QString &operationName);
    //! cancel() for every pending name and every scheduled retry; returns how many. \threadsafe
    int cancelAll();

    /*!
        Forgets \a operationName's failure history: a backing-off name may run again at once
        and leaves the map unless it is pending; a running operation keeps running.
        Returns false when the name had no history. \threadsafe
    */
    bool resetBackoff(const QString &operationName);

    //! A snapshot of every name the map holds, in no particular order. \threadsafe
    QList<OperationInfo> operations() const;
    //! A snapshot of one name; an invalid OperationInfo when the map does not hold it. \threadsafe
    OperationInfo operationInfo(const QString &operationName) const;
    //! How many names are queued or running. \threadsafe
    int pendingCount() const;
    //! How many names the map holds (pending, backing off or failed before). \threadsafe
    int count() const;

    //! Whether failed names back off. \threadsafe
    bool isExponentialBackOffOnError() const;
    //! Turning backoff off forgets every failure history. Call from the map's thread.
    void setExponentialBackOffOnError(bool on);

    //! The backoff policy. \threadsafe
    BackoffPolicy backoffPolicy() const;
    /*!
        Sets the backoff policy for future failures. An invalid policy is refused with a
        warning naming the problem and the old policy is kept; returns false then.
        Call from the map's thread.
    */
    bool setBackoffPolicy(const BackoffPolicy &policy);

    //! The most operations run at once. \threadsafe
    int maxConcurrency() const;
    /*!
        Sets the size of the map's own pool; values below 1 mean 1. Has no effect on a pool
        set with setThreadPool(), whose owner sizes it. Call from the map's thread.
    */
    void setMaxConcurrency(int maxConcurrency);

    //! The pool operations run on: the map's own unless setThreadPool() gave one. \threadsafe
    QThreadPool *threadPool() const;
    /*!
        Runs future operations on \a pool, shared with the application (nullptr returns to
        the map's own pool). The map never uses QThreadPool::globalInstance() unless given it.
        \a pool must outlive the map. Call from the map's thread.
    */
    void setThreadPool(QThreadPool *pool);

Q_SIGNALS:
    //! Emitted in the map's thread when a run of \a operationName was accepted.
    void operationQueued(const QString &operationName);
    //! Emitted in the map's thread when \a operationName's function began executing.
    void operationStarted(const QString &operationName);
    //! Emitted in the map's thread when \a operationName's function succeeded.
    void operationFinished(const QString &operationName);
    /*!
        Emitted in the map's thread when \a operationName failed (returned an error or threw);
        \a error is of kind OperationFailed and names the operation.
    */
    void operationFailed(const QString &operationName, const goroutinemap::Error &error);
    //! Emitted in the map's thread when a canceled \a operationName ended.
    void operationCanceled(const QString &operationName);
    //! Emitted in the map's thread, coalesced, when a running operation reported progress.
    void operationProgress(const QString &operationName, int percent, const QString &status);
    /*!
        Emitted in the map's thread when \a operationName's backoff window ended, driven by
        one timer armed for the earliest deadline. Needs an event loop in that thread.
    */
    void backoffExpired(const QString &operationName);
    /*!
        Emitted in the map's thread when \a operationName left the map without a run
        finishing (resetBackoff(), BackoffPolicy::resetAfter(), backoff turned off).
    */
    void operationRemoved(const QString &operationName);
    /*!
        Emitted in the map's thread when cancel() or cancelAll() asked a running
        \a operationName to stop; operationCanceled() follows once its function returns.
        (A queued one is canceled at once and gets only operationCanceled().)
    */
    void cancellationRequested(const QString &operationName);
    /*!
        Emitted in the map's thread when \a operationName's failure history was forgotten by
        resetBackoff() or by turning backoff off; followed by operationRemoved() unless the
        name is pending.
    */
    void backoffReset(const QString &operationName);
    //! Emitted in the map's thread when setExponentialBackOffOnError() changed it to \a on.
    void exponentialBackOffOnErrorChanged(bool on);
    //! Emitted in the map's thread when maxConcurrency() changed (by setMaxConcurrency() or
    //! setThreadPool()).
    void maxConcurrencyChanged(int maxConcurrency);
    //! Emitted in the map's thread when setBackoffPolicy() accepted a new \a policy.
    void backoffPolicyChanged(const goroutinemap::BackoffPolicy &policy);

protected:
    //! \reimp Counts receivers: operation signals nobody listens to are never queued.
    void connectNotify(const QMetaMethod &signal) override;
    //! \reimp Counts receivers, as connectNotify().
    void disconnectNotify(const QMetaMethod &signal) override;

private:
    friend class GoRoutineMapPrivate;
    std::shared_ptr<GoRoutineMapPrivate> d;
};

} // namespace goroutinemap

Q_DECLARE_METATYPE(goroutinemap::BackoffPolicy)
