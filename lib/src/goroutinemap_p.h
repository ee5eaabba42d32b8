// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap.h>

#include "exponentialbackoff_p.h"
#include "logging_p.h"
#include "nametable_p.h"
#include "operationqueue_p.h"
#include "tsan_p.h"

#include <QEvent>
#include <QPointer>
#include <QPromise>
#include <QRunnable>
#include <QThread>
#include <QThreadPool>
#include <QTimer>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <vector>

namespace goroutinemap {

class GoRoutineMapPrivate;

/*
    One run of an operation, from the run() that accepted it until it ended; also the private
    part of the OperationContext the operation gets.

    Its phase says who has it. Exactly one of take() (a drainer, about to run it) and abandon()
    (cancel(), before it started) succeeds on a queued run. A run nobody else is interested in
    ends on the fast path, without the shard's lock (GoRoutineMapPrivate::finishUnattended()):
    the drainer marks it Finishing, takes it out of the counts, marks it Done and hands it to
    the sweep (GoRoutineMapPrivate::sweepFinished()), which erases its entry later. An entry
    whose run is Done counts as absent; one whose run is Finishing is waited out (hasEnded()),
    so that whoever sees the name free also sees the counts without it. Whoever makes the end
    need the lock (a joiner, progress, cancellation, a failure history) marks it Attended,
    under the shard's lock, and that end then takes the locked path
    (GoRoutineMapPrivate::complete()).

    Laid out for that fast path: the first cache line holds all that a drainer touches for a
    plain operation, and the rest what run() and the observers use.
*/
class alignas(64) OperationContextPrivate final : public OperationQueue::Link
{
public:
    enum Phase : quint8 {
        Queued = 0,
        Taken = 1,
        Finishing = 2, // ending on the fast path: a few instructions from Done
        Done = 3,
        Abandoned = 4,
        StateMask = 7,
        Attended = 8, // a flag beside the state
    };

    bool take() { return leaveQueue(Taken); }
    bool abandon() { return leaveQueue(Abandoned); }
    //! Shard locked. False when the run is ending or ended on the fast path.
    bool attend()
    {
        return (phase.fetch_or(Attended, std::memory_order_acq_rel) & StateMask) <= Taken;
    }
    //! The drainer, after a successful run: true when nobody attended it. Then the drainer
    //! ends it with markDone().
    bool beginUnattendedEnd()
    {
        quint8 expected = Taken;
        return phase.compare_exchange_strong(expected, Finishing, std::memory_order_acq_rel);
    }
    void markDone() { phase.store(Done, std::memory_order_release); }
    bool isDone() const { return state() == Done; }
    //! Whether the run ended on the fast path; waits out one that is Finishing, which takes
    //! the drainer no lock and a few instructions (longer only if its thread is preempted).
    bool hasEnded() const
    {
        for (int spins = 0;; ++spins) {
            const quint8 current = state();
            if (current != Finishing)
                return current == Done;
            if (spins < 64)
                cpuRelax();
            else
                QThread::yieldCurrentThread();
        }
    }
    //! Back to a fresh run, for the shard's spares. What the run captured is gone already:
    //! it is destroyed outside the shard's lock, since its destructors may call the map.
    void reset()
    {
        Q_ASSERT(!func && !contextFunc);
        phase.store(Queued, std::memory_order_relaxed);
        started.store(false, std::memory_order_relaxed);
        cancellationRequested.store(false, std::memory_order_relaxed);
        startedAt.store(0, std::memory_order_relaxed);
        name.clear();
    }

    // --- the drainer's cache line: 8 (the queue link) + 4 + 4 + 8 + 8 + 32 bytes ---
    std::atomic<quint8> phase{Queued};
    std::atomic<bool> started{false};
    std::atomic<bool> cancellationRequested{false};
    bool withContext = false; // contextFunc, not func
    int retriesLeft = 0;
    size_t nameHash = 0; // NameTable::hashName(name): picks the shard and the slot
    std::atomic<Clock::rep> startedAt{0};
    GoRoutineMap::OperationFunc func;

    // --- run()'s and the observers' ---
    GoRoutineMap::ContextOperationFunc contextFunc;
    GoRoutineMapPrivate *map = nullptr; // kept alive by the drainer that runs the operation
    QString name;
    quint32 entryIndex = 0; // the entry's node in its shard's table while pending
    // Unique per run of its shard, which every run of a name goes to (set before the entry
    // points at it): tells a run's queued progress signal from one of the name's next run.
    quint64 serial = 0;
    Clock::time_point queuedAt;

private:
    quint8 state() const { return phase.load(std::memory_order_acquire) & StateMask; }
    bool leaveQueue(Phase to)
    {
        quint8 current = phase.load(std::memory_order_relaxed);
        while ((current & StateMask) == Queued) {
            if (phase.compare_exchange_weak(current, quint8((current & Attended) | to),
                                            std::memory_order_acq_rel)) {
                return true;
            }
        }
        return false;
    }
};

// The drainers of one pool (GoRoutineMapPrivate::drainQueue()). setThreadPool() makes another
// pool's group current, so that drainers still busy on the old pool do not take the new one's
// places. A group lives as long as the map.
struct alignas(64) DrainerGroup
{
    explicit DrainerGroup(QThreadPool *pool) : pool(pool) { }
    //! Counts one more drainer, unless every thread of the pool has one already.
    bool reserve() noexcept
    {
        const int limit = std::max(1, pool->maxThreadCount());
        int running = drainers.load(std::memory_order_seq_cst);
        while (running < limit) {
            if (drainers.compare_exchange_weak(running, running + 1, std::memory_order_seq_cst))
                return true;
        }
        return false;
    }
    QThreadPool *const pool;
    std::atomic<int> drainers{0}; // started and not stopped, at most pool->maxThreadCount()
    std::atomic<int> idleDrainers{0}; // looking for work (awaitWork()): at most one
};

// A pool task that runs queued operations one after another (GoRoutineMapPrivate::drainQueue()).
// It holds the map's private part alive, so runs need no reference of their own.
class Drainer final : public QRunnable
{
public:
    Drainer(std::shared_ptr<GoRoutineMapPrivate> d, DrainerGroup &group)
        : d(std::move(d)), group(group)
    { }
    ~Drainer() override;
    void run() override;

private:
    std::shared_ptr<GoRoutineMapPrivate> d;
    DrainerGroup &group;
    bool ran = false; // a pool may delete a task it never ran (QThreadPool::clear())
};

// Per-name data that few names need; allocated only when used.
struct EntryExtras
{
    std::unique_ptr<QPromise<Error>> promise; // someone joined with runOrJoin()
    GoRoutineMap::OperationFunc retryFunc; // automatic retry (RunOptions::maxRetries)
    GoRoutineMap::ContextOperationFunc retryContextFunc;
    int retriesLeft = 0;
    int progress = -1;
    QString status;
    bool progressPosted = false;

    bool isEmpty() const { return !promise && !retryFunc && !retryContextFunc; }
};

// One name in the map. Pending while it has a run that has not ended; otherwise it only keeps
// a failure history (backoff on), or, with a run that ended on the fast path, waits for the
// sweep and counts as absent. Kept small: a million of them may back off at once.
struct Entry
{
    OperationContextPrivate *operation = nullptr;
    std::unique_ptr<EntryExtras> extras;
    Clock::time_point lastErrorTime{};
    std::chrono::milliseconds durationBeforeRetry{0};
    qint64 lastErrorWallMs = 0;
    QString lastErrorText;
    int failureCount = 0;
    quint32 windowSerial = 0; // the current backoff window's, for its Deadline; 0 for none

    bool isPending() const { return operation && !operation->hasEnded(); }
    //! Its run ended on the fast path: the name is absent until the sweep erases the entry.
    bool isFinished() const { return operation && operation->hasEnded(); }
    Clock::time_point retryDeadline() const
    {
        return saturatingDeadline(lastErrorTime, durationBeforeRetry);
    }
    EntryExtras &ensureExtras()
    {
        if (!extras)
            extras = std::make_unique<EntryExtras>();
        return *extras;
    }
    void clearHistory()
    {
        failureCount = 0;
        windowSerial = 0;
        durationBeforeRetry = std::chrono::milliseconds(0);
        lastErrorText.clear();
        if (extras) {
            extras->retryFunc = nullptr;
            extras->retryContextFunc = nullptr;
            extras->retriesLeft = 0;
        }
    }
};

using EntryTable = NameTable<Entry>;

// A slice of the map with its own lock, so that threads working on different names
// rarely contend.
struct alignas(64) Shard
{
    mutable std::mutex mutex;
    // Bumped, under the mutex, before a name of this shard becomes pending: while unchanged, a
    // name a thread saw not pending still is not (isOperationPending() polls without the mutex).
    std::atomic<quint64> startVersion{0};
    quint32 lastWindowSerial = 0; // under the mutex; never reset, so a stale Deadline never matches
    quint64 lastRunSerial = 0; // under the mutex
    EntryTable entries;

    // Ended runs kept for this shard's next runs (under the mutex): the thread that ends a run
    // is rarely the one that starts the next, and a malloc() in one and a free() in the other
    // contend on the allocator's lock for every operation.
    static constexpr int MaxSpares = 32;
    OperationContextPrivate *spares = nullptr; // linked through queueNext
    int spareCount = 0;

    // Bumped before a pending name of this shard stops being pending (by a drainer without the
    // mutex, on the fast path). While it has not changed, a name a thread saw pending still is:
    // run() refuses it again without the mutex (see RefusalCache), so threads refusing one name
    // do not contend. On a line of its own: the drainers write it, run() does not read it.
    alignas(64) std::atomic<quint64> version{0};

    Shard() = default;
    Shard(const Shard &) = delete;
    Shard &operator=(const Shard &) = delete;
    ~Shard()
    {
        while (OperationContextPrivate *operation = takeSpare())
            delete operation;
    }
    OperationContextPrivate *takeSpare()
    {
        OperationContextPrivate *operation = spares;
        if (operation) {
            spares = static_cast<OperationContextPrivate *>(
                    operation->queueNext.load(std::memory_order_relaxed));
            --spareCount;
        }
        return operation;
    }
    // Keeps \a operation for a later run, or hands it back to be deleted (after the unlock).
    std::unique_ptr<OperationContextPrivate> recycle(OperationContextPrivate *operation)
    {
        if (spareCount == MaxSpares)
            return std::unique_ptr<OperationContextPrivate>(operation);
        operation->reset();
        operation->queueNext.store(spares, std::memory_order_relaxed);
        spares = operation;
        ++spareCount;
        return nullptr;
    }

    void pendingNameFreed() { version.fetch_add(1, std::memory_order_release); }
    void nameStarted()
    {
        startVersion.store(startVersion.load(std::memory_order_relaxed) + 1,
                           std::memory_order_release);
    }
};

// Receives the events that carry signal batches into the map's thread; a child of the map, so
// it follows the map to any thread. A plain QEvent, rather than a queued functor, keeps that
// hand-off free of data written in one thread and read in the other behind Qt's locks, which
// ThreadSanitizer cannot see (Qt is not built with it): the batch itself goes under signalMutex.
class SignalPump final : public QObject
{
public:
    SignalPump(GoRoutineMapPrivate *d, QObject *parent) : QObject(parent), d(d) { }
    bool event(QEvent *e) override;
    static QEvent::Type drainEventType();

private:
    GoRoutineMapPrivate *const d;
};

// Something to emit in the map's thread.
struct PendingSignal
{
    enum Type : quint8 {
        Queued,
        Started,
        Finished,
        Failed,
        Canceled,
        Progress,
        Removed,
        CancellationRequested,
        BackoffReset,
        StartDrainer // not a signal: ensureDrainer() in the map's thread
    };
    PendingSignal(Type type, const QString &name, const Error &error = Error(),
                  Clock::time_point retryDeadline = {})
        : type(type), name(name), error(error), retryDeadline(retryDeadline)
    { }
    // Progress posted as the run ends, when the entry can no longer be asked for it.
    static PendingSignal finalProgress(const QString &name, int progress, const QString &status)
    {
        PendingSignal signal(Progress, name);
        signal.carriesProgress = true;
        signal.progress = progress;
        signal.status = status;
        return signal;
    }

    Type type;
    QString name;
    Error error; // Failed
    Clock::time_point retryDeadline{}; // Failed with backoff on
    quint32 deadlineRef = 0; // Failed with backoff on: Deadline::ref and ::serial of the window
    quint32 deadlineSerial = 0;
    bool carriesProgress = false;
    int progress = -1;
    QString status;
    quint64 runSerial = 0; // Progress: the run that reported it (OperationContextPrivate::serial)
};

// A backoff window's end (or, with resetAfter, the moment a quiet name is forgotten): 16
// bytes, since a million names may back off at once. The entry is named by its shard and node
// index, and the window by a serial the entry keeps while that window is its current one.
struct Deadline
{
    static constexpr quint32 ForgetBit = quint32(1) << 27;
    static constexpr quint32 IndexMask = ForgetBit - 1;
    static quint32 makeRef(size_t shard, quint32 index, bool forget)
    {
        return quint32(shard) << 28 | (forget ? ForgetBit : 0) | (index & IndexMask);
    }

    Clock::time_point when;
    quint32 ref; // shard (4 bits), forget (1 bit), node index (27 bits)
    quint32 serial; // Entry::windowSerial when scheduled

    size_t shard() const { return ref >> 28; }
    bool forget() const { return (ref & ForgetBit) != 0; }
    quint32 index() const { return ref & IndexMask; }
    bool operator>(const Deadline &other) const { return when > other.when; }
};
static_assert(sizeof(Deadline) == 16, "a million deadlines must stay small");
static_assert(EntryTable::MaxNodes - 1 <= Deadline::IndexMask, "node indices fit a Deadline");

// How many names the map holds and how many of them are pending, as running totals: what run()
// adds on one cache line, what ending runs takes away on another, so that the thread starting
// runs and the drainers ending them never write the same line. The counts read the line that
// only grows last: a reader may see a run that started meanwhile, never miss one that had
// not ended, and a zero means that there was a moment with none.
class NameCounts
{
public:
    void added(bool newName) noexcept
    {
        m_started.fetch_add(1);
        if (newName)
            m_added.fetch_add(1);
    }
    // Entries first: a waiter that sees a run end sees its entry gone too.
    void ended(bool entryRemoved) noexcept
    {
        if (entryRemoved)
            m_removed.fetch_add(1);
        m_ended.fetch_add(1);
    }
    void removed() noexcept { m_removed.fetch_add(1); }
    qsizetype pending() const noexcept
    {
        const qint64 ended = m_ended.load();
        return qsizetype(m_started.load() - ended);
    }
    qsizetype entries() const noexcept
    {
        const qint64 removed = m_removed.load();
        return qsizetype(m_added.load() - removed);
    }

private:
    alignas(64) std::atomic<qint64> m_started{0};
    std::atomic<qint64> m_added{0};
    alignas(64) std::atomic<qint64> m_ended{0};
    std::atomic<qint64> m_removed{0};
};

class GoRoutineMapPrivate : public std::enable_shared_from_this<GoRoutineMapPrivate>
{
public:
    static constexpr size_t ShardCount = 16;

    GoRoutineMapPrivate(GoRoutineMap *q, bool backoffOn);
    ~GoRoutineMapPrivate();

    // The top bits of the hash pick the shard; the table uses the low ones.
    Shard &shardForHash(size_t hash)
    {
        return shards[(hash >> (sizeof(size_t) * 8 - 4)) % ShardCount];
    }
    Shard &shardFor(const QString &name) { return shardForHash(EntryTable::hashName(name)); }

    // The functions are moved from only when the run is accepted: a refusal costs no copy.
    Error start(const QString &name, GoRoutineMap::OperationFunc &&func,
                GoRoutineMap::ContextOperationFunc &&contextFunc, int retries,
                QFuture<Error> *future);
    // Ends a run and disposes of its operation.
    // \a canceledWhileRunning: cancellation was requested before the function returned.
    void complete(OperationContextPrivate *operation, const Error &result, bool ran,
                  bool canceledWhileRunning);
    // Frees a pending name (or keeps its history after a cancellation); shard locked.
    void finishLocked(Shard &shard, EntryTable::iterator it, const Error &outcome,
                      std::unique_ptr<QPromise<Error>> &promise);
    bool cancel(const QString &name);
    // Queued and running names; with withScheduledRetries also those awaiting an automatic retry.
    QStringList pendingNames(bool withScheduledRetries = false) const;
    OperationInfo infoFor(const QString &name, const Entry &entry, Clock::time_point now) const;
    void updateProgress(OperationContextPrivate *ctx, int progress, const QString *status);

    bool waitUntil(bool (GoRoutineMapPrivate::*done)() const, QDeadlineTimer deadline);
    bool callerWait(bool (GoRoutineMapPrivate::*done)() const, QDeadlineTimer deadline);
    // How long an endless wait may block the map's own thread before it warns.
    static constexpr std::chrono::seconds BlockedThreadWarningAfter{5};
    void warnBlockedMapThread() const;
    bool isEmpty() const { return counts.entries() == 0; }
    bool isIdle() const { return counts.pending() == 0; }
    Clock::time_point forgetQuietNames(Clock::time_point now);
    void notifyWaiters();

    bool wantsSignals() const { return listeners.load(std::memory_order_relaxed) > 0; }
    void post(PendingSignal &&signal);
    void postLocked(PendingSignal &&signal); // signalMutex locked
    void emitPendingSignals();
    void schedule(Deadline deadline);
    void armTimer();
    void onDeadlines();
    void shutdown();

    // Accepted runs wait in `queue`; drainers, pool tasks counted in their DrainerGroup (at
    // most the pool's thread count), run them one after another. A steady stream of runs so
    // costs no QThreadPool::start() each and wakes no pool thread each. See drainQueue().
    void enqueue(OperationContextPrivate *operation);
    void drainQueue(DrainerGroup &own);
    struct Executed
    {
        Clock::time_point startedAt; // or when it found the run canceled
        bool finished; // ended on the fast path: the caller hands it to the sweep
    };
    Executed execute(OperationContextPrivate *operation);
    bool finishUnattended(OperationContextPrivate *operation);
    bool awaitWork(DrainerGroup &own);
    bool stopDraining(DrainerGroup &own);
    void addDrainer(DrainerGroup &group);
    void startDrainer(DrainerGroup &group);
    void drainerDropped(DrainerGroup &group);
    void ensureDrainer();
    // Makes \a pool's group current (creating it), and starts a drainer if runs wait.
    void useDrainerGroup(QThreadPool *pool);
    std::atomic<DrainerGroup *> drainerGroup{nullptr}; // nullptr once shut down
    std::mutex drainerGroupsMutex;
    std::vector<std::unique_ptr<DrainerGroup>> drainerGroups; // one per pool ever used
    // How long a drainer that ran out of work keeps looking before it stops (one at a time): a
    // few times what waking a pool thread costs, so that a run queued meanwhile needs no
    // wake-up.
    static constexpr std::chrono::microseconds DrainerSpin{20};
    // How long a drainer runs before it queues itself again behind the pool's other tasks
    // (a pool shared with the application must not be held by the map).
    static constexpr std::chrono::milliseconds DrainerSlice{10};

    // Runs that ended on the fast path wait here, linked through queueNext, until someone
    // erases their entries: the next run() (before it locks its own shard) or the last drainer
    // to stop. The thread that ends a run so never writes the table's memory, which is the
    // thread starting runs' own.
    void publishFinished(OperationContextPrivate *first, OperationContextPrivate *last);
    void sweepFinished();
    std::atomic<OperationContextPrivate *> finished{nullptr};

    GoRoutineMap *q;
    std::array<Shard, ShardCount> shards;
    const quint64 id; // unique per map, never reused (RefusalCache)
    NameCounts counts;
    std::atomic<bool> backoffOn;
    std::atomic<bool> shuttingDown{false};
    std::atomic<int> listeners{0};
    std::atomic<std::chrono::milliseconds::rep> resetAfterMs{0};

    mutable std::mutex policyMutex;
    BackoffPolicy policy;

    std::unique_ptr<QThreadPool> ownPool;
    std::atomic<QThreadPool *> pool{nullptr};

    OperationQueue queue;

    std::mutex waitMutex;
    std::condition_variable waitCondition;
    std::atomic<int> waiters{0};

    // Signals travel from any thread to the map's thread through this queue; one posted
    // event drains a whole batch. Deques, not vectors: a burst of a million signals neither
    // reallocates as it grows nor keeps its peak once delivered.
    static constexpr qint64 signalBatchBudgetMs = 10; // per event, then yield to other events
    std::mutex signalMutex;
    std::deque<PendingSignal> signalQueue;
    bool drainPosted = false;
    GoRoutineMap *signalTarget = nullptr; // null once the map is being destroyed
    SignalPump *signalPump = nullptr; // a child of the map
    void postDrainLocked(); // signalMutex locked

    // Map thread only.
    std::deque<PendingSignal> draining; // the rest of the batch being emitted
    QTimer *deadlineTimer = nullptr;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
};

} // namespace goroutinemap
