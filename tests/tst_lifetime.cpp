// SPDX-License-Identifier: Apache-2.0
// Lifetime and deadlock safety: destroying the map while operations run, are queued, while its
// signals are in flight and while receivers in another thread are being deleted; quitting the
// application with operations queued; waiting from inside an operation and from the map's own
// thread while an operation needs that thread's event loop.
//
// Scenarios that end a process (quit, static destruction) or that would hang it for good run
// in a child process: this executable started again with "--child <mode>".

#include <goroutinemap/goroutinemap.h>

#include "reliability_support.h"

#include <QElapsedTimer>
#include <QFuture>
#include <QPointer>
#include <QProcess>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <QThreadPool>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;
using reliability::Gate;
using reliability::kTimeoutMs;
using reliability::LogCapture;
using reliability::Semaphore;

namespace {

// Counts every signal a map delivers to \a receiver (in the receiver's thread), and whether any
// arrived after the test declared the map dead.
struct SignalCounter
{
    std::atomic<int> total{0};
    std::atomic<int> afterDeath{0};
    std::atomic<bool> dead{false};

    void hit()
    {
        ++total;
        if (dead.load())
            ++afterDeath;
    }

    void connectAll(GoRoutineMap *map, QObject *receiver,
                    Qt::ConnectionType type = Qt::AutoConnection)
    {
        auto h = [this](const QString &) { hit(); };
        QObject::connect(map, &GoRoutineMap::operationQueued, receiver, h, type);
        QObject::connect(map, &GoRoutineMap::operationStarted, receiver, h, type);
        QObject::connect(map, &GoRoutineMap::operationFinished, receiver, h, type);
        QObject::connect(map, &GoRoutineMap::operationCanceled, receiver, h, type);
        QObject::connect(map, &GoRoutineMap::operationRemoved, receiver, h, type);
        QObject::connect(map, &GoRoutineMap::backoffExpired, receiver, h, type);
        QObject::connect(
                map, &GoRoutineMap::operationFailed, receiver,
                [this](const QString &, const Error &) { hit(); }, type);
        QObject::connect(
                map, &GoRoutineMap::operationProgress, receiver,
                [this](const QString &, int, const QString &) { hit(); }, type);
    }
};

// A cooperative operation: announces itself, then polls for cancellation (bounded).
GoRoutineMap::ContextOperationFunc cooperative(std::shared_ptr<Semaphore> entered,
                                               std::shared_ptr<std::atomic<int>> returned = {})
{
    return [entered, returned](OperationContext &ctx) {
        entered->release();
        ctx.setProgress(1);
        QDeadlineTimer limit(120000);
        while (!ctx.isCancellationRequested() && !limit.hasExpired())
            std::this_thread::yield();
        if (returned)
            ++*returned;
        return Error();
    };
}

// Runs \a mode of this executable in a child process; returns its exit code, -1 on a crash
// and -2 on a timeout, with its output in \a out.
int runChild(const QString &mode, QByteArray *out, int timeoutMs = 120000)
{
    QProcess child;
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--child"), mode});
    if (!child.waitForStarted(kTimeoutMs))
        return -3;
    const bool finished = child.waitForFinished(timeoutMs);
    *out = child.readAll();
    if (!finished) {
        child.kill();
        child.waitForFinished(kTimeoutMs);
        *out += child.readAll();
        return -2;
    }
    return child.exitStatus() == QProcess::NormalExit ? child.exitCode() : -1;
}

// The warning a wait() that blocks the map's own thread for long must print.
const QString kBlockedWarning = QStringLiteral("blocked the map's own thread");

} // namespace

class tst_Lifetime : public QObject
{
    Q_OBJECT

    // Every failure is logged as a warning; keep the test output readable.
    std::unique_ptr<LogCapture> m_quiet;

private Q_SLOTS:
    void initTestCase() { m_quiet = std::make_unique<LogCapture>(); }
    void cleanupTestCase() { m_quiet.reset(); }
    void destroyWhileRunningAndQueued_data();
    void destroyWhileRunningAndQueued();
    void destroyWhileSignalsInFlight();
    void destroyInOtherThreadWhileSignalsInFlight();
    void destroyWhileReceiversInOtherThreadAreDeleted();
    void destroyFromSignalHandler();
    void destroyWithSharedPool();
    void joinedFuturesFinishOnDestruction();
    void destroyFromInsideOwnOperation();

    void quitWithOperationsQueued_data();
    void quitWithOperationsQueued();

    void waitFromInsideOperation_data();
    void waitFromInsideOperation();
    void waitOnOtherMapFromInsideOperation();
    void waitWithDeadlineOnMapThreadWhileOperationNeedsEventLoop_data();
    void waitWithDeadlineOnMapThreadWhileOperationNeedsEventLoop();
    void waitForeverOnMapThreadWhileOperationNeedsEventLoopWarns();
};

// --- destruction ---------------------------------------------------------------------------------

void tst_Lifetime::destroyWhileRunningAndQueued_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::newRow("backoff off") << false;
    QTest::newRow("backoff on") << true;
}

// Two running operations (one cooperative, one that ignores cancellation until the other one
// lets it go) and many queued ones: the destructor cancels, waits for both running ones to
// return, never starts a queued one, and nothing is delivered afterwards.
void tst_Lifetime::destroyWhileRunningAndQueued()
{
    QFETCH(bool, backoff);
    for (int round = 0; round < 10; ++round) {
        auto map = std::make_unique<GoRoutineMap>(backoff);
        map->setMaxConcurrency(2);
        QObject receiver;
        SignalCounter counter;
        counter.connectAll(map.get(), &receiver);

        auto entered = std::make_shared<Semaphore>();
        auto returned = std::make_shared<std::atomic<int>>(0);
        auto stubbornMayGo = std::make_shared<Semaphore>();
        QVERIFY(!map->run(
                QStringLiteral("cooperative"),
                [entered, returned, stubbornMayGo](OperationContext &ctx) {
                    entered->release();
                    QDeadlineTimer limit(120000);
                    while (!ctx.isCancellationRequested() && !limit.hasExpired())
                        std::this_thread::yield();
                    stubbornMayGo
                            ->release(); // the destructor has begun: let the stubborn one finish
                    ++*returned;
                    return Error();
                }));
        QVERIFY(!map->run(QStringLiteral("stubborn"), [entered, returned, stubbornMayGo] {
            entered->release();
            stubbornMayGo->tryAcquire(1, 120000);
            ++*returned;
            return Error(QStringLiteral("failed while the map died"));
        }));
        QVERIFY(entered->tryAcquire(2));
        auto queuedRan = std::make_shared<std::atomic<int>>(0);
        for (int i = 0; i < 20; ++i) {
            QVERIFY(!map->run(QStringLiteral("queued-%1").arg(i), [queuedRan] {
                ++*queuedRan;
                return Error();
            }));
        }
        if (round % 2)
            reliability::flushEvents(); // half the time some signals are already delivered

        map.reset();
        counter.dead = true;
        QCOMPARE(returned->load(), 2);
        QCOMPARE(queuedRan->load(), 0);
        reliability::flushEvents();
        QCOMPARE(counter.afterDeath.load(), 0);
    }
}

// Operations finish while the map's thread does not deliver anything; the map dies with a
// full signal queue. Nothing is delivered afterwards, with any connection type.
void tst_Lifetime::destroyWhileSignalsInFlight()
{
    for (int round = 0; round < 20; ++round) {
        auto map = std::make_unique<GoRoutineMap>(round % 2 == 0);
        QObject receiver;
        SignalCounter direct;
        SignalCounter queued;
        direct.connectAll(map.get(), &receiver, Qt::DirectConnection);
        queued.connectAll(map.get(), &receiver, Qt::QueuedConnection);
        for (int i = 0; i < 50; ++i) {
            const QString name = QStringLiteral("op-%1").arg(i);
            QVERIFY(!map->run(name, [i](OperationContext &ctx) -> Error {
                ctx.setProgress(i);
                if (i % 3 == 0)
                    return Error(QStringLiteral("odd one out"));
                if (i % 7 == 0)
                    throw i;
                return Error();
            }));
        }
        if (round % 4 == 1) {
            // Half-delivered: some batches out, the rest still queued.
            QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
        }
        if (round % 4 != 3)
            QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
        map.reset(); // in the last variant some operations are still running or queued here
        direct.dead = true;
        queued.dead = true;
        reliability::flushEvents();
        // Emitted after the destructor began: none. (Queued deliveries may still arrive after
        // it, of signals emitted before it; that is Qt's queued connection, not the map.)
        QCOMPARE(direct.afterDeath.load(), 0);
    }
}

// The map lives in a worker thread with an event loop and is deleted there while operations
// keep finishing and its signals, queued to receivers in this thread, are in flight.
void tst_Lifetime::destroyInOtherThreadWhileSignalsInFlight()
{
    for (int round = 0; round < 10; ++round) {
        QThread owner;
        owner.start();
        auto *map = new GoRoutineMap(round % 2 == 0);
        map->setMaxConcurrency(3);
        QObject receiver; // in this thread: signals cross from the owner thread to here
        SignalCounter here;
        here.connectAll(map, &receiver);
        SignalCounter inOwner; // direct, in the owner thread, with the map as context
        inOwner.connectAll(map, map, Qt::DirectConnection);
        // Connected before the feeder starts: the owner thread then reads this connection's
        // captures after a chain that ThreadSanitizer sees (feeder start, run(), the map's
        // annotated hand-offs), not only after Qt's posting of the DeferredDelete event.
        Semaphore deleted;
        QObject::connect(
                map, &QObject::destroyed, map,
                [&deleted, &inOwner] {
                    inOwner.dead = true;
                    deleted.release();
                },
                Qt::DirectConnection);
        map->moveToThread(&owner);

        std::atomic<bool> stop{false};
        std::atomic<int> accepted{0};
        std::thread feeder([&] {
            for (int i = 0; !stop.load() && i < 2000; ++i) {
                const Error err = map->run(QStringLiteral("op-%1").arg(i % 16), [i]() -> Error {
                    if (i % 5 == 0)
                        return Error(QStringLiteral("fails"));
                    return Error();
                });
                if (!err)
                    ++accepted;
            }
        });
        QVERIFY(reliability::pumpUntil([&] { return here.total.load() > 20; }));
        // The feeder stops before deletion (calling into an object being destroyed is not
        // allowed); operations it started keep finishing and posting while the map dies.
        stop = true;
        feeder.join();
        // Deleted in its own thread. (deleteLater rather than a queued functor: Qt hands a
        // functor's captures over behind locks ThreadSanitizer cannot see.)
        map->deleteLater();
        QVERIFY(deleted.tryAcquire());
        owner.quit();
        QVERIFY(owner.wait(kTimeoutMs));
        // What the owner thread emitted before the deletion may still reach us; nothing after.
        reliability::flushEvents();
        QCOMPARE(inOwner.afterDeath.load(), 0);
        QVERIFY(accepted.load() > 0);
    }
}

// Receivers living in another thread are deleted one by one while the map emits to them and
// while the map itself is destroyed.
void tst_Lifetime::destroyWhileReceiversInOtherThreadAreDeleted()
{
    struct Receiver : QObject
    {
        std::shared_ptr<std::atomic<int>> violations;
        std::shared_ptr<std::atomic<bool>> destroyed;
        std::shared_ptr<std::atomic<int>> gone;
        bool alive = true;
        ~Receiver() override
        {
            alive = false;
            *destroyed = true;
            ++*gone;
        }
        void hit()
        {
            if (!alive || QThread::currentThread() != thread())
                ++*violations;
        }
    };

    for (int round = 0; round < 6; ++round) {
        QThread receiverThread; // started once the receivers are in it (see below)
        auto map = std::make_unique<GoRoutineMap>(true);
        map->setBackoffPolicy([] {
            goroutinemap::BackoffPolicy p;
            p.setInitialDelay(1ms);
            p.setMaximumDelay(2ms);
            return p;
        }());
        auto violations = std::make_shared<std::atomic<int>>(0);
        auto gone = std::make_shared<std::atomic<int>>(0);
        std::vector<std::pair<Receiver *, std::shared_ptr<std::atomic<bool>>>> receivers;
        for (int i = 0; i < 40; ++i) {
            auto *r = new Receiver;
            r->violations = violations;
            r->gone = gone;
            r->destroyed = std::make_shared<std::atomic<bool>>(false);
            auto h = [r](const QString &) { r->hit(); };
            connect(map.get(), &GoRoutineMap::operationQueued, r, h);
            connect(map.get(), &GoRoutineMap::operationStarted, r, h);
            connect(map.get(), &GoRoutineMap::operationFinished, r, h);
            connect(map.get(), &GoRoutineMap::backoffExpired, r, h);
            connect(map.get(), &GoRoutineMap::operationFailed, r,
                    [r](const QString &, const Error &) { r->hit(); });
            connect(map.get(), &GoRoutineMap::operationProgress, r,
                    [r](const QString &, int, const QString &) { r->hit(); });
            r->moveToThread(&receiverThread);
            receivers.emplace_back(r, r->destroyed);
        }
        // Started after the receivers were made and moved: what this thread wrote into them
        // then happens before anything their thread does (moveToThread alone orders it only
        // through Qt's locks, which ThreadSanitizer cannot see).
        receiverThread.start();

        std::atomic<bool> stop{false};
        std::thread feeder([&] {
            for (int i = 0; !stop.load(); ++i) {
                map->run(QStringLiteral("op-%1").arg(i % 24), [i](OperationContext &ctx) -> Error {
                    ctx.setProgress(i % 100);
                    return i % 3 ? Error() : Error(QStringLiteral("fails"));
                });
                if (i % 64 == 63)
                    std::this_thread::yield();
            }
        });
        // Delete the receivers in their own thread, one per event, while signals pour in.
        for (const auto &[r, destroyed] : receivers)
            r->deleteLater();
        // Deliver for a while, then destroy the map with receivers half gone.
        QVERIFY(reliability::pumpUntil([&] { return gone->load() >= 10; }));
        stop = true;
        feeder.join();
        map.reset();
        receiverThread.quit();
        QVERIFY(receiverThread.wait(kTimeoutMs));
        // Those the finished thread did not get to are deleted here; no event of theirs can run.
        for (const auto &[r, destroyed] : receivers) {
            if (!destroyed->load())
                delete r;
        }
        QCOMPARE(gone->load(), 40);
        QCOMPARE(violations->load(), 0);
    }
}

// A slot deletes the map in the middle of a batch of signals: the rest of the batch is dropped.
void tst_Lifetime::destroyFromSignalHandler()
{
    for (int variant = 0; variant < 3; ++variant) {
        auto *map = new GoRoutineMap(true);
        QPointer<GoRoutineMap> guard(map);
        int afterDelete = 0;
        bool deleted = false;
        QObject receiver;
        auto count = [&](const QString &) {
            if (deleted)
                ++afterDelete;
        };
        connect(map, &GoRoutineMap::operationQueued, &receiver, count);
        connect(map, &GoRoutineMap::operationStarted, &receiver, count);
        connect(map, &GoRoutineMap::operationFinished, &receiver, [&](const QString &name) {
            if (deleted) {
                ++afterDelete;
                return;
            }
            if (name == QLatin1String("op-5")) {
                deleted = true;
                if (variant == 0)
                    delete map; // directly, from the map's own emission
                else if (variant == 1)
                    map->deleteLater();
                else
                    QMetaObject::invokeMethod(
                            &receiver, [map] { delete map; }, Qt::QueuedConnection);
            }
        });
        for (int i = 0; i < 30; ++i)
            QVERIFY(!map->run(QStringLiteral("op-%1").arg(i), [] { return Error(); }));
        QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
        QVERIFY(reliability::pumpUntil([&] { return guard.isNull(); }));
        reliability::flushEvents();
        if (variant == 0)
            QCOMPARE(afterDelete, 0);
    }
}

// Operations running on a pool the application owns: the map's destructor takes the queued ones
// back out of that pool, waits for the running ones and leaves the pool working.
void tst_Lifetime::destroyWithSharedPool()
{
    QThreadPool shared;
    shared.setMaxThreadCount(2);
    for (int round = 0; round < 10; ++round) {
        auto map = std::make_unique<GoRoutineMap>(round % 2 == 1);
        map->setThreadPool(&shared);
        auto entered = std::make_shared<Semaphore>();
        auto returned = std::make_shared<std::atomic<int>>(0);
        QVERIFY(!map->run(QStringLiteral("a"), cooperative(entered, returned)));
        QVERIFY(!map->run(QStringLiteral("b"), cooperative(entered, returned)));
        QVERIFY(entered->tryAcquire(2));
        auto queuedRan = std::make_shared<std::atomic<int>>(0);
        for (int i = 0; i < 10; ++i)
            QVERIFY(!map->run(QStringLiteral("q-%1").arg(i), [queuedRan] {
                ++*queuedRan;
                return Error();
            }));
        map.reset();
        QCOMPARE(returned->load(), 2);
        // The pool may still be unwinding the last runnable; the map's state must survive it.
        QVERIFY(shared.waitForDone(kTimeoutMs));
        QCOMPARE(queuedRan->load(), 0);
    }
    // The pool still works for others.
    std::atomic<bool> ran{false};
    reliability::startOnPool(shared, [&ran] { ran = true; });
    QVERIFY(shared.waitForDone(kTimeoutMs));
    QVERIFY(ran.load());
}

// Futures from runOrJoin() always finish, whatever happens to the map: no one waiting on a
// future hangs because the map went away.
void tst_Lifetime::joinedFuturesFinishOnDestruction()
{
    auto map = std::make_unique<GoRoutineMap>(true);
    map->setMaxConcurrency(1);
    auto entered = std::make_shared<Semaphore>();
    QList<QFuture<Error>> futures;
    futures << map->runOrJoin(QStringLiteral("quick"), [] { return Error(); });
    futures[0].waitForFinished();
    QVERIFY(!futures[0].result());
    // runOrJoin() takes plain functions only: this one polls the map's state to notice that
    // cancellation was requested, which happens when the destructor begins.
    GoRoutineMap *raw = map.get();
    futures << map->runOrJoin(QStringLiteral("running"), [entered, raw] {
        entered->release();
        QDeadlineTimer limit(120000);
        while (!raw->operationInfo(QStringLiteral("running")).cancellationRequested
               && !limit.hasExpired())
            std::this_thread::yield();
        return Error();
    });
    QVERIFY(entered->tryAcquire());
    futures << map->runOrJoin(QStringLiteral("running"), [] { return Error(); }); // joins it
    for (int i = 0; i < 5; ++i) {
        futures << map->runOrJoin(QStringLiteral("queued-%1").arg(i), [] { return Error(); });
        futures << map->runOrJoin(QStringLiteral("queued-%1").arg(i),
                                  [] { return Error(); }); // joins
    }
    map.reset();
    for (int i = 0; i < futures.size(); ++i) {
        QVERIFY2(futures[i].isFinished(), qPrintable(QString::number(i)));
        const Error result = futures[i].result();
        if (i >= 1)
            QVERIFY2(goroutinemap::isCanceled(result),
                     qPrintable(QString::number(i) + result.message()));
    }
}

// Deleting the map from inside one of its own operations is a misuse the map warns about; it
// must not deadlock (its own pool cannot wait for the thread that deletes it). Child process:
// a deadlock there is a timeout, not a hung test run.
void tst_Lifetime::destroyFromInsideOwnOperation()
{
    QByteArray out;
    const int code = runChild(QStringLiteral("destroy-from-own-operation"), &out);
    QVERIFY2(code == 0, out.constData());
    QVERIFY2(out.contains("operation returned"), out.constData());
    QVERIFY2(out.contains("from inside one of its own operations"), out.constData());
}

// --- quitting --------------------------------------------------------------------------------

void tst_Lifetime::quitWithOperationsQueued_data()
{
    QTest::addColumn<QString>("mode");
    QTest::newRow("map on the stack of main") << QStringLiteral("quit-stack");
    QTest::newRow("map a child of the application") << QStringLiteral("quit-app-child");
    QTest::newRow("map outlives the application") << QStringLiteral("quit-outlives-app");
    QTest::newRow("map a function-local static") << QStringLiteral("quit-static");
}

void tst_Lifetime::quitWithOperationsQueued()
{
    QFETCH(QString, mode);
    QByteArray out;
    const int code = runChild(mode, &out);
    QVERIFY2(code == 0,
             qPrintable(QStringLiteral("exit code %1:\n").arg(code) + QString::fromLocal8Bit(out)));
    QVERIFY2(out.contains("queued operations started: 0"), out.constData());
    QVERIFY2(out.contains("clean exit"), out.constData());
}

// --- waiting ---------------------------------------------------------------------------------

void tst_Lifetime::waitFromInsideOperation_data()
{
    QTest::addColumn<int>("which");
    QTest::addColumn<bool>("sharedPool");
    const char *names[] = {"wait()", "wait(deadline)", "waitForCompletion()",
                           "waitForCompletion(deadline)"};
    for (bool shared : {false, true}) {
        for (int i = 0; i < 4; ++i)
            QTest::addRow("%s%s", names[i], shared ? ", shared pool" : "") << i << shared;
    }
}

// From inside one of the map's own operations every wait returns false at once with a warning,
// instead of waiting for itself.
void tst_Lifetime::waitFromInsideOperation()
{
    QFETCH(int, which);
    QFETCH(bool, sharedPool);
    LogCapture log;
    QThreadPool pool;
    GoRoutineMap map;
    if (sharedPool)
        map.setThreadPool(&pool);
    auto result = std::make_shared<std::atomic<int>>(-1);
    auto tookMs = std::make_shared<std::atomic<qint64>>(-1);
    QVERIFY(!map.run(QStringLiteral("waits for itself"), [&map, which, result, tookMs] {
        QElapsedTimer t;
        t.start();
        bool r = true;
        switch (which) {
        case 0:
            map.wait();
            r = false; // returned at all
            break;
        case 1:
            r = map.wait(QDeadlineTimer(60000));
            break;
        case 2:
            map.waitForCompletion();
            r = false;
            break;
        case 3:
            r = map.waitForCompletion(QDeadlineTimer(60000));
            break;
        }
        *tookMs = t.elapsed();
        *result = r ? 1 : 0;
        return Error();
    }));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(result->load(), 0);
    QVERIFY2(tookMs->load() < 10000, "the wait inside the operation did not return at once");
    QVERIFY2(log.contains(QStringLiteral("from inside one of the map's own operations")),
             qPrintable(log.warnings().join(QLatin1Char('\n'))));
}

// Waiting on another map from inside an operation is fine and really waits.
void tst_Lifetime::waitOnOtherMapFromInsideOperation()
{
    GoRoutineMap outer;
    GoRoutineMap inner;
    Gate gate;
    QVERIFY(!inner.run(QStringLiteral("inner"), [b = gate.blocker()] {
        b();
        return Error();
    }));
    QVERIFY(gate.waitEntered());
    auto waited = std::make_shared<std::atomic<int>>(-1);
    QVERIFY(!outer.run(QStringLiteral("outer"), [&inner, waited] {
        *waited = inner.waitForCompletion(QDeadlineTimer(kTimeoutMs)) ? 1 : 0;
        return Error();
    }));
    QVERIFY(!outer.waitForCompletion(QDeadlineTimer(50))); // really waiting on inner
    gate.open();
    QVERIFY(outer.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(waited->load(), 1);
}

void tst_Lifetime::waitWithDeadlineOnMapThreadWhileOperationNeedsEventLoop_data()
{
    QTest::addColumn<bool>("forCompletion");
    QTest::newRow("wait(deadline)") << false;
    QTest::newRow("waitForCompletion(deadline)") << true;
}

// An operation makes a blocking queued call into the map's thread, which is blocked in a wait
// with a deadline: the wait returns false at the deadline (no hang), and once the thread runs
// its event loop again the operation completes.
void tst_Lifetime::waitWithDeadlineOnMapThreadWhileOperationNeedsEventLoop()
{
    QFETCH(bool, forCompletion);
    GoRoutineMap map;
    QObject inMapThread;
    // A functor without captures: Qt hands a functor over behind locks ThreadSanitizer cannot
    // see, so it must carry no data of ours.
    static std::atomic<bool> calledBack;
    calledBack = false;
    QVERIFY(!map.run(QStringLiteral("needs the event loop"), [&inMapThread] {
        QMetaObject::invokeMethod(
                &inMapThread, [] { calledBack = true; }, Qt::BlockingQueuedConnection);
        return Error();
    }));
    QElapsedTimer t;
    t.start();
    const bool reached = forCompletion ? map.waitForCompletion(QDeadlineTimer(300))
                                       : map.wait(QDeadlineTimer(300));
    QVERIFY(!reached);
    QVERIFY(t.elapsed() >= 250);
    QVERIFY(t.elapsed() < 20000);
    QVERIFY(map.isOperationPending(QStringLiteral("needs the event loop")));
    QVERIFY(reliability::pumpUntil(
            [&] { return !map.isOperationPending(QStringLiteral("needs the event loop")); }));
    QVERIFY(calledBack.load());
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
}

// The same without a deadline is a deadlock the map cannot break; it must not be a silent one:
// it warns. Child process, killed once the warning shows.
void tst_Lifetime::waitForeverOnMapThreadWhileOperationNeedsEventLoopWarns()
{
    QProcess child;
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("--child"), QStringLiteral("wait-forever-on-map-thread")});
    QVERIFY(child.waitForStarted(kTimeoutMs));
    QByteArray out;
    QDeadlineTimer deadline(120000);
    while (!out.contains(kBlockedWarning.toUtf8()) && !deadline.hasExpired()
           && child.state() == QProcess::Running) {
        child.waitForReadyRead(1000);
        out += child.readAll();
    }
    out += child.readAll();
    const bool warned = out.contains(kBlockedWarning.toUtf8());
    child.kill();
    child.waitForFinished(kTimeoutMs);
    QVERIFY2(warned, out.constData());
    QVERIFY2(out.contains("waiting forever"), out.constData());
}

// --- child processes -------------------------------------------------------------------------

namespace {

void printLine(const char *text)
{
    std::fputs(text, stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// One running operation (cooperative: it returns once canceled), twenty queued behind it; the
// application quits as soon as the first one runs.
struct QueuedWork
{
    std::shared_ptr<Semaphore> entered = std::make_shared<Semaphore>();
    std::shared_ptr<std::atomic<int>> queuedRan = std::make_shared<std::atomic<int>>(0);

    void start(GoRoutineMap &map)
    {
        // Connected first: operationStarted is only queued while someone listens.
        QObject::connect(&map, &GoRoutineMap::operationStarted, &map, [](const QString &name) {
            if (name == QLatin1String("running"))
                QCoreApplication::quit();
        });
        map.setMaxConcurrency(1);
        map.run(QStringLiteral("running"), cooperative(entered));
        for (int i = 0; i < 20; ++i) {
            map.run(QStringLiteral("queued-%1").arg(i), [q = queuedRan] {
                ++*q;
                return Error();
            });
        }
    }
    void report() const
    {
        std::printf("queued operations started: %d\n", queuedRan->load());
        std::fflush(stdout);
    }
};

int childMain(int argc, char **argv, const QString &mode)
{
    if (mode == QLatin1String("quit-stack")) {
        QCoreApplication app(argc, argv);
        QueuedWork work;
        {
            GoRoutineMap map;
            work.start(map);
            app.exec();
        } // destroyed with operations queued, after the event loop ended
        work.report();
        printLine("clean exit");
        return 0;
    }
    if (mode == QLatin1String("quit-app-child")) {
        QueuedWork work;
        {
            QCoreApplication app(argc, argv);
            auto *map = new GoRoutineMap(false, &app);
            work.start(*map);
            app.exec();
        } // the application deletes the map
        work.report();
        printLine("clean exit");
        return 0;
    }
    if (mode == QLatin1String("quit-outlives-app")) {
        QueuedWork work;
        std::unique_ptr<GoRoutineMap> map;
        {
            QCoreApplication app(argc, argv);
            map = std::make_unique<GoRoutineMap>(true);
            work.start(*map);
            app.exec();
        }
        map.reset(); // no application any more
        work.report();
        printLine("clean exit");
        return 0;
    }
    if (mode == QLatin1String("quit-static")) {
        static QueuedWork work;
        std::atexit([] {
            // Registered before the map was constructed, so it runs after its destructor.
            work.report();
            printLine("clean exit");
        });
        QCoreApplication app(argc, argv);
        static GoRoutineMap map; // destroyed at exit, after the application
        work.start(map);
        app.exec();
        return 0;
    }
    if (mode == QLatin1String("destroy-from-own-operation")) {
        QCoreApplication app(argc, argv);
        LogCapture log;
        auto *map = new GoRoutineMap;
        Semaphore done;
        map->run(QStringLiteral("self-destruct"), [map, &done] {
            delete map;
            done.release();
            return Error();
        });
        if (!done.tryAcquire(1, 30000)) {
            printLine("the operation never returned from deleting its map");
            std::_Exit(1);
        }
        printLine("operation returned");
        // The pool the map left behind is deleted through this thread's event loop.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        for (const QString &w : log.warnings())
            printLine(qPrintable(w));
        return 0;
    }
    if (mode == QLatin1String("wait-forever-on-map-thread")) {
        QCoreApplication app(argc, argv);
        GoRoutineMap map;
        QObject inMapThread;
        map.run(QStringLiteral("needs the event loop"), [&inMapThread] {
            QMetaObject::invokeMethod(
                    &inMapThread, [] {}, Qt::BlockingQueuedConnection);
            return Error();
        });
        printLine("waiting forever");
        map.waitForCompletion(); // never returns: the parent kills us once the warning shows
        printLine("returned?!");
        return 1;
    }
    std::fprintf(stderr, "unknown child mode %s\n", qPrintable(mode));
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc >= 3 && qstrcmp(argv[1], "--child") == 0)
        return childMain(1, argv, QString::fromLocal8Bit(argv[2]));
    QCoreApplication app(argc, argv);
    tst_Lifetime tc;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&tc, argc, argv);
}

#include "tst_lifetime.moc"
