// SPDX-License-Identifier: Apache-2.0
// Concurrency: several threads call run(), runOrJoin(), cancel() and the query functions on a
// few names at once. Every operation records its entry and exit in atomics, so the test can
// prove that no name ever runs twice at once and that every accepted operation runs exactly
// once (and is reported exactly once).

#include <goroutinemap/goroutinemap.h>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QMutex>
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;

namespace {

constexpr int kTimeoutMs = 60000; // whole stress rounds on a loaded 2-core machine
constexpr int kNames = 4;
constexpr int kThreads = 6;
constexpr int kAcceptedPerThread = 250; // each caller keeps calling until this many were accepted
constexpr int kMaxIds = 1 << 20; // ids of every call, accepted or refused

QString nameOf(int i)
{
    return QStringLiteral("name-%1").arg(i);
}

// What the operations record; shared with them so a broken map can't make them dangle.
struct Record
{
    std::array<std::atomic<int>, kNames> active{};
    std::atomic<int> overlaps{0};
    std::vector<std::atomic<int>> executed = std::vector<std::atomic<int>>(kMaxIds);
    std::vector<std::atomic<int>> accepted = std::vector<std::atomic<int>>(kMaxIds);
    std::atomic<int> nextId{0};
    std::atomic<int> acceptedTotal{0};
    std::atomic<int> executedTotal{0};
    std::atomic<int> unexpectedRefusals{0};

    // The body of every operation: enter, work a little, leave.
    void enter(int name, int id)
    {
        if (active[name].fetch_add(1) != 0)
            ++overlaps; // another run of this name is inside its function right now
        ++executed[id];
        ++executedTotal;
        for (int i = 0; i < 3; ++i) // a little work, giving other threads a chance to collide
            QThread::yieldCurrentThread();
    }
    void leave(int name) { active[name].fetch_sub(1); }
};

struct Counts
{
    explicit Counts(GoRoutineMap *map)
        : queued(map, &GoRoutineMap::operationQueued),
          started(map, &GoRoutineMap::operationStarted),
          finished(map, &GoRoutineMap::operationFinished),
          failed(map, &GoRoutineMap::operationFailed),
          canceled(map, &GoRoutineMap::operationCanceled)
    { }
    int terminal() const { return finished.count() + failed.count() + canceled.count(); }
    QSignalSpy queued, started, finished, failed, canceled;
};

std::unique_ptr<QThread> startThread(std::function<void()> fn)
{
    std::unique_ptr<QThread> t(QThread::create(std::move(fn)));
    t->start();
    return t;
}

// Waits for worker threads while the map's thread (this one) keeps delivering signals.
bool joinAll(std::vector<std::unique_ptr<QThread>> &threads)
{
    QDeadlineTimer deadline(kTimeoutMs);
    for (auto &t : threads) {
        while (!t->wait(QDeadlineTimer(10))) {
            QCoreApplication::processEvents();
            if (deadline.hasExpired())
                return false;
        }
    }
    return true;
}

// Keeps the failures these tests cause on purpose out of the output.
void quietHandler(QtMsgType type, const QMessageLogContext &ctx, const QString &msg);
QtMessageHandler previousHandler = nullptr;
void quietHandler(QtMsgType type, const QMessageLogContext &ctx, const QString &msg)
{
    if (ctx.category && qstrcmp(ctx.category, "goroutinemap") == 0 && type != QtFatalMsg)
        return;
    if (previousHandler)
        previousHandler(type, ctx, msg);
}

} // namespace

class tst_Concurrency : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void runFromManyThreads_data();
    void runFromManyThreads();
    void runAndCancelFromManyThreads();
    void runOrJoinFromManyThreads();
    void countsAgreeWithPendingNames();
};

void tst_Concurrency::initTestCase()
{
    previousHandler = qInstallMessageHandler(quietHandler);
}

void tst_Concurrency::runFromManyThreads_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::newRow("backoff off") << false;
    QTest::newRow("backoff on") << true;
}

void tst_Concurrency::runFromManyThreads()
{
    QFETCH(bool, backoff);
    auto rec = std::make_shared<Record>();
    GoRoutineMap map(backoff);
    BackoffPolicy p;
    p.setInitialDelay(1ms); // short windows, so failed names come back during the round
    p.setMaximumDelay(2ms);
    QVERIFY(map.setBackoffPolicy(p));
    map.setMaxConcurrency(kNames);
    Counts counts(&map);

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<QThread>> callers, others;
    for (int t = 0; t < kThreads; ++t) {
        callers.push_back(startThread([&map, rec, t] {
            QDeadlineTimer deadline(kTimeoutMs);
            for (int i = 0, accepted = 0; accepted < kAcceptedPerThread && !deadline.hasExpired();
                 ++i) {
                const int name = (i + t) % kNames;
                const int id = rec->nextId++;
                if (id >= kMaxIds)
                    return;
                const Error err = map.run(nameOf(name), [rec, name, id]() -> Error {
                    rec->enter(name, id);
                    rec->leave(name); // before returning or throwing: the map frees the name after
                    if (id % 7 == 0)
                        throw std::runtime_error("thrown");
                    return id % 5 == 0 ? Error(QStringLiteral("failed")) : Error();
                });
                if (!err) {
                    ++rec->accepted[id];
                    ++rec->acceptedTotal;
                    ++accepted;
                } else {
                    if (!isAlreadyExists(err) && !isExponentialBackoff(err))
                        ++rec->unexpectedRefusals;
                    QThread::yieldCurrentThread();
                }
            }
        }));
    }
    // Readers and waiters at the same time.
    others.push_back(startThread([&] {
        while (!stop) {
            for (int n = 0; n < kNames; ++n)
                (void)map.isOperationPending(nameOf(n));
            (void)map.operations();
            (void)map.operationInfo(nameOf(0));
            (void)map.pendingCount();
            (void)map.count();
        }
    }));
    others.push_back(startThread([&] {
        while (!stop) {
            (void)map.waitForCompletion(QDeadlineTimer(1));
            (void)map.wait(QDeadlineTimer(1));
        }
    }));

    QVERIFY(joinAll(callers));
    stop = true;
    QVERIFY(joinAll(others));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));

    QCOMPARE(rec->overlaps.load(), 0);
    QCOMPARE(rec->unexpectedRefusals.load(), 0);
    QCOMPARE(rec->acceptedTotal.load(), kThreads * kAcceptedPerThread);
    for (int id = 0; id < rec->nextId.load(); ++id) {
        if (rec->executed[id].load() != rec->accepted[id].load())
            QFAIL(qPrintable(QStringLiteral("operation %1: accepted %2, executed %3 times")
                                     .arg(id)
                                     .arg(rec->accepted[id].load())
                                     .arg(rec->executed[id].load())));
    }
    QCOMPARE(rec->executedTotal.load(), rec->acceptedTotal.load());

    // Every accepted run is reported: queued and started once, then exactly one outcome.
    const int accepted = rec->acceptedTotal.load();
    qInfo("%d calls, %d accepted", rec->nextId.load(), accepted);
    QTRY_COMPARE_WITH_TIMEOUT(counts.terminal(), accepted, kTimeoutMs);
    QCOMPARE(counts.queued.count(), accepted);
    QCOMPARE(counts.started.count(), accepted);
    QCOMPARE(counts.canceled.count(), 0);
    QCOMPARE(map.pendingCount(), 0);
}

void tst_Concurrency::runAndCancelFromManyThreads()
{
    auto rec = std::make_shared<Record>();
    GoRoutineMap map(true);
    BackoffPolicy p;
    p.setInitialDelay(1ms);
    p.setMaximumDelay(2ms);
    QVERIFY(map.setBackoffPolicy(p));
    map.setMaxConcurrency(2); // fewer threads than names: some runs wait in the queue
    Counts counts(&map);

    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<QThread>> callers;
    for (int t = 0; t < kThreads - 2; ++t) {
        callers.push_back(startThread([&map, rec, t] {
            QDeadlineTimer deadline(kTimeoutMs);
            for (int i = 0, accepted = 0; accepted < kAcceptedPerThread && !deadline.hasExpired();
                 ++i) {
                const int name = (i * 3 + t) % kNames;
                const int id = rec->nextId++;
                if (id >= kMaxIds)
                    return;
                const Error err =
                        map.run(nameOf(name), [rec, name, id](OperationContext &ctx) -> Error {
                            rec->enter(name, id);
                            const bool canceled = ctx.isCancellationRequested();
                            rec->leave(name);
                            return (canceled || id % 4 != 0) ? Error()
                                                             : Error(QStringLiteral("failed"));
                        });
                if (!err) {
                    ++rec->accepted[id];
                    ++rec->acceptedTotal;
                    ++accepted;
                } else {
                    QThread::yieldCurrentThread();
                }
            }
        }));
    }
    std::vector<std::unique_ptr<QThread>> cancelers;
    std::atomic<int> cancelRequests{0};
    cancelers.push_back(startThread([&] {
        int i = 0;
        while (!stop) {
            if (map.cancel(nameOf(i++ % kNames)))
                ++cancelRequests;
            for (int y = 0; y < 20; ++y) // most runs must get the chance to finish uncanceled
                QThread::yieldCurrentThread();
        }
    }));
    cancelers.push_back(startThread([&] {
        while (!stop) {
            cancelRequests += map.cancelAll();
            for (int y = 0; y < 200; ++y)
                QThread::yieldCurrentThread();
        }
    }));

    QVERIFY(joinAll(callers));
    stop = true;
    QVERIFY(joinAll(cancelers));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));

    QCOMPARE(rec->overlaps.load(), 0);
    int executedTotal = 0;
    for (int id = 0; id < rec->nextId.load(); ++id) {
        // Canceled queued runs never execute; nothing runs more than once or without being
        // accepted.
        if (rec->executed[id].load() > rec->accepted[id].load())
            QFAIL(qPrintable(QStringLiteral("operation %1: accepted %2, executed %3 times")
                                     .arg(id)
                                     .arg(rec->accepted[id].load())
                                     .arg(rec->executed[id].load())));
        executedTotal += rec->executed[id].load();
    }
    const int accepted = rec->acceptedTotal.load();
    QCOMPARE(accepted, (kThreads - 2) * kAcceptedPerThread);
    QVERIFY2(cancelRequests.load() > 0, "the cancelers never hit a pending name");
    qInfo("%d calls, %d accepted, %d executed, %d cancel requests", rec->nextId.load(), accepted,
          executedTotal, cancelRequests.load());
    // Exactly one outcome per accepted run; operationStarted exactly for those that executed.
    QTRY_COMPARE_WITH_TIMEOUT(counts.terminal(), accepted, kTimeoutMs);
    QCOMPARE(counts.queued.count(), accepted);
    QCOMPARE(counts.started.count(), executedTotal);
    QVERIFY(counts.canceled.count() > 0);
}

void tst_Concurrency::runOrJoinFromManyThreads()
{
    auto rec = std::make_shared<Record>();
    GoRoutineMap map;
    map.setMaxConcurrency(kNames);
    std::atomic<int> badResults{0};
    std::atomic<int> futures{0};
    std::vector<std::unique_ptr<QThread>> callers;
    for (int t = 0; t < kThreads; ++t) {
        callers.push_back(startThread([&, rec, t] {
            for (int i = 0; i < kAcceptedPerThread; ++i) {
                const int name = (i + t) % kNames;
                const int id = rec->nextId++;
                QFuture<Error> f = map.runOrJoin(nameOf(name), [rec, name, id] {
                    rec->enter(name, id);
                    rec->leave(name);
                    return Error(QStringLiteral("result of %1").arg(id));
                });
                f.waitForFinished();
                ++futures;
                const Error r = f.result();
                // Whoever ran it, the result names this name and comes from one of its runs.
                if (r.kind() != Error::Kind::OperationFailed || r.operationName() != nameOf(name)
                    || !r.text().startsWith(QLatin1String("result of ")))
                    ++badResults;
            }
        }));
    }
    QVERIFY(joinAll(callers));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(rec->overlaps.load(), 0);
    QCOMPARE(badResults.load(), 0);
    QCOMPARE(futures.load(), kThreads * kAcceptedPerThread);
    qInfo("%d futures, %d executions", futures.load(), rec->executedTotal.load());
    // Joined calls share a run: at most one execution per call, at least one per name.
    QVERIFY(rec->executedTotal.load() <= futures.load());
    QVERIFY(rec->executedTotal.load() >= kNames);
    for (int id = 0; id < rec->nextId.load(); ++id)
        QVERIFY(rec->executed[id].load() <= 1);
}

void tst_Concurrency::countsAgreeWithPendingNames()
{
    // A successful run nobody watches ends without the map's locks. Still, whoever sees its
    // name free must see the counts without it, and whoever sees the counts at zero must see
    // its name free.
    GoRoutineMap map(false);
    const QString name = QStringLiteral("agree");
    int countsStale = 0;
    int nameStale = 0;
    for (int i = 0; i < 20000; ++i) {
        QVERIFY(!map.run(name, [] { return Error(); }));
        if (i % 2 == 0) {
            while (map.isOperationPending(name))
                QThread::yieldCurrentThread();
            if (map.pendingCount() != 0 || map.count() != 0)
                ++countsStale;
        } else {
            QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
            if (map.isOperationPending(name) || map.operationInfo(name).isValid())
                ++nameStale;
        }
    }
    QCOMPARE(countsStale, 0);
    QCOMPARE(nameStale, 0);
}

QTEST_GUILESS_MAIN(tst_Concurrency)
#include "tst_concurrency.moc"
