// SPDX-License-Identifier: Apache-2.0
// The core behaviour of GoRoutineMap: every scenario of Kubernetes' goroutinemap_test.go (each
// with backoff off and on) and every numbered behaviour of the core issue.
//
// Synchronisation: operations are held with semaphores (Gate), and the test waits with
// QSignalSpy::wait, QTRY_* or the map's own wait functions; never with a fixed sleep.

#include <goroutinemap/goroutinemap.h>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QMutex>
#include <QPointer>
#include <QScopeGuard>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTest>

#include "coretestsupport.h"
#include <QThread>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;

using namespace coretest;

namespace {

// Counts every outcome signal of a map, from the receiver's side.
struct SignalCounts
{
    explicit SignalCounts(GoRoutineMap *map)
        : queued(map, &GoRoutineMap::operationQueued),
          started(map, &GoRoutineMap::operationStarted),
          finished(map, &GoRoutineMap::operationFinished),
          failed(map, &GoRoutineMap::operationFailed),
          canceled(map, &GoRoutineMap::operationCanceled),
          progress(map, &GoRoutineMap::operationProgress),
          expired(map, &GoRoutineMap::backoffExpired),
          removed(map, &GoRoutineMap::operationRemoved)
    { }
    int total() const
    {
        return queued.count() + started.count() + finished.count() + failed.count()
                + canceled.count() + progress.count() + expired.count() + removed.count();
    }
    QSignalSpy queued, started, finished, failed, canceled, progress, expired, removed;
};

void flushEvents()
{
    QCoreApplication::sendPostedEvents();
    QCoreApplication::processEvents();
    QCoreApplication::sendPostedEvents();
}

void addBackoffRows()
{
    QTest::addColumn<bool>("backoff");
    QTest::newRow("backoff off") << false;
    QTest::newRow("backoff on") << true;
}

struct NotAnException
{
    int code;
};

} // namespace

class tst_GoRoutineMap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    // Kubernetes' goroutinemap_test.go, each scenario with backoff off and on.
    void singleOp_data() { addBackoffRows(); }
    void singleOp();
    void twoOps_data() { addBackoffRows(); }
    void twoOps();
    void secondOpAfterFirstCompletes_data() { addBackoffRows(); }
    void secondOpAfterFirstCompletes();
    void secondOpAfterFirstPanics_data() { addBackoffRows(); }
    void secondOpAfterFirstPanics();
    void secondOpBeforeFirstCompletes_data() { addBackoffRows(); }
    void secondOpBeforeFirstCompletes();
    void thirdOpAfterFirstCompletes_data() { addBackoffRows(); }
    void thirdOpAfterFirstCompletes();
    void waitEmpty_data() { addBackoffRows(); }
    void waitEmpty();
    void wait_data() { addBackoffRows(); }
    void wait();
    void waitForCompletion_data() { addBackoffRows(); }
    void waitForCompletion();

    // 1. Different names run concurrently.
    void differentNamesRunConcurrently();
    // 2. Success frees the name at once and clears the failure history.
    void successFreesNameBeforeFinishedSignal_data() { addBackoffRows(); }
    void successFreesNameBeforeFinishedSignal();
    void successClearsFailureHistory();
    // 3. Failure without backoff: freed, logged, signalled.
    void failureWithoutBackoffFreesLogsAndSignals();
    // 4. Failure with backoff: refused until the window passes; doubling; cap.
    void failureWithBackoffRefusesWithDetails();
    void backoffRecordedBeforeFailedSignal();
    void backoffDoublesAndCaps();
    void backoffWindowPassesThenAccepted();
    void realDefaultPolicyRefusesFor500ms();
    // 5. Whatever an operation throws is a failure.
    void throwingIsAFailure_data();
    void throwingIsAFailure();
    // 6. wait() / waitForCompletion().
    void waitersAllWake_data() { addBackoffRows(); }
    void waitersAllWake();
    void waitBlocksOnBackingOffName();
    void countAgreesWithSignalsAndWaits_data() { addBackoffRows(); }
    void countAgreesWithSignalsAndWaits();
    // 7. Thread-safety.
    void runFromManyThreads_data() { addBackoffRows(); }
    void runFromManyThreads();
    // 8. Signals.
    void signalOrderAndThread_data();
    void signalOrderAndThread();
    void startedEmittedWhenFunctionBegins();
    void signalsInMapThreadWhenRunFromOtherThread();
    void signalsInMapThreadAfterMoveToThread();
    void refusedRunEmitsNothing();
    void noSignalAfterDestruction_data() { addBackoffRows(); }
    void noSignalAfterDestruction();
    void deleteMapFromSlot_data();
    void deleteMapFromSlot();
    // 9. Arguments and names.
    void nullFunctionIsInvalidArgument_data() { addBackoffRows(); }
    void nullFunctionIsInvalidArgument();
    void namesAreComparedExactly();
    // 10. Destruction.
    void destructionWaitsForRunningOperation();
    void destructionCancelsCooperativeOperation();
    void destructionNeverStartsQueuedOperations();
};

void tst_GoRoutineMap::initTestCase()
{
    LogCapture::installQuietHandler();
}

// --- Kubernetes' scenarios ---------------------------------------------------------------

void tst_GoRoutineMap::singleOp()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    QSemaphore ran;

    const Error err = map.run(kName, [&ran] {
        ran.release();
        return Error();
    });

    QVERIFY2(!err, qPrintable(err.message()));
    QVERIFY(ran.tryAcquire(1, kTimeoutMs));
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(finished.count(), 1);
    QCOMPARE(finished.at(0).at(0).toString(), kName);
}

void tst_GoRoutineMap::twoOps()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    const QString name1 = QStringLiteral("operation1-name");
    const QString name2 = QStringLiteral("operation2-name");

    const Error err1 = map.run(name1, noop());
    const Error err2 = map.run(name2, noop());

    QVERIFY2(!err1, qPrintable(err1.message()));
    QVERIFY2(!err2, qPrintable(err2.message()));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs);
    QStringList names{finished.at(0).at(0).toString(), finished.at(1).at(0).toString()};
    names.sort();
    QCOMPARE(names, (QStringList{name1, name2}));
}

void tst_GoRoutineMap::secondOpAfterFirstCompletes()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(fastPolicy());
    QSemaphore operation1Done;
    const Error err1 = map.run(kName, [&operation1Done] {
        operation1Done.release();
        return Error();
    });
    QVERIFY2(!err1, qPrintable(err1.message()));
    QVERIFY(operation1Done.tryAcquire(1, kTimeoutMs)); // force operation1 to complete

    RunUntilAccepted second{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(second(), qPrintable(second.last.message()), kTimeoutMs);
}

void tst_GoRoutineMap::secondOpAfterFirstPanics()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(fastPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    const Error err1 = map.run(kName, []() -> Error { throw std::runtime_error("testing panic"); });
    QVERIFY2(!err1, qPrintable(err1.message()));

    RunUntilAccepted second{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(second(), qPrintable(second.last.message()), kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeoutMs);
    QVERIFY2(failed.at(0).at(1).value<Error>().text().contains(QStringLiteral("testing panic")),
             qPrintable(failed.at(0).at(1).value<Error>().message()));
}

void tst_GoRoutineMap::secondOpBeforeFirstCompletes()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    Gate gate;
    const Error err1 = map.run(kName, gate.operation());
    QVERIFY2(!err1, qPrintable(err1.message()));

    bool secondRan = false;
    const Error err2 = map.run(kName, [&secondRan] {
        secondRan = true;
        return Error();
    });

    QVERIFY(err2.isError());
    QVERIFY2(goroutinemap::isAlreadyExists(err2), qPrintable(err2.message()));
    QCOMPARE(err2.kind(), Error::Kind::AlreadyExists);
    QCOMPARE(err2.operationName(), kName);
    QVERIFY2(err2.message().contains(QStringLiteral("\"operation-name\"")),
             qPrintable(err2.message()));
    gate.open();
    map.waitForCompletion();
    QVERIFY(!secondRan);
}

void tst_GoRoutineMap::thirdOpAfterFirstCompletes()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(fastPolicy());
    Gate gate;
    const Error err1 = map.run(kName, gate.operation());
    QVERIFY2(!err1, qPrintable(err1.message()));

    const Error err2 = map.run(kName, noop());
    QVERIFY2(goroutinemap::isAlreadyExists(err2), qPrintable(err2.message()));

    gate.open(); // force operation1 to complete
    RunUntilAccepted third{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(third(), qPrintable(third.last.message()), kTimeoutMs);
}

void tst_GoRoutineMap::waitEmpty()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    auto waiter = startThread([&map] {
        map.wait();
        map.waitForCompletion();
    });
    QVERIFY2(waiter->wait(QDeadlineTimer(kTimeoutMs)), "wait() on an empty map blocked");
    // And from the map's own thread too.
    map.wait();
    map.waitForCompletion();
}

void tst_GoRoutineMap::wait()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());

    std::atomic<bool> waitReturned{false};
    auto waiter = startThread([&] {
        map.wait();
        waitReturned = true;
    });
    // It really blocks while the operation runs.
    QVERIFY(!waiter->wait(QDeadlineTimer(50)));
    QVERIFY(!waitReturned);

    gate.open(); // finish the operation
    QVERIFY2(waiter->wait(QDeadlineTimer(kTimeoutMs)),
             "wait() did not return after the last operation succeeded");
    QVERIFY(waitReturned);
    QCOMPARE(map.count(), 0);
}

void tst_GoRoutineMap::waitForCompletion()
{
    // Kubernetes' WaitForCompletionWithExpBackoff: waitForCompletion returns even when the
    // operation failed, while (with backoff on) wait() keeps blocking on the failed name.
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    Gate gate;
    QVERIFY(!map.run(QStringLiteral("operation-err"),
                     gate.operation(Error(QStringLiteral("testing error")))));
    QVERIFY(gate.waitEntered());

    auto waiter = startThread([&map] { map.waitForCompletion(); });
    QVERIFY(!waiter->wait(QDeadlineTimer(50)));
    gate.open();
    QVERIFY2(waiter->wait(QDeadlineTimer(kTimeoutMs)),
             "waitForCompletion() did not return after a failure");
    QVERIFY(!map.isOperationPending(QStringLiteral("operation-err")));
    QCOMPARE(map.pendingCount(), 0);

    if (backoff) {
        QCOMPARE(map.count(), 1);
        QVERIFY2(!map.wait(QDeadlineTimer(50)),
                 "wait() returned while a failed name is still backing off");
    } else {
        QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
        QCOMPARE(map.count(), 0);
        map.wait();
    }
}

// --- 1. different names ----------------------------------------------------------------

void tst_GoRoutineMap::differentNamesRunConcurrently()
{
    GoRoutineMap map;
    map.setMaxConcurrency(4);
    // Each operation waits until all three are inside their functions at the same time.
    QSemaphore inside;
    std::atomic<int> timedOut{0};
    auto op = [&] {
        inside.release();
        if (!inside.tryAcquire(3, kTimeoutMs))
            ++timedOut;
        inside.release(3);
        return Error();
    };
    QVERIFY(!map.run(QStringLiteral("a"), op));
    QVERIFY(!map.run(QStringLiteral("b"), op));
    QVERIFY(!map.run(QStringLiteral("c"), op));
    map.waitForCompletion();
    QCOMPARE(timedOut.load(), 0);
}

// --- 2. success ----------------------------------------------------------------------------

void tst_GoRoutineMap::successFreesNameBeforeFinishedSignal()
{
    // A receiver restarting a name from operationFinished must be accepted: the name is freed
    // before the signal is delivered.
    QFETCH(bool, backoff);
    Error rerun = Error(QStringLiteral("slot not called"));
    bool pendingInSlot = true;
    int calls = 0;
    GoRoutineMap map(backoff);
    connect(&map, &GoRoutineMap::operationFinished, this, [&](const QString &name) {
        if (++calls > 1)
            return; // only the first run restarts the name
        pendingInSlot = map.isOperationPending(name);
        rerun = map.run(name, noop());
    });
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    QVERIFY(!map.run(kName, noop()));
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() >= 1, kTimeoutMs);
    QVERIFY(!pendingInSlot);
    QVERIFY2(!rerun, qPrintable(rerun.message()));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kTimeoutMs); // the restarted run finished too
}

void tst_GoRoutineMap::successClearsFailureHistory()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 1000ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);

    // Two failures: the window grows to 40 ms.
    for (int i = 1; i <= 2; ++i) {
        RunUntilAccepted fail{map, kName, failing()};
        QTRY_VERIFY2_WITH_TIMEOUT(fail(), qPrintable(fail.last.message()), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), i, kTimeoutMs);
    }
    QCOMPARE(map.operationInfo(kName).failureCount, 2);
    QCOMPARE(map.operationInfo(kName).durationBeforeRetry, 40ms);

    // A success frees the name and forgets the history: the map is empty again.
    RunUntilAccepted succeed{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(succeed(), qPrintable(succeed.last.message()), kTimeoutMs);
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QVERIFY(!map.isOperationPending(kName));
    QVERIFY(!map.operationInfo(kName).isValid());
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), 0);

    // The next failure starts over at the initial delay.
    QVERIFY(!map.run(kName, failing()));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 3, kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).failureCount, 1);
    QCOMPARE(map.operationInfo(kName).durationBeforeRetry, 20ms);
}

// --- 3. failure without backoff --------------------------------------------------------------

void tst_GoRoutineMap::failureWithoutBackoffFreesLogsAndSignals()
{
    LogCapture log;
    GoRoutineMap map(false);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    const QString name = QStringLiteral("failing-op");

    QVERIFY(!map.run(name, failing(QStringLiteral("no space left on device"))));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toString(), name);
    const Error err = failed.at(0).at(1).value<Error>();
    QCOMPARE(err.kind(), Error::Kind::OperationFailed);
    QCOMPARE(err.operationName(), name);
    QCOMPARE(err.text(), QStringLiteral("no space left on device"));
    QVERIFY2(err.message().contains(QStringLiteral("\"failing-op\"")), qPrintable(err.message()));
    QCOMPARE(finished.count(), 0);

    // Freed at once: no history, accepted again without waiting. (count() is checked in
    // countAgreesWithSignalsAndWaits.)
    QVERIFY(!map.isOperationPending(name));
    QVERIFY(!map.operationInfo(name).isValid());
    const Error again = map.run(name, noop());
    QVERIFY2(!again, qPrintable(again.message()));
    map.waitForCompletion();

    // Logged, in the "goroutinemap" category, visible with debug output off.
    QTRY_VERIFY2_WITH_TIMEOUT(log.contains({name, QStringLiteral("no space left on device")}),
                              qPrintable(log.dump()), kTimeoutMs);
}

// --- 4. failure with backoff -------------------------------------------------------------------

void tst_GoRoutineMap::failureWithBackoffRefusesWithDetails()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    const QDateTime before = QDateTime::currentDateTime();
    QVERIFY(!map.run(kName, failing(QStringLiteral("device busy"))));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    const QDateTime after = QDateTime::currentDateTime();

    // No longer pending, but still held by the map.
    QVERIFY(!map.isOperationPending(kName));
    QCOMPARE(map.pendingCount(), 0);
    QCOMPARE(map.count(), 1);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));

    bool ran = false;
    const Error err = map.run(kName, [&ran] {
        ran = true;
        return Error();
    });
    QCOMPARE(err.kind(), Error::Kind::ExponentialBackoff);
    QVERIFY(goroutinemap::isExponentialBackoff(err));
    QVERIFY(!goroutinemap::isAlreadyExists(err));
    QCOMPARE(err.operationName(), kName);
    QCOMPARE(err.text(), QStringLiteral("device busy"));
    QCOMPARE(err.durationBeforeRetry(), 60000ms);
    QCOMPARE(err.failureCount(), 1);
    QVERIFY2(err.retryAfter() > 50000ms && err.retryAfter() <= 60000ms,
             qPrintable(QString::number(err.retryAfter().count())));
    QVERIFY(err.lastErrorTime().isValid());
    QVERIFY(err.lastErrorTime() >= before.addMSecs(-1));
    QVERIFY(err.lastErrorTime() <= after.addMSecs(1));
    QVERIFY2(err.message().contains(QStringLiteral("\"operation-name\"")),
             qPrintable(err.message()));
    QVERIFY2(err.message().contains(QStringLiteral("device busy")), qPrintable(err.message()));

    const OperationInfo info = map.operationInfo(kName);
    QVERIFY(info.isValid());
    QCOMPARE(info.state, OperationInfo::State::BackingOff);
    QCOMPARE(info.failureCount, 1);
    QCOMPARE(info.lastError.text(), QStringLiteral("device busy"));

    // The refused function never ran.
    map.waitForCompletion();
    QVERIFY(!ran);
}

void tst_GoRoutineMap::backoffRecordedBeforeFailedSignal()
{
    // A receiver of operationFailed must already see the backoff, not a free name.
    Error inSlot = Error(QStringLiteral("slot not called"));
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    connect(&map, &GoRoutineMap::operationFailed, this,
            [&](const QString &name, const Error &) { inSlot = map.run(name, noop()); });
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QVERIFY2(goroutinemap::isExponentialBackoff(inSlot), qPrintable(inSlot.message()));
}

void tst_GoRoutineMap::backoffDoublesAndCaps()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 80ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    const std::chrono::milliseconds expected[] = {20ms, 40ms, 80ms, 80ms, 80ms};
    for (int i = 0; i < int(std::size(expected)); ++i) {
        RunUntilAccepted fail{map, kName, failing(QStringLiteral("failure %1").arg(i + 1))};
        QTRY_VERIFY2_WITH_TIMEOUT(fail(), qPrintable(fail.last.message()), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), i + 1, kTimeoutMs);
        const OperationInfo info = map.operationInfo(kName);
        QVERIFY(info.isValid());
        QCOMPARE(info.failureCount, i + 1);
        QCOMPARE(info.durationBeforeRetry, expected[i]);
        QCOMPARE(info.lastError.text(), QStringLiteral("failure %1").arg(i + 1));
    }
}

void tst_GoRoutineMap::backoffWindowPassesThenAccepted()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(30ms, 30ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy expired(&map, &GoRoutineMap::backoffExpired);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);

    // The map announces the end of the window; run() then accepts the name at once.
    QVERIFY(expired.wait(kTimeoutMs) || expired.count() == 1);
    QCOMPARE(expired.at(0).at(0).toString(), kName);
    const Error err = map.run(kName, noop());
    QVERIFY2(!err, qPrintable(err.message()));
    map.waitForCompletion();
}

void tst_GoRoutineMap::realDefaultPolicyRefusesFor500ms()
{
    // The one test with Kubernetes' real constants.
    GoRoutineMap map(true);
    QCOMPARE(map.backoffPolicy(), BackoffPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QElapsedTimer sinceBeforeFailure;
    sinceBeforeFailure.start();
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);

    const Error refusal = map.run(kName, noop());
    if (sinceBeforeFailure.elapsed() < 400) { // only certain while well inside the window
        QVERIFY2(isExponentialBackoff(refusal), qPrintable(refusal.message()));
        QCOMPARE(refusal.durationBeforeRetry(), 500ms);
        QVERIFY(refusal.retryAfter() > 0ms);
        QVERIFY(refusal.retryAfter() <= 500ms);
    }

    RunUntilAccepted retry{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(retry(), qPrintable(retry.last.message()), kTimeoutMs);
    // Accepted only after the window: the failure happened after the timer started.
    QVERIFY2(sinceBeforeFailure.elapsed() >= 500,
             qPrintable(QString::number(sinceBeforeFailure.elapsed())));
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
}

// --- 5. exceptions -------------------------------------------------------------------------------

enum class Throw { StdRuntimeError, StdLogicError, Int, CustomType, CString };

void tst_GoRoutineMap::throwingIsAFailure_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::addColumn<int>("what");
    QTest::addColumn<QString>("expectedText"); // empty: anything non-empty
    const struct
    {
        const char *name;
        Throw what;
        QString text;
    } rows[] = {
            {"std::runtime_error", Throw::StdRuntimeError, QStringLiteral("disk on fire")},
            {"std::logic_error", Throw::StdLogicError, QStringLiteral("bad logic")},
            {"int", Throw::Int, QString()},
            {"custom type", Throw::CustomType, QString()},
            {"const char *", Throw::CString, QString()},
    };
    for (bool backoff : {false, true}) {
        for (const auto &row : rows) {
            QTest::addRow("%s, backoff %s", row.name, backoff ? "on" : "off")
                    << backoff << int(row.what) << row.text;
        }
    }
}

void tst_GoRoutineMap::throwingIsAFailure()
{
    QFETCH(bool, backoff);
    QFETCH(int, what);
    QFETCH(QString, expectedText);

    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    const QString name = QStringLiteral("thrower");
    QVERIFY(!map.run(name, [what]() -> Error {
        switch (Throw(what)) {
        case Throw::StdRuntimeError:
            throw std::runtime_error("disk on fire");
        case Throw::StdLogicError:
            throw std::logic_error("bad logic");
        case Throw::Int:
            throw 42;
        case Throw::CustomType:
            throw NotAnException{7};
        case Throw::CString:
            throw "a C string";
        }
        return Error();
    }));

    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(finished.count(), 0);
    const Error err = failed.at(0).at(1).value<Error>();
    QCOMPARE(err.kind(), Error::Kind::OperationFailed);
    QCOMPARE(err.operationName(), name);
    if (!expectedText.isEmpty())
        QVERIFY2(err.text().contains(expectedText), qPrintable(err.message()));
    else
        QVERIFY2(!err.text().trimmed().isEmpty(),
                 "a non-std exception must say something about itself");
    // Whatever was thrown, the failure says it was an exception.
    QVERIFY2(err.text().contains(QLatin1String("exception"), Qt::CaseInsensitive),
             qPrintable(err.text()));

    // The name is freed (backoff off) or backing off (on), like any failure.
    QVERIFY(!map.isOperationPending(name));
    const Error next = map.run(name, noop());
    if (backoff) {
        QVERIFY2(isExponentialBackoff(next), qPrintable(next.message()));
        QCOMPARE(next.text(), err.text());
    } else {
        QVERIFY2(!next, qPrintable(next.message()));
    }
    map.waitForCompletion();
}

// --- 6. waiting ----------------------------------------------------------------------------------

void tst_GoRoutineMap::waitersAllWake()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());

    constexpr int kWaiters = 4;
    std::vector<std::unique_ptr<QThread>> waiters;
    for (int i = 0; i < kWaiters; ++i) {
        waiters.push_back(startThread([&map] { map.wait(); }));
        waiters.push_back(startThread([&map] { map.waitForCompletion(); }));
    }
    // All of them are blocked while the operation runs ...
    for (auto &t : waiters)
        QVERIFY(!t->wait(QDeadlineTimer(20)));
    gate.open();
    // ... and every one of them wakes (Kubernetes' cond.Signal would wake only one).
    for (auto &t : waiters)
        QVERIFY2(t->wait(QDeadlineTimer(kTimeoutMs)), "a waiter was never woken");
}

void tst_GoRoutineMap::waitBlocksOnBackingOffName()
{
    // Kubernetes' semantics: a failed name stays until it later succeeds; wait() waits for that.
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 20ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);

    std::atomic<bool> returned{false};
    auto waiter = startThread([&] {
        map.wait();
        returned = true;
    });
    QVERIFY(!waiter->wait(QDeadlineTimer(50)));
    QVERIFY(!returned);

    RunUntilAccepted succeed{map, kName, noop()};
    QTRY_VERIFY2_WITH_TIMEOUT(succeed(), qPrintable(succeed.last.message()), kTimeoutMs);
    QVERIFY2(waiter->wait(QDeadlineTimer(kTimeoutMs)),
             "wait() did not return after the failed name succeeded");
    QVERIFY(returned);
}

void tst_GoRoutineMap::countAgreesWithSignalsAndWaits()
{
    // "Freed at once": by the time operationFinished/operationFailed is delivered, or
    // waitForCompletion() has returned, count() no longer includes a freed name. The window,
    // if any, is narrow, so it is probed many times.
    QFETCH(bool, backoff);
    int done = 0;
    int countInSlot = 0;
    GoRoutineMap map(backoff);
    connect(&map, &GoRoutineMap::operationFinished, this, [&](const QString &) {
        if (map.count() != 0)
            ++countInSlot;
        ++done;
    });
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    constexpr int kRounds = 5000;
    for (int i = 0; i < kRounds; ++i) {
        QVERIFY(!map.run(kName, noop()));
        // Delivered only while this thread runs its event loop, so it cannot be missed here.
        if (done <= i)
            QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(done, i + 1);
    }
    int countAfterWait = 0;
    for (int i = 0; i < kRounds * 5; ++i) {
        QVERIFY(!map.run(QStringLiteral("other"), noop()));
        map.waitForCompletion();
        if (map.count() != 0)
            ++countAfterWait;
    }
    QVERIFY2(countInSlot == 0,
             qPrintable(QStringLiteral("count() still included the name inside operationFinished "
                                       "%1 times of %2")
                                .arg(countInSlot)
                                .arg(kRounds)));
    QVERIFY2(countAfterWait == 0,
             qPrintable(QStringLiteral("count() was not 0 after waitForCompletion() %1 times of %2")
                                .arg(countAfterWait)
                                .arg(kRounds * 5)));
}

// --- 7. thread-safety --------------------------------------------------------------------------

void tst_GoRoutineMap::runFromManyThreads()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    constexpr int kThreads = 6;
    constexpr int kNamesPerThread = 150;
    std::atomic<int> accepted{0};
    std::atomic<int> executed{0};
    std::atomic<int> unexpected{0};
    std::vector<std::unique_ptr<QThread>> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.push_back(startThread([&, t] {
            for (int i = 0; i < kNamesPerThread; ++i) {
                const QString name = QStringLiteral("t%1-n%2").arg(t).arg(i);
                const Error err = map.run(name, [&executed, i] {
                    ++executed;
                    return i % 3 == 0 ? Error(QStringLiteral("every third fails")) : Error();
                });
                if (err)
                    ++unexpected;
                else
                    ++accepted;
                (void)map.isOperationPending(name);
                (void)map.isOperationPending(
                        QStringLiteral("t%1-n%2").arg((t + 1) % kThreads).arg(i));
            }
            map.waitForCompletion();
        }));
    }
    for (auto &t : threads)
        QVERIFY(t->wait(QDeadlineTimer(60000)));
    map.waitForCompletion();
    QCOMPARE(unexpected.load(), 0); // every name distinct: nothing is refused
    QCOMPARE(accepted.load(), kThreads * kNamesPerThread);
    QCOMPARE(executed.load(), kThreads * kNamesPerThread);
    QCOMPARE(map.pendingCount(), 0);
    // With backoff on every third name failed and stays; without, nothing stays.
    if (!backoff)
        QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    QTRY_COMPARE_WITH_TIMEOUT(map.count(), backoff ? kThreads * (kNamesPerThread / 3) : 0,
                              kTimeoutMs);
}

// --- 8. signals ----------------------------------------------------------------------------------

void tst_GoRoutineMap::signalOrderAndThread_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::addColumn<int>("outcome"); // 0 success, 1 returned error, 2 threw
    for (bool backoff : {false, true}) {
        const char *b = backoff ? "on" : "off";
        QTest::addRow("success, backoff %s", b) << backoff << 0;
        QTest::addRow("error, backoff %s", b) << backoff << 1;
        QTest::addRow("throw, backoff %s", b) << backoff << 2;
    }
}

void tst_GoRoutineMap::signalOrderAndThread()
{
    QFETCH(bool, backoff);
    QFETCH(int, outcome);
    // Direct connections run in the emitting thread, so they reveal where the map emits.
    QMutex mutex;
    QStringList events;
    QList<QThread *> threads;
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    auto record = [&](const QString &what) {
        QMutexLocker lock(&mutex);
        events << what;
        threads << QThread::currentThread();
    };
    connect(
            &map, &GoRoutineMap::operationQueued, this,
            [&](const QString &n) { record(QStringLiteral("queued ") + n); }, Qt::DirectConnection);
    connect(
            &map, &GoRoutineMap::operationStarted, this,
            [&](const QString &n) { record(QStringLiteral("started ") + n); },
            Qt::DirectConnection);
    connect(
            &map, &GoRoutineMap::operationFinished, this,
            [&](const QString &n) { record(QStringLiteral("finished ") + n); },
            Qt::DirectConnection);
    connect(
            &map, &GoRoutineMap::operationFailed, this,
            [&](const QString &n, const Error &) { record(QStringLiteral("failed ") + n); },
            Qt::DirectConnection);
    connect(
            &map, &GoRoutineMap::operationCanceled, this,
            [&](const QString &n) { record(QStringLiteral("canceled ") + n); },
            Qt::DirectConnection);

    const QString n = QStringLiteral("sig");
    QVERIFY(!map.run(n, [outcome]() -> Error {
        if (outcome == 2)
            throw std::runtime_error("boom");
        return outcome == 1 ? Error(QStringLiteral("boom")) : Error();
    }));
    const QString terminal =
            (outcome == 0 ? QStringLiteral("finished ") : QStringLiteral("failed ")) + n;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                                 QMutexLocker lock(&mutex);
                                 return events.contains(terminal);
                             }()),
                             kTimeoutMs);
    map.waitForCompletion();
    flushEvents();

    QMutexLocker lock(&mutex);
    const QStringList expected{QStringLiteral("queued ") + n, QStringLiteral("started ") + n,
                               terminal};
    QCOMPARE(events,
             expected); // started before the terminal signal, and exactly one terminal signal
    for (QThread *t : std::as_const(threads))
        QCOMPARE(t, QThread::currentThread()); // the map's thread
}

void tst_GoRoutineMap::startedEmittedWhenFunctionBegins()
{
    GoRoutineMap map;
    QSignalSpy started(&map, &GoRoutineMap::operationStarted);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    // Delivered while the function is still blocked inside: emitted when it began, not at its end.
    QVERIFY(started.wait(kTimeoutMs) || started.count() == 1);
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.at(0).at(0).toString(), kName);
    QCOMPARE(finished.count(), 0);
    QVERIFY(map.isOperationPending(kName));
    gate.open();
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(started.count(), 1);
}

void tst_GoRoutineMap::signalsInMapThreadWhenRunFromOtherThread()
{
    QMutex mutex;
    QList<QThread *> emitters;
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    auto record = [&] {
        QMutexLocker lock(&mutex);
        emitters << QThread::currentThread();
    };
    connect(&map, &GoRoutineMap::operationStarted, this, record, Qt::DirectConnection);
    connect(&map, &GoRoutineMap::operationFinished, this, record, Qt::DirectConnection);
    connect(&map, &GoRoutineMap::operationFailed, this, record, Qt::DirectConnection);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);

    // run() is called from a plain thread without an event loop.
    auto caller = startThread([&map] {
        (void)map.run(QStringLiteral("ok"), noop());
        (void)map.run(QStringLiteral("ko"), failing());
    });
    QVERIFY(caller->wait(QDeadlineTimer(kTimeoutMs)));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count() + finished.count(), 2, kTimeoutMs);
    QMutexLocker lock(&mutex);
    QCOMPARE(emitters.size(), 4);
    for (QThread *t : std::as_const(emitters))
        QCOMPARE(t, QThread::currentThread());
}

void tst_GoRoutineMap::signalsInMapThreadAfterMoveToThread()
{
    QMutex mutex;
    QList<QThread *> emitters;
    std::atomic<int> terminal{0};
    auto record = [&] {
        QMutexLocker lock(&mutex);
        emitters << QThread::currentThread();
    };

    QThread mapThread;
    mapThread.start();
    QObject inMapThread; // a context to run the map's destructor in its own thread
    inMapThread.moveToThread(&mapThread);
    auto *map = new GoRoutineMap(true);
    map->setBackoffPolicy(longPolicy());
    map->moveToThread(&mapThread);
    auto cleanup = qScopeGuard([&] {
        QMetaObject::invokeMethod(
                &inMapThread, [map] { delete map; }, Qt::BlockingQueuedConnection);
        mapThread.quit();
        mapThread.wait();
    });

    connect(map, &GoRoutineMap::operationStarted, this, record, Qt::DirectConnection);
    connect(
            map, &GoRoutineMap::operationFinished, this,
            [&] {
                record();
                ++terminal;
            },
            Qt::DirectConnection);
    connect(
            map, &GoRoutineMap::operationFailed, this,
            [&] {
                record();
                ++terminal;
            },
            Qt::DirectConnection);

    QVERIFY(!map->run(QStringLiteral("ok"), noop()));
    QVERIFY(!map->run(QStringLiteral("ko"), failing()));
    QTRY_COMPARE_WITH_TIMEOUT(terminal.load(), 2, kTimeoutMs);
    QMutexLocker lock(&mutex);
    QCOMPARE(emitters.size(), 4);
    for (QThread *t : std::as_const(emitters))
        QCOMPARE(t, &mapThread);
}

void tst_GoRoutineMap::refusedRunEmitsNothing()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    SignalCounts counts(&map);

    // One name backing off, one pending.
    QVERIFY(!map.run(QStringLiteral("failed"), failing()));
    QTRY_COMPARE_WITH_TIMEOUT(counts.failed.count(), 1, kTimeoutMs);
    Gate gate;
    QVERIFY(!map.run(QStringLiteral("pending"), gate.operation()));
    QVERIFY(gate.waitEntered());
    QTRY_COMPARE_WITH_TIMEOUT(counts.started.count(), 2, kTimeoutMs);
    flushEvents();
    const int before = counts.total();

    bool ran = false;
    auto mustNotRun = [&ran] {
        ran = true;
        return Error();
    };
    QVERIFY(isExponentialBackoff(map.run(QStringLiteral("failed"), mustNotRun)));
    QVERIFY(isAlreadyExists(map.run(QStringLiteral("pending"), mustNotRun)));
    QCOMPARE(map.run(QStringLiteral("null"), GoRoutineMap::OperationFunc()).kind(),
             Error::Kind::InvalidArgument);
    flushEvents();
    QCOMPARE(counts.total(), before);

    gate.open();
    map.waitForCompletion();
    QVERIFY(!ran);
}

void tst_GoRoutineMap::noSignalAfterDestruction()
{
    QFETCH(bool, backoff);
    auto map = std::make_unique<GoRoutineMap>(backoff);
    map->setBackoffPolicy(fastPolicy(1ms, 1ms)); // windows end (and could signal) right away

    QObject receiver;
    bool destroyed = false;
    int afterDestruction = 0;
    QStringList late;
    auto count = [&](const char *what) {
        return [&, what](const QString &name) {
            if (destroyed) {
                ++afterDestruction;
                late << QString::fromLatin1(what) + QLatin1Char(' ') + name;
            }
        };
    };
    // Auto and explicit queued connections to a receiver outside the map.
    for (Qt::ConnectionType type : {Qt::AutoConnection, Qt::QueuedConnection}) {
        connect(map.get(), &GoRoutineMap::operationQueued, &receiver, count("queued"), type);
        connect(map.get(), &GoRoutineMap::operationStarted, &receiver, count("started"), type);
        connect(map.get(), &GoRoutineMap::operationFinished, &receiver, count("finished"), type);
        connect(
                map.get(), &GoRoutineMap::operationFailed, &receiver,
                [f = count("failed")](const QString &name, const Error &) { f(name); }, type);
        connect(map.get(), &GoRoutineMap::operationCanceled, &receiver, count("canceled"), type);
        connect(map.get(), &GoRoutineMap::backoffExpired, &receiver, count("expired"), type);
        connect(map.get(), &GoRoutineMap::operationRemoved, &receiver, count("removed"), type);
        connect(
                map.get(), &GoRoutineMap::operationProgress, &receiver,
                [f = count("progress")](const QString &name, int, const QString &) { f(name); },
                type);
    }

    // Outcomes finished while the event loop does not run: their signals are still undelivered.
    QVERIFY(!map->run(QStringLiteral("ok"), noop()));
    QVERIFY(!map->run(QStringLiteral("ko"), failing()));
    QVERIFY(!map->run(QStringLiteral("throws"), []() -> Error { throw 1; }));
    QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    // And one still running when the map dies; it ends inside the destructor.
    QSemaphore entered;
    QVERIFY(!map->run(QStringLiteral("running"), [&entered](OperationContext &ctx) {
        entered.release();
        ctx.setProgress(50);
        QSemaphore never;
        while (!ctx.isCancellationRequested())
            never.tryAcquire(1, 1); // poll the cancellation flag
        ctx.setProgress(100);
        return Error();
    }));
    QVERIFY(entered.tryAcquire(1, kTimeoutMs));

    map.reset();
    destroyed = true;
    // The destructor waited for every operation, so anything the map emitted is posted by now.
    flushEvents();
    flushEvents();
    QVERIFY2(afterDestruction == 0, qPrintable(late.join(QStringLiteral(", "))));
}

void tst_GoRoutineMap::deleteMapFromSlot_data()
{
    QTest::addColumn<int>("which"); // 0 operationFinished, 1 operationFailed, 2 backoffExpired
    QTest::newRow("from operationFinished") << 0;
    QTest::newRow("from operationFailed") << 1;
    QTest::newRow("from backoffExpired") << 2;
}

void tst_GoRoutineMap::deleteMapFromSlot()
{
    // A receiver may delete the map while a batch of its signals is being delivered; the rest of
    // the batch is dropped and nothing touches the freed map (run under ASan to see it all).
    QFETCH(int, which);
    QPointer<GoRoutineMap> map = new GoRoutineMap(which == 2);
    map->setBackoffPolicy(fastPolicy(1ms, 1ms));
    int calls = 0;
    auto deleteIt = [&] {
        ++calls;
        delete map.data();
    };
    if (which == 0)
        connect(map, &GoRoutineMap::operationFinished, this, deleteIt);
    else if (which == 1)
        connect(map, &GoRoutineMap::operationFailed, this, deleteIt);
    else
        connect(map, &GoRoutineMap::backoffExpired, this, deleteIt);
    QSignalSpy destroyed(map.data(), &QObject::destroyed);

    // Several outcomes end up in one batch: the thread posting them does not run its loop.
    for (int i = 0; i < 5; ++i)
        QVERIFY(!map->run(QStringLiteral("op-%1").arg(i), which == 0 ? noop() : failing()));
    QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QTRY_VERIFY_WITH_TIMEOUT(map.isNull(), kTimeoutMs);
    QCOMPARE(destroyed.count(), 1);
    flushEvents();
    QCOMPARE(calls, 1);
}

// --- 9. arguments and names ------------------------------------------------------------------

void tst_GoRoutineMap::nullFunctionIsInvalidArgument()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    SignalCounts counts(&map);

    const Error plain = map.run(kName, GoRoutineMap::OperationFunc());
    QCOMPARE(plain.kind(), Error::Kind::InvalidArgument);
    QCOMPARE(plain.operationName(), kName);
    QVERIFY2(plain.message().contains(QStringLiteral("\"operation-name\"")),
             qPrintable(plain.message()));

    const Error withContext = map.run(kName, GoRoutineMap::ContextOperationFunc());
    QCOMPARE(withContext.kind(), Error::Kind::InvalidArgument);

    const Error withOptions =
            map.run(kName, GoRoutineMap::OperationFunc(), goroutinemap::RunOptions{3});
    QCOMPARE(withOptions.kind(), Error::Kind::InvalidArgument);
    const Error contextWithOptions =
            map.run(kName, GoRoutineMap::ContextOperationFunc(), goroutinemap::RunOptions{});
    QCOMPARE(contextWithOptions.kind(), Error::Kind::InvalidArgument);

    // Nothing registered, nothing emitted, and the name is still free.
    QVERIFY(!map.isOperationPending(kName));
    QCOMPARE(map.count(), 0);
    QVERIFY(!map.operationInfo(kName).isValid());
    flushEvents();
    QCOMPARE(counts.total(), 0);
    QVERIFY(!map.run(kName, noop()));
    map.waitForCompletion();
}

void tst_GoRoutineMap::namesAreComparedExactly()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    Gate gate;
    const QString withNul = QStringLiteral("a") + QChar(0) + QStringLiteral("b");
    const QStringList names{
            QString(), // the empty name is valid, as in Go
            QStringLiteral("a"),
            QStringLiteral("A"),
            QStringLiteral("a "),
            QStringLiteral(" a"),
            QStringLiteral("\u00e1"), // precomposed a-acute
            QStringLiteral("a\u0301"), // a + combining acute: no normalisation
            QStringLiteral("\U0001F600"), // non-BMP: same high surrogate as the next
            QStringLiteral("\U0001F601"),
            withNul,
            QStringLiteral("a/b"),
    };
    for (const QString &name : names) {
        const Error err = map.run(name, gate.operation());
        QVERIFY2(!err, qPrintable(err.message()));
    }
    QCOMPARE(map.pendingCount(), int(names.size()));
    for (const QString &name : names) {
        QVERIFY(map.isOperationPending(name));
        const Error again = map.run(name, noop());
        QVERIFY2(isAlreadyExists(again), qPrintable(again.message()));
        QCOMPARE(again.operationName(), name);
        QVERIFY(again.message().contains(QLatin1Char('"') + name + QLatin1Char('"')));
    }
    QVERIFY(!map.isOperationPending(QStringLiteral("b")));
    QVERIFY(!map.isOperationPending(QStringLiteral("a").left(0) + QStringLiteral("ab")));
    QVERIFY(!map.isOperationPending(QStringLiteral("\U0001F602")));

    gate.open(int(names.size()));
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    for (const QString &name : names)
        QVERIFY(!map.isOperationPending(name));
    QCOMPARE(map.count(), 0);
}

// --- 10. destruction -------------------------------------------------------------------------

void tst_GoRoutineMap::destructionWaitsForRunningOperation()
{
    auto map = std::make_unique<GoRoutineMap>();
    auto entered = std::make_shared<QSemaphore>();
    auto done = std::make_shared<std::atomic<bool>>(false);
    // A plain operation cannot be canceled; it works for 200 ms whatever happens.
    QVERIFY(!map->run(kName, [entered, done] {
        entered->release();
        QElapsedTimer work;
        work.start();
        QSemaphore never;
        while (work.elapsed() < 200)
            never.tryAcquire(1, 5);
        *done = true;
        return Error();
    }));
    QVERIFY(entered->tryAcquire(1, kTimeoutMs));
    QVERIFY(!*done);
    map.reset();
    QVERIFY2(*done, "the destructor returned while an operation was still running");
}

void tst_GoRoutineMap::destructionCancelsCooperativeOperation()
{
    auto map = std::make_unique<GoRoutineMap>(true);
    auto entered = std::make_shared<QSemaphore>();
    auto sawCancel = std::make_shared<std::atomic<bool>>(false);
    auto returned = std::make_shared<std::atomic<bool>>(false);
    QVERIFY(!map->run(kName, [=](OperationContext &ctx) {
        entered->release();
        QSemaphore never;
        QDeadlineTimer deadline(30000);
        while (!ctx.isCancellationRequested() && !deadline.hasExpired())
            never.tryAcquire(1, 1);
        *sawCancel = ctx.isCancellationRequested();
        ctx.setStatus(QStringLiteral("cleaning up")); // the context is still valid here
        *returned = true;
        return Error();
    }));
    QVERIFY(entered->tryAcquire(1, kTimeoutMs));
    QElapsedTimer timer;
    timer.start();
    map.reset();
    QVERIFY(*returned);
    QVERIFY2(*sawCancel, "the destructor did not request cancellation");
    QVERIFY2(timer.elapsed() < 20000,
             "the destructor waited out the operation instead of canceling it");
}

void tst_GoRoutineMap::destructionNeverStartsQueuedOperations()
{
    auto map = std::make_unique<GoRoutineMap>();
    map->setMaxConcurrency(1);
    QCOMPARE(map->maxConcurrency(), 1);
    auto entered = std::make_shared<QSemaphore>();
    QVERIFY(!map->run(QStringLiteral("running"), [entered](OperationContext &ctx) {
        entered->release();
        QSemaphore never;
        QDeadlineTimer deadline(30000);
        while (!ctx.isCancellationRequested() && !deadline.hasExpired())
            never.tryAcquire(1, 1);
        return Error();
    }));
    QVERIFY(entered->tryAcquire(1, kTimeoutMs));

    auto queuedRan = std::make_shared<std::atomic<int>>(0);
    std::atomic<int> startedSignals{0};
    connect(map.get(), &GoRoutineMap::operationStarted, this, [&](const QString &name) {
        if (name.startsWith(QLatin1String("queued")))
            ++startedSignals;
    });
    for (int i = 0; i < 5; ++i) {
        QVERIFY(!map->run(QStringLiteral("queued-%1").arg(i), [queuedRan] {
            ++*queuedRan;
            return Error();
        }));
        QCOMPARE(map->operationInfo(QStringLiteral("queued-%1").arg(i)).state,
                 OperationInfo::State::Queued);
    }
    map.reset();
    flushEvents();
    QCOMPARE(queuedRan->load(), 0);
    QCOMPARE(startedSignals.load(), 0);
}

QTEST_GUILESS_MAIN(tst_GoRoutineMap)
#include "tst_goroutinemap.moc"
