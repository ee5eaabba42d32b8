// SPDX-License-Identifier: Apache-2.0
#include <goroutinemap/goroutinemap.h>

#include "exponentialbackoff_p.h"
#include "goroutinemap_p.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMetaMethod>
#include <QScopeGuard>
#include <QThread>

#include <exception>
#include <limits>
#include <optional>
#include <typeinfo>

namespace goroutinemap {

namespace {

// The map whose operation this pool thread is executing; lets wait() refuse to wait for itself.
thread_local const GoRoutineMapPrivate *currentOperationMap = nullptr;

std::atomic<quint64> lastMapId{0};

// The last name this thread saw refused as pending, with its shard's version then. Until that
// version changes the name is still pending, so refusing it again needs no lock, no hash and
// no write to memory other threads use.
struct RefusalCache
{
    quint64 mapId = 0;
    size_t hash = 0;
    quint64 version = 0;
    QString name;

    void remember(quint64 map, size_t nameHash, quint64 shardVersion, const QString &n)
    {
        mapId = map;
        hash = nameHash;
        version = shardVersion;
        name = n;
    }
};
thread_local RefusalCache refusalCache;

// The last name isOperationPending() found not pending, with its shard's startVersion then.
thread_local RefusalCache notPendingCache;

Error invalidFunction(const QString &name)
{
    return Error::make(Error::Kind::InvalidArgument, name,
                       GoRoutineMap::tr("the operation function is null"));
}

// Turns whatever an operation returned into the error the map reports: always
// OperationFailed, always naming the operation.
Error asFailure(const QString &name, const Error &err)
{
    if (err.kind() == Error::Kind::OperationFailed)
        return err.withOperationName(name);
    return Error::make(Error::Kind::OperationFailed, name, err.message());
}

} // namespace

// --- running an operation -------------------------------------------------------------

GoRoutineMapPrivate::Executed GoRoutineMapPrivate::execute(OperationContextPrivate *operation)
{
    Error result;
    bool ran = false;
    bool canceled = false;
    Clock::time_point startedAt;
    // Until the run is over, captures included: a destructor of something the function
    // captured that waits on this map must get the same answer as the function would (wait()
    // returns false at once), not wait for its own run.
    const GoRoutineMapPrivate *outer = std::exchange(currentOperationMap, this);
    const auto restore = qScopeGuard([outer] { currentOperationMap = outer; });
    // A queued run that a drainer takes once the map's destruction has begun never starts,
    // even when the destructor has not canceled its name yet.
    if (!operation->cancellationRequested.load(std::memory_order_acquire) && !shuttingDown.load()) {
        startedAt = Clock::now();
        operation->startedAt.store(startedAt.time_since_epoch().count(), std::memory_order_relaxed);
        operation->started.store(true, std::memory_order_release);
        if (wantsSignals())
            post({PendingSignal::Started, operation->name, {}, {}});

        OperationContext context(operation);
        try {
            result = operation->withContext ? operation->contextFunc(context) : operation->func();
        } catch (const std::exception &e) {
            result = Error(GoRoutineMap::tr("the operation threw an exception: %1")
                                   .arg(QString::fromUtf8(e.what())));
        } catch (...) {
            result = Error(GoRoutineMap::tr(
                    "the operation threw an exception that is not a std::exception"));
        }
        ran = true;
        // The outcome is settled here: a cancel() from a captured object's destructor below
        // comes after the function returned and does not turn its outcome into Canceled.
        canceled = operation->cancellationRequested.load(std::memory_order_acquire);
    }
    // Release what the function captured now, in this thread, unless a retry needs it.
    if (!(operation->retriesLeft > 0 && result.isError())) {
        if (operation->withContext)
            operation->contextFunc = nullptr;
        else
            operation->func = nullptr;
    }
    if (ran && !result.isError() && finishUnattended(operation))
        return {startedAt, true};
    complete(operation, result, ran, canceled);
    return {ran ? startedAt : Clock::now(), false};
}

// The end of a successful run that nobody attended: no shard lock, no table memory touched.
bool GoRoutineMapPrivate::finishUnattended(OperationContextPrivate *operation)
{
    Shard &shard = shardForHash(operation->nameHash);
    const auto end = [&] {
        if (!operation->beginUnattendedEnd())
            return false;
        // Out of the counts before Done: whoever sees the name free sees the counts without it,
        // and whoever sees the counts without it and then looks at the name waits for Done.
        counts.ended(true);
        operation->markDone();
        // After Done, not before: a thread that reads the old version and then sees the run
        // pending (start(), isOperationPending()) may cache "pending" against that version.
        shard.pendingNameFreed();
        return true;
    };
    if (!wantsSignals()) {
        if (!end())
            return false;
    } else {
        // Under the signal queue's lock: a next run of the name, which can only start once it
        // sees this one Done, queues its operationQueued() behind this operationFinished().
        std::lock_guard lock(signalMutex);
        if (!end())
            return false;
        postLocked({PendingSignal::Finished, operation->name, {}, {}});
    }
    notifyWaiters();
    return true;
}

// --- the queue and its drainers ---------------------------------------------------------

void Drainer::run()
{
    GOROUTINEMAP_HAPPENS_AFTER(this);
    ran = true;
    d->drainQueue(group);
}

Drainer::~Drainer()
{
    if (!ran)
        d->drainerDropped(group);
}

void GoRoutineMapPrivate::enqueue(OperationContextPrivate *operation)
{
    queue.push(operation);
    // A drainer looking for work takes this run; otherwise every drainer is busy, and a free
    // pool thread must not sit idle while it waits. Pairs with awaitWork() and stopDraining():
    // either this sees the drainer still counted, and that drainer then finds this run, or it
    // sees it gone and starts another.
    DrainerGroup *group = drainerGroup.load(std::memory_order_acquire);
    if (group && group->idleDrainers.load(std::memory_order_seq_cst) == 0)
        addDrainer(*group);
}

void GoRoutineMapPrivate::addDrainer(DrainerGroup &group)
{
    if (group.reserve())
        startDrainer(group);
}

void GoRoutineMapPrivate::startDrainer(DrainerGroup &group)
{
    auto *drainer = new Drainer(shared_from_this(), group);
    GOROUTINEMAP_HAPPENS_BEFORE(drainer);
    group.pool->start(drainer);
}

// A pool deleted a drainer it never ran (QThreadPool::clear() on a shared pool): another must
// take its place, or the runs behind it would wait for good. Not from here: clear() deletes
// whatever is queued until its queue is empty, so a replacement started now would be deleted
// too, over and over. The map's thread starts it, and so does any wait.
void GoRoutineMapPrivate::drainerDropped(DrainerGroup &group)
{
    group.drainers.fetch_sub(1, std::memory_order_seq_cst);
    if (queue.mayHaveWork())
        post({PendingSignal::StartDrainer, QString()});
}

// Starts a drainer when runs wait and no drainer is left to take them.
void GoRoutineMapPrivate::ensureDrainer()
{
    DrainerGroup *group = drainerGroup.load(std::memory_order_acquire);
    if (group && group->drainers.load(std::memory_order_seq_cst) == 0 && queue.mayHaveWork())
        addDrainer(*group);
}

void GoRoutineMapPrivate::useDrainerGroup(QThreadPool *target)
{
    DrainerGroup *group = nullptr;
    {
        std::lock_guard lock(drainerGroupsMutex);
        for (const auto &existing : drainerGroups) {
            if (existing->pool == target)
                group = existing.get();
        }
        if (!group)
            group = drainerGroups.emplace_back(std::make_unique<DrainerGroup>(target)).get();
    }
    drainerGroup.store(group, std::memory_order_seq_cst);
    if (queue.mayHaveWork())
        addDrainer(*group);
}

namespace {
// Runs a drainer ended on the fast path, handed to the sweep a few at a time so that the
// shared list's cache line moves once per batch, not once per run.
class FinishedBatch
{
public:
    explicit FinishedBatch(GoRoutineMapPrivate &d) : m_d(d) { }
    FinishedBatch(const FinishedBatch &) = delete;
    FinishedBatch &operator=(const FinishedBatch &) = delete;
    ~FinishedBatch() { Q_ASSERT(!m_first); }

    void add(OperationContextPrivate *operation)
    {
        operation->queueNext.store(m_first, std::memory_order_relaxed);
        if (!m_first)
            m_last = operation;
        m_first = operation;
        if (++m_count == BatchSize)
            handOver();
    }
    void handOver()
    {
        if (!m_first)
            return;
        m_d.publishFinished(m_first, m_last);
        m_first = m_last = nullptr;
        m_count = 0;
    }

private:
    static constexpr int BatchSize = 16;
    GoRoutineMapPrivate &m_d;
    OperationContextPrivate *m_first = nullptr;
    OperationContextPrivate *m_last = nullptr;
    int m_count = 0;
};
} // namespace

/*
    The loop of one drainer, counted in queue.drainers. It takes the oldest queued run and, when
    more wait behind it, asks for another drainer first (up to the pool's thread count), so
    that a slow operation never holds up the ones behind it while a thread is free. Once the
    queue is empty one drainer at a time keeps looking for DrainerSpin, the others stop. After
    DrainerSlice it queues itself again behind the pool's other tasks. A drainer also stops
    when there are more drainers than the pool has threads (setMaxConcurrency() lowered it)
    or when setThreadPool() changed the pool; runs that have not started go to the new one.
*/
void GoRoutineMapPrivate::drainQueue(DrainerGroup &own)
{
    FinishedBatch batch(*this);
    // The last drainer to stop sweeps, so that a quiet map keeps no ended runs.
    const auto stop = [&] {
        batch.handOver();
        if (!stopDraining(own))
            return false;
        if (own.drainers.load() == 0)
            sweepFinished();
        return true;
    };
    Clock::time_point sliceEnd = Clock::now() + DrainerSlice;
    for (;;) {
        if (drainerGroup.load(std::memory_order_relaxed) != &own && stop())
            return;
        bool more = false;
        bool halfPushed = false;
        OperationContextPrivate *operation = nullptr;
        {
            std::lock_guard lock(queue.popMutex());
            operation = static_cast<OperationContextPrivate *>(queue.pop(&more));
            halfPushed = !operation && !queue.isEmpty();
        }
        if (!operation) {
            batch.handOver(); // the sweep may run while this drainer waits
            if (halfPushed) {
                // Its producer is between two stores; if it was preempted there, this thread
                // must not take the core it needs.
                cpuRelax();
                QThread::yieldCurrentThread();
                continue;
            }
            if (awaitWork(own))
                continue;
            if (stop())
                return;
            QThread::yieldCurrentThread(); // a push is half done, or work came back
            continue;
        }
        if (more)
            addDrainer(own);
        if (!operation->take()) {
            // Abandoned by cancel(), which released it under its shard's lock: taking that
            // lock orders the reuse after it.
            Shard &shard = shardForHash(operation->nameHash);
            std::unique_ptr<OperationContextPrivate> surplus;
            std::lock_guard lock(shard.mutex);
            surplus = shard.recycle(operation);
            continue;
        }
        const Executed executed = execute(operation);
        if (executed.finished)
            batch.add(operation);

        int running = own.drainers.load(std::memory_order_relaxed);
        const int limit = std::max(1, own.pool->maxThreadCount());
        if (running > limit
            && own.drainers.compare_exchange_strong(running, running - 1,
                                                    std::memory_order_seq_cst)) {
            batch.handOver();
            return; // the others drain the rest
        }
        if (executed.startedAt > sliceEnd) {
            if (queue.mayHaveWork()) {
                batch.handOver();
                startDrainer(own); // takes this drainer's place in the count
                return;
            }
            sliceEnd = executed.startedAt + DrainerSlice;
        }
    }
}

void GoRoutineMapPrivate::publishFinished(OperationContextPrivate *first,
                                          OperationContextPrivate *last)
{
    OperationContextPrivate *head = finished.load(std::memory_order_relaxed);
    do {
        last->queueNext.store(head, std::memory_order_relaxed);
    } while (!finished.compare_exchange_weak(head, first, std::memory_order_release,
                                             std::memory_order_relaxed));
}

// Erases the entries of runs that ended on the fast path (their counts were taken then) and
// keeps the runs for reuse. Takes each shard's lock in turn: never call it holding one.
void GoRoutineMapPrivate::sweepFinished()
{
    OperationContextPrivate *list = finished.exchange(nullptr, std::memory_order_acquire);
    OperationContextPrivate *surplus = nullptr; // more than the spares keep; deleted unlocked
    while (list) {
        Shard &shard = shardForHash(list->nameHash);
        std::lock_guard lock(shard.mutex);
        // Consecutive runs of one shard under one lock.
        while (list && &shardForHash(list->nameHash) == &shard) {
            OperationContextPrivate *operation = list;
            list = static_cast<OperationContextPrivate *>(
                    operation->queueNext.load(std::memory_order_relaxed));
            // Unless a later run of the name has taken the entry over.
            const auto it = shard.entries.find(operation->entryIndex, operation->nameHash);
            if (it != shard.entries.end() && it->second.operation == operation)
                shard.entries.erase(it);
            if (std::unique_ptr<OperationContextPrivate> extra = shard.recycle(operation)) {
                extra->queueNext.store(surplus, std::memory_order_relaxed);
                surplus = extra.release();
            }
        }
    }
    while (surplus) {
        OperationContextPrivate *next = static_cast<OperationContextPrivate *>(
                surplus->queueNext.load(std::memory_order_relaxed));
        delete surplus;
        surplus = next;
    }
}

// A drainer whose queue ran dry waits a little for more work, unless another one already
// does: true when some arrived.
bool GoRoutineMapPrivate::awaitWork(DrainerGroup &own)
{
    if (own.idleDrainers.fetch_add(1, std::memory_order_seq_cst) != 0) {
        own.idleDrainers.fetch_sub(1, std::memory_order_seq_cst);
        return false;
    }
    const Clock::time_point giveUp = Clock::now() + DrainerSpin;
    bool found = false;
    for (unsigned i = 1;; ++i) {
        if (queue.mayHaveWork()) {
            found = true;
            break;
        }
        if (shuttingDown.load(std::memory_order_relaxed))
            break;
        cpuRelax();
        if (i % 64 == 0) {
            if (Clock::now() >= giveUp)
                break;
            QThread::yieldCurrentThread();
        }
    }
    own.idleDrainers.fetch_sub(1, std::memory_order_seq_cst);
    return found;
}

// Called by a drainer that wants to stop: true when it may. False when the queue is not empty
// and this drainer is still the right one to serve it (work came back after it let go).
bool GoRoutineMapPrivate::stopDraining(DrainerGroup &own)
{
    own.drainers.fetch_sub(1, std::memory_order_seq_cst);
    {
        std::lock_guard lock(queue.popMutex());
        if (queue.isEmpty())
            return true; // enqueue() sees the lower count and starts a drainer for the next run
    }
    // Runs still wait, also while the map shuts down (execute() cancels those).
    DrainerGroup *current = drainerGroup.load(std::memory_order_acquire);
    if (!current)
        return true; // shut down, nothing pending: only abandoned runs; the destructor frees them
    if (!current->reserve())
        return true; // enough drainers serve it
    if (current == &own)
        return false; // this drainer keeps its place
    startDrainer(*current);
    return true;
}

GoRoutineMapPrivate::GoRoutineMapPrivate(GoRoutineMap *q, bool backoffOn)
    : q(q),
      id(lastMapId.fetch_add(1) + 1),
      backoffOn(backoffOn),
      ownPool(std::make_unique<QThreadPool>()),
      signalTarget(q)
{
    ownPool->setObjectName(QStringLiteral("GoRoutineMap pool"));
    pool.store(ownPool.get());
    useDrainerGroup(ownPool.get());
}

GoRoutineMapPrivate::~GoRoutineMapPrivate()
{
    // No drainer is left (each holds a reference): what is still queued was abandoned by
    // cancel() and never taken, and ended runs the sweep has not reached are only memory.
    {
        std::lock_guard lock(queue.popMutex());
        while (OperationQueue::Link *link = queue.pop())
            delete static_cast<OperationContextPrivate *>(link);
    }
    for (OperationContextPrivate *operation = finished.exchange(nullptr); operation;) {
        OperationContextPrivate *next = static_cast<OperationContextPrivate *>(
                operation->queueNext.load(std::memory_order_relaxed));
        delete operation;
        operation = next;
    }
}

Error GoRoutineMapPrivate::start(const QString &name, GoRoutineMap::OperationFunc &&func,
                                 GoRoutineMap::ContextOperationFunc &&contextFunc, int retries,
                                 QFuture<Error> *future)
{
    if (!func && !contextFunc) {
        Error err = invalidFunction(name);
        if (future)
            *future = QtFuture::makeReadyFuture(err);
        return err;
    }
    if (shuttingDown.load(std::memory_order_relaxed)) {
        Error err = Error::make(Error::Kind::Canceled, name,
                                GoRoutineMap::tr("the map is being destroyed"));
        if (future)
            *future = QtFuture::makeReadyFuture(err);
        return err;
    }

    if (!future) {
        const RefusalCache &cache = refusalCache;
        if (cache.mapId == id && cache.name.size() == name.size()
            && (cache.name.constData() == name.constData() || cache.name == name)
            && shardForHash(cache.hash).version.load(std::memory_order_acquire) == cache.version) {
            return newAlreadyExistsError(name);
        }
    }

    const size_t hash = EntryTable::hashName(name); // the only time this operation hashes its name
    Shard &shard = shardForHash(hash);
    shard.entries.prefetch(hash); // a big table's cache miss overlaps the sweep and the lock
    if (finished.load(std::memory_order_relaxed))
        sweepFinished(); // before taking a shard's lock: the sweep takes them one by one

    std::unique_lock lock(shard.mutex);
    // Read before the run's phase: a run that ends on the fast path bumps it after it is Done.
    const quint64 version = shard.version.load(std::memory_order_acquire);
    // A name not in the young array needs the time: a new one for its queuedAt, one backing off
    // to check its window. With an old array, reading it before the old array's filter
    // overlaps the filter's cache miss, which prefetch() started (see NameTable::find()).
    std::optional<Clock::time_point> readAt;
    const auto now = [&readAt] {
        if (!readAt)
            readAt = Clock::now();
        return *readAt;
    };
    auto [it, inserted] = shard.entries.try_emplace(name, hash, now);
    Entry &entry = it->second;
    bool newName = inserted;
    if (!inserted) {
        // A joiner attends the run, so that its end takes the locked path and fulfils the promise.
        if (entry.operation
            && (future ? !entry.operation->attend() : entry.operation->hasEnded())) {
            entry.operation->hasEnded(); // waits out Finishing: the counts are final then
            entry.operation = nullptr; // it ended on the fast path: the name is absent
            newName = true;
        }
        if (entry.operation) {
            if (future) {
                EntryExtras &extras = entry.ensureExtras();
                if (!extras.promise) {
                    extras.promise = std::make_unique<QPromise<Error>>();
                    extras.promise->start();
                }
                *future = extras.promise->future();
            }
            lock.unlock(); // the refusal's Error is made outside the lock
            refusalCache.remember(id, hash, version, name);
            return newAlreadyExistsError(name);
        }
        if (entry.failureCount > 0) {
            const auto left =
                    backoffTimeLeft(entry.lastErrorTime, entry.durationBeforeRetry, now());
            const auto resetAfter =
                    std::chrono::milliseconds(resetAfterMs.load(std::memory_order_relaxed));
            if (isRefused(left)) {
                // The wall-clock time stays milliseconds until someone reads it: making a local
                // QDateTime costs microseconds, far more than the refusal itself.
                Error err = Error::makeExponentialBackoffAt(
                        name, entry.lastErrorText, entry.lastErrorWallMs, entry.durationBeforeRetry,
                        ceilMilliseconds(left), entry.failureCount);
                if (future)
                    *future = QtFuture::makeReadyFuture(err);
                return err;
            }
            if (resetAfter.count() > 0 && -left > resetAfter)
                entry.clearHistory(); // quiet long enough: start again from the initial delay
        }
    }

    OperationContextPrivate *operation = shard.takeSpare();
    if (!operation)
        operation = new OperationContextPrivate;
    // A failure history, a scheduled retry or a joiner needs the locked end.
    if (entry.failureCount > 0 || entry.extras || future)
        operation->phase.store(OperationContextPrivate::Attended, std::memory_order_relaxed);
    operation->map = this;
    operation->name = name;
    operation->nameHash = hash;
    operation->entryIndex = it.index();
    operation->withContext = bool(contextFunc);
    operation->func = std::move(func);
    operation->contextFunc = std::move(contextFunc);
    operation->retriesLeft = retries;
    operation->queuedAt = now();
    operation->serial = ++shard.lastRunSerial;
    shard.nameStarted();
    entry.operation = operation;
    if (future) {
        EntryExtras &extras = entry.ensureExtras();
        extras.promise = std::make_unique<QPromise<Error>>();
        extras.promise->start();
        *future = extras.promise->future();
    }
    counts.added(newName);
    if (wantsSignals())
        post({PendingSignal::Queued, name, {}, {}});
    lock.unlock();

    enqueue(operation);
    return Error();
}

void GoRoutineMapPrivate::complete(OperationContextPrivate *operation, const Error &result,
                                   bool ran, bool canceledWhileRunning)
{
    OperationContextPrivate &ctx = *operation;
    const bool canceled = canceledWhileRunning || !ran;
    const bool failed = !canceled && result.isError();
    const bool backoff = failed && backoffOn.load();
    BackoffPolicy currentPolicy;
    if (backoff) {
        std::lock_guard policyLock(policyMutex);
        currentPolicy = policy;
    }

    // What the function captured is destroyed after the shard's lock is released (its
    // destructors may call the map), unless a scheduled retry keeps it.
    GoRoutineMap::OperationFunc func = std::move(ctx.func);
    GoRoutineMap::ContextOperationFunc contextFunc = std::move(ctx.contextFunc);

    Shard &shard = shardForHash(ctx.nameHash);
    std::unique_lock lock(shard.mutex);
    const auto it = shard.entries.find(ctx.entryIndex, ctx.nameHash); // no string compared
    Q_ASSERT(it != shard.entries.end() && it->second.operation == operation);
    Entry &entry = it->second;
    if (entry.extras && entry.extras->progressPosted) {
        // The last progress reported before returning must still arrive, before the outcome.
        entry.extras->progressPosted = false;
        post(PendingSignal::finalProgress(ctx.name, entry.extras->progress, entry.extras->status));
    }

    Error outcome;
    std::unique_ptr<QPromise<Error>> promise;
    if (canceled) {
        outcome = Error::make(Error::Kind::Canceled, ctx.name);
    } else if (failed) {
        outcome = asFailure(ctx.name, result);
        // Read again under the shard lock: setExponentialBackOffOnError(false) may have run
        // since the first read, and it clears the histories of this shard under this lock.
        if (backoff && backoffOn.load()) {
            shard.pendingNameFreed();
            entry.operation = nullptr;
            if (entry.failureCount < std::numeric_limits<int>::max())
                ++entry.failureCount;
            entry.durationBeforeRetry = nextBackoffDelay(currentPolicy, entry.failureCount);
            entry.lastErrorTime = Clock::now();
            entry.lastErrorWallMs = QDateTime::currentMSecsSinceEpoch();
            entry.lastErrorText = outcome.text();
            if (entry.extras) {
                EntryExtras &extras = *entry.extras;
                extras.progress = -1;
                extras.status.clear();
                extras.progressPosted = false;
                promise = std::move(extras.promise);
                if (ctx.retriesLeft > 0) {
                    extras.retryFunc = std::move(func);
                    extras.retryContextFunc = std::move(contextFunc);
                    extras.retriesLeft = ctx.retriesLeft - 1;
                } else if (extras.isEmpty()) {
                    entry.extras.reset();
                }
            } else if (ctx.retriesLeft > 0) {
                EntryExtras &extras = entry.ensureExtras();
                extras.retryFunc = std::move(func);
                extras.retryContextFunc = std::move(contextFunc);
                extras.retriesLeft = ctx.retriesLeft - 1;
            }
            counts.ended(false);
            if (++shard.lastWindowSerial == 0) // 0 means "no window"
                ++shard.lastWindowSerial;
            entry.windowSerial = shard.lastWindowSerial;
            PendingSignal failedSignal(PendingSignal::Failed, ctx.name, outcome,
                                       entry.retryDeadline());
            failedSignal.deadlineRef =
                    Deadline::makeRef(size_t(&shard - shards.data()), it.index(), false);
            failedSignal.deadlineSerial = entry.windowSerial;
            post(std::move(failedSignal));
            // Formatted only when the warning is enabled: a million failures with warnings
            // filtered out must not pay for a million local-time conversions.
            QString logText;
            if (lcGoRoutineMap().isWarningEnabled()) {
                logText = QCoreApplication::translate(
                                  "goroutinemap::ExponentialBackoff",
                                  "Operation for \"%1\" failed. No retries permitted until %2 "
                                  "(durationBeforeRetry %3). Error: %4")
                                  .arg(ctx.name,
                                       QDateTime::fromMSecsSinceEpoch(
                                               entry.lastErrorWallMs
                                               + entry.durationBeforeRetry.count())
                                               .toString(Qt::ISODateWithMs),
                                       formatDuration(entry.durationBeforeRetry), outcome.text());
            }
            const std::unique_ptr<OperationContextPrivate> surplus = shard.recycle(operation);
            lock.unlock();
            if (!logText.isNull())
                qCWarning(lcGoRoutineMap).noquote() << logText;
            notifyWaiters();
            if (promise) {
                promise->addResult(outcome);
                promise->finish();
            }
            return;
        }
    }

    // Success, failure without backoff, or cancellation: the name is free again.
    std::unique_ptr<QPromise<Error>> finishedPromise;
    finishLocked(shard, it, outcome, finishedPromise);
    const QString failedName = failed ? ctx.name : QString();
    const std::unique_ptr<OperationContextPrivate> surplus = shard.recycle(operation);
    lock.unlock();
    if (failed)
        qCWarning(lcGoRoutineMap).noquote()
                << QStringLiteral("operation for \"%1\" failed with: %2")
                           .arg(failedName, outcome.text());
    notifyWaiters();
    if (finishedPromise) {
        finishedPromise->addResult(outcome);
        finishedPromise->finish();
    }
}

void GoRoutineMapPrivate::finishLocked(Shard &shard, EntryTable::iterator it, const Error &outcome,
                                       std::unique_ptr<QPromise<Error>> &promise)
{
    Entry &entry = it->second;
    shard.pendingNameFreed();
    entry.operation = nullptr;
    if (entry.extras)
        promise = std::move(entry.extras->promise);

    const bool canceled = outcome.kind() == Error::Kind::Canceled;
    const bool signal = wantsSignals();
    // Posted last, once the counts are final: a receiver in another thread may run before this
    // shard is unlocked, and its count() must not still include the name.
    const auto postOutcome = [&](const QString &name) {
        if (!signal)
            return;
        const PendingSignal::Type type = canceled ? PendingSignal::Canceled
                : outcome.isError()               ? PendingSignal::Failed
                                                  : PendingSignal::Finished;
        post({type, name, outcome, {}});
    };
    // A canceled run keeps an earlier failure history: cancellation is never a failure, nor
    // a success that would forget one.
    if (canceled && entry.failureCount > 0) {
        if (entry.extras) {
            entry.extras->progress = -1;
            entry.extras->status.clear();
            entry.extras->progressPosted = false;
            if (entry.extras->isEmpty())
                entry.extras.reset();
        }
        counts.ended(false);
        postOutcome(it->first);
        return;
    }
    const QString name = signal ? it->first : QString(); // a copy only for the signal
    shard.entries.erase(it);
    // Both counts drop at once, so that a waitForCompletion() that returns never sees a stale
    // count() afterwards.
    counts.ended(true);
    postOutcome(name);
}

bool GoRoutineMapPrivate::cancel(const QString &name)
{
    Shard &shard = shardFor(name);
    std::unique_lock lock(shard.mutex);
    const auto it = shard.entries.find(name);
    if (it == shard.entries.end())
        return false;
    if (!it->second.isPending()) {
        // A name waiting for an automatic retry: canceling drops the retries still to come.
        EntryExtras *extras = it->second.extras.get();
        if (!extras || !(extras->retryFunc || extras->retryContextFunc))
            return false;
        extras->retryFunc = nullptr;
        extras->retryContextFunc = nullptr;
        extras->retriesLeft = 0;
        if (extras->isEmpty())
            it->second.extras.reset();
        if (wantsSignals())
            post({PendingSignal::Canceled, name, Error::make(Error::Kind::Canceled, name)});
        return true;
    }
    OperationContextPrivate *operation = it->second.operation;
    operation->cancellationRequested.store(true, std::memory_order_release);
    if (!operation->abandon()) {
        // A drainer took it: it runs (or is about to) and sees the request, and ends on the
        // locked path as canceled, unless it has just ended on the fast path.
        if (!operation->attend())
            return false;
        if (wantsSignals())
            post({PendingSignal::CancellationRequested, name, {}, {}});
        return true;
    }
    // A queued run never starts: its name is free at once, and what it captured goes now, in
    // this thread. The drainer that reaches it in the queue keeps it for reuse.
    GoRoutineMap::OperationFunc func = std::move(operation->func);
    GoRoutineMap::ContextOperationFunc contextFunc = std::move(operation->contextFunc);
    std::unique_ptr<QPromise<Error>> promise;
    const Error outcome = Error::make(Error::Kind::Canceled, name);
    finishLocked(shard, it, outcome, promise);
    lock.unlock();
    notifyWaiters();
    if (promise) {
        promise->addResult(outcome);
        promise->finish();
    }
    return true;
}

QStringList GoRoutineMapPrivate::pendingNames(bool withScheduledRetries) const
{
    QStringList names;
    for (const Shard &shard : shards) {
        std::lock_guard lock(shard.mutex);
        for (const auto &[name, entry] : shard.entries) {
            if (entry.isPending()
                || (withScheduledRetries && entry.extras
                    && (entry.extras->retryFunc || entry.extras->retryContextFunc))) {
                names.append(name);
            }
        }
    }
    return names;
}

// --- snapshots and progress -----------------------------------------------------------

OperationInfo GoRoutineMapPrivate::infoFor(const QString &name, const Entry &entry,
                                           Clock::time_point now) const
{
    OperationInfo info;
    info.valid = true;
    info.name = name;
    info.failureCount = entry.failureCount;
    if (entry.failureCount > 0) {
        info.lastError = Error::make(Error::Kind::OperationFailed, name, entry.lastErrorText);
        info.backoffDeadline = entry.retryDeadline();
        info.durationBeforeRetry = entry.durationBeforeRetry;
    }
    if (const OperationContextPrivate *operation = entry.operation) {
        const OperationContextPrivate &ctx = *operation;
        const bool started = ctx.started.load(std::memory_order_acquire);
        info.state = started ? OperationInfo::State::Running : OperationInfo::State::Queued;
        info.startTime = started
                ? Clock::time_point(Clock::duration(ctx.startedAt.load(std::memory_order_relaxed)))
                : ctx.queuedAt;
        info.cancellationRequested = ctx.cancellationRequested.load(std::memory_order_relaxed);
    } else {
        info.state = isRefused(backoffTimeLeft(entry.lastErrorTime, entry.durationBeforeRetry, now))
                ? OperationInfo::State::BackingOff
                : OperationInfo::State::ReadyToRetry;
    }
    if (entry.extras) {
        info.progress = entry.extras->progress;
        info.status = entry.extras->status;
    }
    return info;
}

void GoRoutineMapPrivate::updateProgress(OperationContextPrivate *ctx, int progress,
                                         const QString *status)
{
    Shard &shard = shardForHash(ctx->nameHash);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(ctx->name, ctx->nameHash);
    // Attended, so that its last progress arrives before its outcome (the locked end does
    // that); too late when it is ending on the fast path.
    if (it == shard.entries.end() || it->second.operation != ctx || !ctx->attend())
        return;
    EntryExtras &extras = it->second.ensureExtras();
    if (status)
        extras.status = *status;
    else
        extras.progress = progress;
    // Coalesced: one signal carries whatever the latest values are when it is emitted.
    if (!extras.progressPosted && wantsSignals()) {
        extras.progressPosted = true;
        PendingSignal signal(PendingSignal::Progress, ctx->name);
        signal.runSerial = ctx->serial;
        post(std::move(signal));
    }
}

// --- waiting --------------------------------------------------------------------------

void GoRoutineMapPrivate::notifyWaiters()
{
    if (waiters.load() == 0)
        return;
    // Waiters wait for no pending name (isIdle) or no name at all (isEmpty, which implies
    // isIdle); anything timed they wake for by themselves. Waking them while names are still
    // pending would cost a context switch per finished operation for nothing.
    if (!isIdle())
        return;
    // Taking the mutex orders this wake-up after a waiter's check of the counters.
    {
        std::lock_guard lock(waitMutex);
    }
    waitCondition.notify_all();
}

Clock::time_point GoRoutineMapPrivate::forgetQuietNames(Clock::time_point now)
{
    const auto resetAfter = std::chrono::milliseconds(resetAfterMs.load());
    Clock::time_point next = Clock::time_point::max();
    if (resetAfter.count() <= 0)
        return next;
    for (Shard &shard : shards) {
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.entries.begin(); it != shard.entries.end();) {
            const Entry &entry = it->second;
            if (entry.isPending() || entry.failureCount == 0) {
                ++it;
                continue;
            }
            const Clock::time_point forgetAt =
                    saturatingDeadline(entry.retryDeadline(), resetAfter);
            if (forgetAt < now) {
                const QString name = it->first;
                it = shard.entries.erase(it);
                counts.removed();
                if (wantsSignals()) // after the count, as in finishLocked()
                    post({PendingSignal::Removed, name, {}, {}});
            } else {
                next = std::min(next, forgetAt);
                ++it;
            }
        }
    }
    return next;
}

bool GoRoutineMapPrivate::waitUntil(bool (GoRoutineMapPrivate::*done)() const,
                                    QDeadlineTimer deadline)
{
    if (currentOperationMap == this) {
        qCWarning(lcGoRoutineMap)
                << "wait() or waitForCompletion() called from inside one of the map's own "
                   "operations; returning at once instead of deadlocking";
        return false;
    }
    if (!(this->*done)())
        ensureDrainer();
    std::unique_lock lock(waitMutex);
    waiters.fetch_add(1);
    bool reached = true;
    // An endless wait that blocks the map's own thread is what a deadlock looks like when an
    // operation needs that thread's event loop: say so once instead of hanging silently.
    Clock::time_point warnAt = deadline.isForever() && q->thread() == QThread::currentThread()
            ? Clock::now() + BlockedThreadWarningAfter
            : Clock::time_point::max();
    while (!(this->*done)()) {
        Clock::time_point wakeAt = Clock::time_point::max();
        if (done == &GoRoutineMapPrivate::isEmpty) {
            // Names that resetAfter lets go leave the map even without an event loop.
            lock.unlock();
            wakeAt = forgetQuietNames(Clock::now());
            lock.lock();
            if ((this->*done)())
                break;
        }
        if (!deadline.isForever())
            wakeAt = std::min(wakeAt, Clock::now() + deadline.remainingTimeAsDuration());
        wakeAt = std::min(wakeAt, warnAt);
        if (wakeAt == Clock::time_point::max()) {
            waitCondition.wait(lock);
        } else {
            waitCondition.wait_until(lock, wakeAt);
            if (!deadline.isForever() && deadline.hasExpired() && !(this->*done)()) {
                reached = false;
                break;
            }
            if (Clock::now() >= warnAt && !(this->*done)()) {
                warnAt = Clock::time_point::max();
                lock.unlock(); // a message handler may call into the map
                warnBlockedMapThread();
                lock.lock();
            }
        }
    }
    waiters.fetch_sub(1);
    return reached;
}

void GoRoutineMapPrivate::warnBlockedMapThread() const
{
    QStringList names = pendingNames();
    const qsizetype pending = names.size();
    if (names.size() > 3) {
        names.resize(3);
        names.append(QStringLiteral("..."));
    }
    qCWarning(lcGoRoutineMap).noquote()
            << QStringLiteral(
                       "A wait for GoRoutineMap's operations has blocked the map's own thread for "
                       "%1 s "
                       "(%2 pending: %3). If one of them needs this thread's event loop (a "
                       "blocking "
                       "queued call, a signal it waits for), this is a deadlock: wait with a "
                       "QDeadlineTimer or react to the map's signals instead.")
                       .arg(std::chrono::duration_cast<std::chrono::seconds>(
                                    BlockedThreadWarningAfter)
                                    .count())
                       .arg(pending)
                       .arg(names.join(QStringLiteral(", ")));
}

// --- signals and deadlines (map thread) -----------------------------------------------

void GoRoutineMapPrivate::post(PendingSignal &&signal)
{
    std::lock_guard lock(signalMutex);
    postLocked(std::move(signal));
}

void GoRoutineMapPrivate::postLocked(PendingSignal &&signal)
{
    if (!signalTarget)
        return;
    signalQueue.push_back(std::move(signal));
    if (!drainPosted)
        postDrainLocked();
}

void GoRoutineMapPrivate::postDrainLocked()
{
    drainPosted = true;
    auto *event = new QEvent(SignalPump::drainEventType());
    GOROUTINEMAP_HAPPENS_BEFORE(&signalQueue);
    GOROUTINEMAP_HAPPENS_BEFORE(event); // acquired by SignalPump::event() before it reads anything
    QCoreApplication::postEvent(signalPump, event);
}

QEvent::Type SignalPump::drainEventType()
{
    static const auto type = QEvent::Type(QEvent::registerEventType());
    return type;
}

bool SignalPump::event(QEvent *e)
{
    // The map may have been moved to this thread behind Qt's locks since it was made: read
    // nothing of ours before synchronising with the thread that posted.
    GOROUTINEMAP_HAPPENS_AFTER(e);
    if (e->type() != drainEventType())
        return QObject::event(e);
    d->emitPendingSignals(); // may delete the map, and this with it: touch nothing after
    return true;
}

void GoRoutineMapPrivate::emitPendingSignals()
{
    GOROUTINEMAP_HAPPENS_AFTER(&signalQueue);
    const auto self = shared_from_this(); // a receiver may delete the map
    {
        std::lock_guard lock(signalMutex);
        drainPosted = false; // this event is consumed; the next post() sends another
    }
    QPointer<GoRoutineMap> guard(q);
    QElapsedTimer busy;
    busy.start();
    for (int delivered = 0;; ++delivered) {
        if (!guard)
            return;
        if (draining.empty()) {
            std::lock_guard lock(signalMutex);
            draining.swap(signalQueue);
            if (draining.empty())
                return;
        }
        // Slow receivers must not freeze the map's thread: past the budget the rest waits
        // behind the events already queued, and the next drain resumes where this one stopped.
        if (delivered % 64 == 63 && busy.elapsed() > signalBatchBudgetMs) {
            std::lock_guard lock(signalMutex);
            if (!drainPosted && signalTarget)
                postDrainLocked();
            return;
        }
        // Popped, not indexed: a burst's memory goes back block by block as it is delivered.
        const PendingSignal signal = std::move(draining.front());
        draining.pop_front();
        switch (signal.type) {
        case PendingSignal::Queued:
            Q_EMIT q->operationQueued(signal.name);
            break;
        case PendingSignal::Started:
            Q_EMIT q->operationStarted(signal.name);
            break;
        case PendingSignal::Finished:
            Q_EMIT q->operationFinished(signal.name);
            break;
        case PendingSignal::Failed:
            if (signal.retryDeadline != Clock::time_point{})
                schedule({signal.retryDeadline, signal.deadlineRef, signal.deadlineSerial});
            Q_EMIT q->operationFailed(signal.name, signal.error);
            break;
        case PendingSignal::Canceled:
            Q_EMIT q->operationCanceled(signal.name);
            break;
        case PendingSignal::Progress: {
            int progress = signal.progress;
            QString status = signal.status;
            if (!signal.carriesProgress) {
                Shard &shard = shardFor(signal.name);
                std::lock_guard lock(shard.mutex);
                const auto it = shard.entries.find(signal.name);
                // Only while the run that reported it still runs: once it ended, complete() posted
                // its last values, and the progress now pending (if any) is the next run's, which
                // must not arrive before that run's operationQueued()/operationStarted().
                if (it == shard.entries.end() || !it->second.isPending()
                    || it->second.operation->serial != signal.runSerial || !it->second.extras
                    || !it->second.extras->progressPosted)
                    break;
                it->second.extras->progressPosted = false;
                progress = it->second.extras->progress;
                status = it->second.extras->status;
            }
            Q_EMIT q->operationProgress(signal.name, progress, status);
            break;
        }
        case PendingSignal::CancellationRequested:
            Q_EMIT q->cancellationRequested(signal.name);
            break;
        case PendingSignal::BackoffReset:
            Q_EMIT q->backoffReset(signal.name);
            break;
        case PendingSignal::Removed:
            Q_EMIT q->operationRemoved(signal.name);
            break;
        case PendingSignal::StartDrainer:
            ensureDrainer();
            break;
        }
    }
}

void GoRoutineMapPrivate::schedule(Deadline deadline)
{
    const bool earliest = deadlines.empty() || deadline.when < deadlines.top().when;
    deadlines.push(std::move(deadline));
    if (earliest)
        armTimer();
}

void GoRoutineMapPrivate::armTimer()
{
    if (deadlines.empty()) {
        deadlineTimer->stop();
        return;
    }
    // Retries are refused while elapsed <= duration, so fire just after the deadline.
    const auto wait =
            std::chrono::ceil<std::chrono::milliseconds>(deadlines.top().when - Clock::now())
            + std::chrono::milliseconds(1);
    // QTimer takes an int of milliseconds; far deadlines are reached in hops of an hour.
    deadlineTimer->start(std::clamp(wait, std::chrono::milliseconds(0),
                                    std::chrono::milliseconds(std::chrono::hours(1))));
}

void GoRoutineMapPrivate::onDeadlines()
{
    const auto self = shared_from_this();
    QPointer<GoRoutineMap> guard(q);
    const auto resetAfter = std::chrono::milliseconds(resetAfterMs.load());
    while (guard && !deadlines.empty() && deadlines.top().when < Clock::now()) {
        Deadline deadline = deadlines.top();
        deadlines.pop();

        Shard &shard = shards[deadline.shard()];
        std::unique_lock lock(shard.mutex);
        EntryTable::value_type *node = shard.entries.nodeAt(deadline.index());
        // Stale when the name ran again, succeeded, failed again or was reset (its window
        // serial changed) or left the map (its node was erased: serial 0, maybe reused).
        if (!node || node->second.windowSerial != deadline.serial || node->second.isPending()
            || node->second.failureCount == 0) {
            continue;
        }
        const QString name = node->first;
        Entry &entry = node->second;
        const Clock::time_point windowEnd = entry.retryDeadline();
        if (deadline.forget()) {
            shard.entries.erase(shard.entries.find(deadline.index(), EntryTable::hashName(name)));
            counts.removed();
            lock.unlock();
            notifyWaiters();
            Q_EMIT q->operationRemoved(name);
            continue;
        }
        GoRoutineMap::OperationFunc retryFunc;
        GoRoutineMap::ContextOperationFunc retryContextFunc;
        int retriesLeft = 0;
        if (entry.extras && (entry.extras->retryFunc || entry.extras->retryContextFunc)) {
            retryFunc = std::move(entry.extras->retryFunc);
            retryContextFunc = std::move(entry.extras->retryContextFunc);
            retriesLeft = entry.extras->retriesLeft;
            entry.extras->retryFunc = nullptr;
            entry.extras->retryContextFunc = nullptr;
            if (entry.extras->isEmpty())
                entry.extras.reset();
        }
        lock.unlock();

        if (resetAfter.count() > 0) {
            schedule({saturatingDeadline(windowEnd, resetAfter),
                      Deadline::makeRef(deadline.shard(), deadline.index(), true),
                      deadline.serial});
        }
        Q_EMIT q->backoffExpired(name);
        if (guard && (retryFunc || retryContextFunc))
            start(name, std::move(retryFunc), std::move(retryContextFunc), retriesLeft, nullptr);
    }
    if (guard)
        armTimer();
}

void GoRoutineMapPrivate::shutdown()
{
    {
        std::lock_guard lock(signalMutex);
        signalTarget = nullptr; // nothing of this map is delivered from now on
        signalQueue.clear();
    }
    shuttingDown.store(true);
    const QStringList names = pendingNames();
    for (const QString &name : names)
        cancel(name);
    if (currentOperationMap == this) {
        qCWarning(lcGoRoutineMap)
                << "GoRoutineMap destroyed from inside one of its own operations; "
                   "not waiting for that operation";
    } else {
        waitUntil(&GoRoutineMapPrivate::isIdle, QDeadlineTimer(QDeadlineTimer::Forever));
    }
    // Deleting our own pool waits for the last drainer to stop.
    drainerGroup.store(nullptr);
    pool.store(nullptr);
    if (currentOperationMap == this) {
        // This thread may be one of the pool's own: deleting the pool here would wait for
        // itself. The pool's thread (the map's) deletes it once its event loop runs.
        if (QThreadPool *own = ownPool.release())
            own->deleteLater();
    } else {
        ownPool.reset();
    }
}

// --- GoRoutineMap ---------------------------------------------------------------------

GoRoutineMap::GoRoutineMap(bool exponentialBackOffOnError, QObject *parent)
    : QObject(parent), d(std::make_shared<GoRoutineMapPrivate>(this, exponentialBackOffOnError))
{
    // Registered by name too, so queued connections written with SIGNAL()/SLOT() work.
    qRegisterMetaType<goroutinemap::Error>("goroutinemap::Error");
    qRegisterMetaType<goroutinemap::BackoffPolicy>("goroutinemap::BackoffPolicy");
    d->signalPump = new SignalPump(d.get(), this);
    d->deadlineTimer = new QTimer(this);
    d->deadlineTimer->setSingleShot(true);
    d->deadlineTimer->setTimerType(Qt::PreciseTimer);
    connect(d->deadlineTimer, &QTimer::timeout, this, [this] { d->onDeadlines(); });
}

GoRoutineMap::~GoRoutineMap()
{
    d->shutdown();
}

Error GoRoutineMap::run(const QString &operationName, OperationFunc operationFunc)
{
    if (!operationFunc)
        return invalidFunction(operationName);
    return d->start(operationName, std::move(operationFunc), nullptr, 0, nullptr);
}

Error GoRoutineMap::run(const QString &operationName, ContextOperationFunc operationFunc)
{
    if (!operationFunc)
        return invalidFunction(operationName);
    return d->start(operationName, nullptr, std::move(operationFunc), 0, nullptr);
}

Error GoRoutineMap::run(const QString &operationName, OperationFunc operationFunc,
                        const RunOptions &options)
{
    if (!operationFunc)
        return invalidFunction(operationName);
    return d->start(operationName, std::move(operationFunc), nullptr,
                    std::max(0, options.maxRetries), nullptr);
}

Error GoRoutineMap::run(const QString &operationName, ContextOperationFunc operationFunc,
                        const RunOptions &options)
{
    if (!operationFunc)
        return invalidFunction(operationName);
    return d->start(operationName, nullptr, std::move(operationFunc),
                    std::max(0, options.maxRetries), nullptr);
}

QFuture<Error> GoRoutineMap::runOrJoin(const QString &operationName, OperationFunc operationFunc)
{
    QFuture<Error> future;
    d->start(operationName, std::move(operationFunc), nullptr, 0, &future);
    return future;
}

bool GoRoutineMap::isOperationPending(const QString &operationName) const
{
    // As in start(): a name this thread last saw pending still is while its shard's version
    // is unchanged, so polling a pending name takes no lock.
    RefusalCache &cache = refusalCache;
    if (cache.mapId == d->id && cache.name.size() == operationName.size()
        && (cache.name.constData() == operationName.constData() || cache.name == operationName)
        && d->shardForHash(cache.hash).version.load(std::memory_order_acquire) == cache.version) {
        return true;
    }
    RefusalCache &absent = notPendingCache;
    if (absent.mapId == d->id && absent.name.size() == operationName.size()
        && (absent.name.constData() == operationName.constData() || absent.name == operationName)
        && d->shardForHash(absent.hash).startVersion.load(std::memory_order_acquire)
                == absent.version) {
        return false;
    }
    const size_t hash = EntryTable::hashName(operationName);
    const Shard &shard = d->shardForHash(hash);
    std::unique_lock lock(shard.mutex);
    // Before the run's phase, as in start().
    const quint64 version = shard.version.load(std::memory_order_acquire);
    const auto it = shard.entries.find(operationName, hash);
    if (it == shard.entries.end() || !it->second.isPending()) {
        const quint64 startVersion = shard.startVersion.load(std::memory_order_relaxed);
        lock.unlock();
        absent.remember(d->id, hash, startVersion, operationName);
        return false;
    }
    lock.unlock();
    cache.remember(d->id, hash, version, operationName);
    return true;
}

// A wait made while the map is being destroyed (from a captured object's destructor, or a
// slot the destructor's signals reach) returns false at once: the destructor itself waits for
// what runs, and an operation that runs until it is canceled would otherwise never end.
bool GoRoutineMapPrivate::callerWait(bool (GoRoutineMapPrivate::*done)() const,
                                     QDeadlineTimer deadline)
{
    if (shuttingDown.load()) {
        qCWarning(lcGoRoutineMap) << "wait() or waitForCompletion() called while the map is "
                                     "being destroyed; returning at once";
        return false;
    }
    return waitUntil(done, deadline);
}

void GoRoutineMap::wait()
{
    d->callerWait(&GoRoutineMapPrivate::isEmpty, QDeadlineTimer(QDeadlineTimer::Forever));
}

bool GoRoutineMap::wait(QDeadlineTimer deadline)
{
    return d->callerWait(&GoRoutineMapPrivate::isEmpty, deadline);
}

void GoRoutineMap::waitForCompletion()
{
    d->callerWait(&GoRoutineMapPrivate::isIdle, QDeadlineTimer(QDeadlineTimer::Forever));
}

bool GoRoutineMap::waitForCompletion(QDeadlineTimer deadline)
{
    return d->callerWait(&GoRoutineMapPrivate::isIdle, deadline);
}

bool GoRoutineMap::cancel(const QString &operationName)
{
    return d->cancel(operationName);
}

int GoRoutineMap::cancelAll()
{
    int canceled = 0;
    const QStringList names = d->pendingNames(true);
    for (const QString &name : names)
        canceled += d->cancel(name) ? 1 : 0;
    return canceled;
}

bool GoRoutineMap::resetBackoff(const QString &operationName)
{
    Shard &shard = d->shardFor(operationName);
    std::unique_lock lock(shard.mutex);
    const auto it = shard.entries.find(operationName);
    if (it == shard.entries.end() || it->second.failureCount == 0)
        return false;
    it->second.clearHistory();
    if (d->wantsSignals())
        d->post({PendingSignal::BackoffReset, operationName, {}, {}});
    if (!it->second.isPending()) {
        if (it->second.extras)
            it->second.extras.reset();
        shard.entries.erase(it);
        d->counts.removed();
        if (d->wantsSignals())
            d->post({PendingSignal::Removed, operationName, {}, {}});
    }
    lock.unlock();
    d->notifyWaiters();
    return true;
}

QList<OperationInfo> GoRoutineMap::operations() const
{
    QList<OperationInfo> result;
    result.reserve(d->counts.entries());
    const Clock::time_point now = Clock::now();
    for (const Shard &shard : d->shards) {
        std::lock_guard lock(shard.mutex);
        for (const auto &[name, entry] : shard.entries) {
            if (!entry.isFinished()) // absent, waiting for the sweep
                result.append(d->infoFor(name, entry, now));
        }
    }
    return result;
}

OperationInfo GoRoutineMap::operationInfo(const QString &operationName) const
{
    const Shard &shard = d->shardFor(operationName);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(operationName);
    if (it == shard.entries.end() || it->second.isFinished())
        return OperationInfo();
    return d->infoFor(it->first, it->second, Clock::now());
}

int GoRoutineMap::pendingCount() const
{
    return int(d->counts.pending());
}

int GoRoutineMap::count() const
{
    return int(d->counts.entries());
}

bool GoRoutineMap::isExponentialBackOffOnError() const
{
    return d->backoffOn.load();
}

void GoRoutineMap::setExponentialBackOffOnError(bool on)
{
    if (d->backoffOn.exchange(on) == on)
        return;
    if (!on) {
        // Without backoff no history is kept, so every failed name leaves the map.
        for (Shard &shard : d->shards) {
            std::lock_guard lock(shard.mutex);
            for (auto it = shard.entries.begin(); it != shard.entries.end();) {
                if (it->second.isFinished()) { // absent already; the sweep erases it
                    ++it;
                    continue;
                }
                if (it->second.isPending()) {
                    if (it->second.failureCount > 0 && d->wantsSignals())
                        d->post({PendingSignal::BackoffReset, it->first, {}, {}});
                    it->second.clearHistory();
                    ++it;
                    continue;
                }
                if (d->wantsSignals())
                    d->post({PendingSignal::Removed, it->first, {}, {}});
                it = shard.entries.erase(it);
                d->counts.removed();
            }
        }
        d->notifyWaiters();
    }
    Q_EMIT exponentialBackOffOnErrorChanged(on);
}

BackoffPolicy GoRoutineMap::backoffPolicy() const
{
    std::lock_guard lock(d->policyMutex);
    return d->policy;
}

bool GoRoutineMap::setBackoffPolicy(const BackoffPolicy &policy)
{
    QString why;
    if (!policy.isValid(&why)) {
        qCWarning(lcGoRoutineMap).noquote()
                << "GoRoutineMap::setBackoffPolicy: invalid policy refused:" << why;
        return false;
    }
    {
        std::lock_guard lock(d->policyMutex);
        if (d->policy == policy)
            return true;
        d->policy = policy;
        d->resetAfterMs.store(policy.resetAfter().count());
    }
    Q_EMIT backoffPolicyChanged(policy);
    return true;
}

int GoRoutineMap::maxConcurrency() const
{
    QThreadPool *pool = d->pool.load();
    return pool ? pool->maxThreadCount() : 0;
}

void GoRoutineMap::setMaxConcurrency(int maxConcurrency)
{
    maxConcurrency = std::max(1, maxConcurrency);
    if (d->pool.load() != d->ownPool.get() || d->ownPool->maxThreadCount() == maxConcurrency)
        return;
    d->ownPool->setMaxThreadCount(maxConcurrency);
    // More threads serve the runs already queued at once, not from the next run() on.
    d->useDrainerGroup(d->ownPool.get());
    Q_EMIT maxConcurrencyChanged(maxConcurrency);
}

QThreadPool *GoRoutineMap::threadPool() const
{
    return d->pool.load();
}

void GoRoutineMap::setThreadPool(QThreadPool *pool)
{
    QThreadPool *target = pool ? pool : d->ownPool.get();
    const int before = maxConcurrency();
    if (d->pool.exchange(target) == target)
        return;
    d->useDrainerGroup(target); // runs not started yet go to the new pool
    if (maxConcurrency() != before)
        Q_EMIT maxConcurrencyChanged(maxConcurrency());
}

namespace {
bool isOperationSignal(const QMetaMethod &signal)
{
    static const QMetaMethod operationSignals[] = {
            QMetaMethod::fromSignal(&GoRoutineMap::operationQueued),
            QMetaMethod::fromSignal(&GoRoutineMap::operationStarted),
            QMetaMethod::fromSignal(&GoRoutineMap::operationFinished),
            QMetaMethod::fromSignal(&GoRoutineMap::operationFailed),
            QMetaMethod::fromSignal(&GoRoutineMap::operationCanceled),
            QMetaMethod::fromSignal(&GoRoutineMap::operationProgress),
            QMetaMethod::fromSignal(&GoRoutineMap::operationRemoved),
            QMetaMethod::fromSignal(&GoRoutineMap::cancellationRequested),
            QMetaMethod::fromSignal(&GoRoutineMap::backoffReset),
    };
    return std::find(std::begin(operationSignals), std::end(operationSignals), signal)
            != std::end(operationSignals);
}
} // namespace

void GoRoutineMap::connectNotify(const QMetaMethod &signal)
{
    // Signals nobody listens to are never queued, so an unobserved map pays nothing for them.
    if (isOperationSignal(signal))
        d->listeners.fetch_add(1);
}

void GoRoutineMap::disconnectNotify(const QMetaMethod &signal)
{
    if (isOperationSignal(signal))
        d->listeners.fetch_sub(1);
}

} // namespace goroutinemap
