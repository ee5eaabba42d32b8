// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap.h>

#include "exponentialbackoff_p.h"
#include "logging_p.h"
#include "nametable_p.h"
#include "tsan_p.h"

#include <QEvent>
#include <QPointer>
#include <QPromise>
#include <QRunnable>
#include <QThreadPool>
#include <QTimer>

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

class OperationRunnable;

// What a pending run needs while it runs; lives inside its runnable. The map's shard lock
// guards the runnable's lifetime: an entry points at it only while it is pending.
class OperationContextPrivate
{
public:
    std::shared_ptr<GoRoutineMapPrivate> map;
    QString name;
    size_t nameHash = 0; // NameTable::hashName(name): picks the shard and the slot
    quint32 entryIndex = 0; // the entry's node in its shard's table while pending
    GoRoutineMap::OperationFunc func;
    GoRoutineMap::ContextOperationFunc contextFunc;
    QThreadPool *pool = nullptr;
    int retriesLeft = 0;
    Clock::time_point queuedAt;
    std::atomic<Clock::rep> startedAt{0};
    std::atomic<bool> started{false};
    std::atomic<bool> cancellationRequested{false};
    // Unique per run of the map (set before the entry points at it): tells a run's queued
    // progress signal from one of the name's next run.
    quint64 serial = 0;
};

class OperationRunnable final : public QRunnable
{
public:
    OperationContextPrivate ctx;
    void run() override;
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

// One name in the map. Pending while runnable is set; otherwise it only keeps a failure
// history (backoff on). Kept small: a million of them may back off at once.
struct Entry
{
    OperationRunnable *runnable = nullptr;
    std::unique_ptr<EntryExtras> extras;
    Clock::time_point lastErrorTime{};
    std::chrono::milliseconds durationBeforeRetry{0};
    qint64 lastErrorWallMs = 0;
    QString lastErrorText;
    int failureCount = 0;
    quint32 windowSerial = 0; // the current backoff window's, for its Deadline; 0 for none

    bool isPending() const { return runnable != nullptr; }
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
    // Bumped, under the mutex, before a pending name of this shard stops being pending. While
    // it has not changed, a name a thread saw pending still is: run() refuses it again
    // without the mutex (see RefusalCache), so threads refusing one name do not contend.
    std::atomic<quint64> version{0};
    // Bumped, under the mutex, before a name of this shard becomes pending: while unchanged, a
    // name a thread saw not pending still is not (isOperationPending() polls without the mutex).
    std::atomic<quint64> startVersion{0};
    quint32 lastWindowSerial = 0; // under the mutex; never reset, so a stale Deadline never matches
    EntryTable entries;

    void pendingNameFreed()
    {
        version.store(version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
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
        BackoffReset
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
    void complete(OperationRunnable *runnable, const Error &result, bool ran);
    // Frees a pending name (or keeps its history after a cancellation); shard locked.
    void finishLocked(Shard &shard, EntryTable::iterator it, const Error &outcome,
                      std::unique_ptr<QPromise<Error>> &promise);
    bool cancel(const QString &name);
    // Queued and running names; with withScheduledRetries also those awaiting an automatic retry.
    QStringList pendingNames(bool withScheduledRetries = false) const;
    OperationInfo infoFor(const QString &name, const Entry &entry, Clock::time_point now) const;
    void updateProgress(OperationContextPrivate *ctx, int progress, const QString *status);

    bool waitUntil(bool (GoRoutineMapPrivate::*done)() const, QDeadlineTimer deadline);
    // How long an endless wait may block the map's own thread before it warns.
    static constexpr std::chrono::seconds BlockedThreadWarningAfter{5};
    void warnBlockedMapThread() const;
    bool isEmpty() const { return entryCount.load() == 0; }
    bool isIdle() const { return pendingCount.load() == 0; }
    Clock::time_point forgetQuietNames(Clock::time_point now);
    void notifyWaiters();

    bool wantsSignals() const { return listeners.load(std::memory_order_relaxed) > 0; }
    void post(PendingSignal &&signal);
    void emitPendingSignals();
    void schedule(Deadline deadline);
    void armTimer();
    void onDeadlines();
    void shutdown();

    GoRoutineMap *q;
    std::array<Shard, ShardCount> shards;
    const quint64 id; // unique per map, never reused (RefusalCache)
    std::atomic<qsizetype> entryCount{0};
    std::atomic<qsizetype> pendingCount{0};
    std::atomic<bool> backoffOn;
    std::atomic<bool> shuttingDown{false};
    std::atomic<int> listeners{0};
    std::atomic<std::chrono::milliseconds::rep> resetAfterMs{0};
    std::atomic<quint64> runSerials{0};

    mutable std::mutex policyMutex;
    BackoffPolicy policy;

    std::unique_ptr<QThreadPool> ownPool;
    std::atomic<QThreadPool *> pool{nullptr};

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
