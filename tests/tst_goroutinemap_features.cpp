// SPDX-License-Identifier: Apache-2.0
// The features beyond Kubernetes (issue 4): backoff policy, resetBackoff, resetAfter,
// cancellation, progress, runOrJoin, deadline waits, waits from inside an operation, pool
// control and automatic retry.
//
// Synchronisation: operations are held with semaphores (Gate), and the test waits with
// QSignalSpy::wait, QTRY_*, futures or the map's own wait functions; never with a fixed sleep.

#include <goroutinemap/goroutinemap.h>

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QMutex>
#include <QScopeGuard>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTest>

#include "coretestsupport.h"
#include <QThread>
#include <QThreadPool>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#  include <malloc.h> // mallinfo2()
#endif

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;
using goroutinemap::RunOptions;

using namespace coretest;

namespace {

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

} // namespace

class tst_GoRoutineMapFeatures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    // Backoff policy
    void defaultPolicyAndSetter();
    void invalidPolicyRefused_data();
    void invalidPolicyRefused();
    void policyShapesTheWindows();
    void jitterOnMapStaysInBounds();
    void turningBackoffOffForgetsHistory();
    // resetBackoff / resetAfter
    void resetBackoffFreesBackingOffName();
    void resetBackoffWhileRunning();
    void resetBackoffWithoutHistory();
    void resetAfterLetsIdleNameLeaveWithoutEventLoop();
    void resetAfterLetsIdleNameLeaveWithEventLoop();
    // Cancellation
    void cancelQueuedNeverStarts_data() { addBackoffRows(); }
    void cancelQueuedNeverStarts();
    void cancelRunning_data() { addBackoffRows(); }
    void cancelRunning();
    void cancelKeepsEarlierHistoryWithoutCountingAFailure();
    void cancelUnknownOrBackingOffName();
    void cancelAll();
    void laterRunNotBornCanceled();
    // Progress
    void progressAndStatus();
    void progressIsCoalesced();
    void progressJustBeforeReturnIsDelivered_data() { addBackoffRows(); }
    void progressJustBeforeReturnIsDelivered();
    void operationInfoStates();
    // runOrJoin
    void runOrJoinFromManyThreadsRunsOnce();
    void runOrJoinJoinsPlainRun();
    void runOrJoinBackingOffIsFinishedFuture();
    void runOrJoinNullFunction();
    void runOrJoinCanceled();
    void runOrJoinWithWatcherAndThen();
    // Deadline waits and waits from inside
    void waitWithDeadlineTimesOut();
    void waitWithDeadlineSucceeds();
    void waitFromInsideOperationReturnsAtOnce();
    void waitOnOtherMapFromInsideOperation();
    // Pool control
    void defaultPool();
    void setMaxConcurrency();
    void maxConcurrencyIsRespected();
    void sharedThreadPool();
    void sharedPoolDestructionNeverStartsQueued();
    void raisingMaxConcurrencyServesQueuedRuns();
    void newPoolServesQueuedRunsWhileOldPoolIsBusy();
    void drainerClearedFromSharedPoolIsReplaced();
    void capturedStateIsReleasedOutsideTheMapsLocks_data();
    void capturedStateIsReleasedOutsideTheMapsLocks();
    void waitFromCapturedDestructorReturnsAtOnce();
    void cancelFromCapturedDestructorKeepsTheOutcome();
    void waitWhileTheMapIsDestroyedReturnsAtOnce();
    // Automatic retry
    void autoRetryUntilSuccess();
    void autoRetryUsedUp();
    void autoRetryContextOverload();
    void autoRetryNeedsBackoff();
    void cancelDropsScheduledRetries();
    void cancelRunningSignalsRequest();
    void resetBackoffWhileRunningSignalsReset();
    void slowReceiversDoNotFreezeTheMapThread();
    void deliveredBurstLeavesNoMemoryBehind();
    void namesBeyondTheYoungArrays();
};

void tst_GoRoutineMapFeatures::initTestCase()
{
    LogCapture::installQuietHandler();
}

// --- backoff policy --------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::defaultPolicyAndSetter()
{
    GoRoutineMap map(true);
    QCOMPARE(map.backoffPolicy(), BackoffPolicy());
    QSignalSpy changed(&map, &GoRoutineMap::backoffPolicyChanged);

    BackoffPolicy p;
    p.setInitialDelay(10ms);
    p.setMultiplier(3.0);
    p.setMaximumDelay(5000ms);
    p.setJitter(0.25);
    p.setResetAfter(1000ms);
    QVERIFY(map.setBackoffPolicy(p));
    QCOMPARE(map.backoffPolicy(), p);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).value<BackoffPolicy>(), p);

    // Setting the same policy again changes nothing.
    QVERIFY(map.setBackoffPolicy(p));
    QCOMPARE(changed.count(), 1);
}

void tst_GoRoutineMapFeatures::invalidPolicyRefused_data()
{
    QTest::addColumn<BackoffPolicy>("policy");
    BackoffPolicy p;
    p.setInitialDelay(-1ms);
    QTest::newRow("negative initial") << p;
    p = BackoffPolicy();
    p.setMaximumDelay(-1ms);
    QTest::newRow("negative maximum") << p;
    p = BackoffPolicy();
    p.setMultiplier(0.5);
    QTest::newRow("multiplier < 1") << p;
    p = BackoffPolicy();
    p.setMultiplier(std::numeric_limits<double>::quiet_NaN());
    QTest::newRow("multiplier NaN") << p;
    p = BackoffPolicy();
    p.setInitialDelay(10000ms);
    p.setMaximumDelay(1000ms);
    QTest::newRow("initial > maximum") << p;
    p = BackoffPolicy();
    p.setJitter(-0.1);
    QTest::newRow("jitter < 0") << p;
    p = BackoffPolicy();
    p.setJitter(1.5);
    QTest::newRow("jitter > 1") << p;
    p = BackoffPolicy();
    p.setResetAfter(-1ms);
    QTest::newRow("negative resetAfter") << p;
}

void tst_GoRoutineMapFeatures::invalidPolicyRefused()
{
    QFETCH(BackoffPolicy, policy);
    GoRoutineMap map(true);
    const BackoffPolicy old = fastPolicy(30ms, 300ms);
    QVERIFY(map.setBackoffPolicy(old));
    QSignalSpy changed(&map, &GoRoutineMap::backoffPolicyChanged);

    QString why;
    QVERIFY(!policy.isValid(&why));
    LogCapture log;
    QVERIFY(!map.setBackoffPolicy(policy));
    QCOMPARE(map.backoffPolicy(), old);
    QCOMPARE(changed.count(), 0);
    // The warning names the problem.
    QVERIFY2(log.contains(why), qPrintable(log.warnings().join(QLatin1Char('\n'))));
}

void tst_GoRoutineMapFeatures::policyShapesTheWindows()
{
    GoRoutineMap map(true);
    BackoffPolicy p;
    p.setInitialDelay(10ms);
    p.setMultiplier(3.0);
    p.setMaximumDelay(100ms);
    QVERIFY(map.setBackoffPolicy(p));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    const std::chrono::milliseconds expected[] = {10ms, 30ms, 90ms, 100ms, 100ms};
    for (int i = 0; i < int(std::size(expected)); ++i) {
        RunUntilAccepted fail{map, kName, failing()};
        QTRY_VERIFY2_WITH_TIMEOUT(fail(), qPrintable(fail.last.message()), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), i + 1, kTimeoutMs);
        QCOMPARE(map.operationInfo(kName).durationBeforeRetry, expected[i]);
        QCOMPARE(map.operationInfo(kName).failureCount, i + 1);
    }
}

void tst_GoRoutineMapFeatures::jitterOnMapStaysInBounds()
{
    GoRoutineMap map(true);
    BackoffPolicy p = longPolicy(); // 60 s initial, 120 s maximum
    p.setJitter(1.0);
    QVERIFY(map.setBackoffPolicy(p));
    constexpr int kNames = 64;
    for (int i = 0; i < kNames; ++i)
        QVERIFY(!map.run(QStringLiteral("n%1").arg(i), failing()));
    map.waitForCompletion();
    std::set<qint64> seen;
    for (int i = 0; i < kNames; ++i) {
        const OperationInfo info = map.operationInfo(QStringLiteral("n%1").arg(i));
        QVERIFY(info.isValid());
        const qint64 d = info.durationBeforeRetry.count();
        QVERIFY2(d >= 60000 && d <= 120000, qPrintable(QString::number(d)));
        seen.insert(d);
    }
    QVERIFY2(seen.size() > 1, "jitter 1.0 produced identical windows for 64 names");
}

void tst_GoRoutineMapFeatures::turningBackoffOffForgetsHistory()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    QSignalSpy changed(&map, &GoRoutineMap::exponentialBackOffOnErrorChanged);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QCOMPARE(map.count(), 1);

    QVERIFY(map.setProperty("exponentialBackOffOnError", false));
    QVERIFY(!map.isExponentialBackOffOnError());
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toBool(), false);
    QCOMPARE(map.count(), 0);
    QVERIFY(removed.wait(kTimeoutMs) || removed.count() == 1);
    QCOMPARE(removed.at(0).at(0).toString(), kName);
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(!map.run(kName, noop()));
    map.waitForCompletion();
}

// --- resetBackoff / resetAfter ---------------------------------------------------------------

void tst_GoRoutineMapFeatures::resetBackoffFreesBackingOffName()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QVERIFY(isExponentialBackoff(map.run(kName, noop())));

    QVERIFY(map.resetBackoff(kName));
    QCOMPARE(map.count(), 0);
    QVERIFY(!map.operationInfo(kName).isValid());
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(removed.wait(kTimeoutMs) || removed.count() == 1);
    QCOMPARE(removed.at(0).at(0).toString(), kName);
    QVERIFY(!map.resetBackoff(kName)); // nothing left to forget

    // Runs at once, and a new failure starts over at the initial delay.
    QVERIFY(!map.run(kName, failing()));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).failureCount, 1);
    QCOMPARE(map.operationInfo(kName).durationBeforeRetry, 60000ms);
}

void tst_GoRoutineMapFeatures::resetBackoffWhileRunning()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 1000ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    for (int i = 1; i <= 2; ++i) {
        RunUntilAccepted fail{map, kName, failing()};
        QTRY_VERIFY2_WITH_TIMEOUT(fail(), qPrintable(fail.last.message()), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), i, kTimeoutMs);
    }
    QCOMPARE(map.operationInfo(kName).durationBeforeRetry, 40ms);

    Gate gate;
    RunUntilAccepted running{map, kName, gate.operation(Error(QStringLiteral("fails again")))};
    QTRY_VERIFY2_WITH_TIMEOUT(running(), qPrintable(running.last.message()), kTimeoutMs);
    QVERIFY(gate.waitEntered());

    QVERIFY(map.resetBackoff(kName));
    // The running operation keeps running, its name pending.
    QVERIFY(map.isOperationPending(kName));
    QVERIFY(isAlreadyExists(map.run(kName, noop())));
    QCOMPARE(map.operationInfo(kName).failureCount, 0);
    flushEvents();
    QCOMPARE(removed.count(), 0);

    gate.open();
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 3, kTimeoutMs);
    // History forgotten: this is failure number one again.
    QCOMPARE(map.operationInfo(kName).failureCount, 1);
    QCOMPARE(map.operationInfo(kName).durationBeforeRetry, 20ms);
}

void tst_GoRoutineMapFeatures::resetBackoffWithoutHistory()
{
    GoRoutineMap map(true);
    QVERIFY(!map.resetBackoff(QStringLiteral("unknown")));
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(!map.resetBackoff(kName)); // pending but never failed
    QVERIFY(map.isOperationPending(kName));
    gate.open();
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::resetAfterLetsIdleNameLeaveWithoutEventLoop()
{
    // wait() on the map's own thread, which runs no event loop meanwhile: resetAfter must still
    // let the quiet failed name go, so wait() returns.
    GoRoutineMap map(true);
    BackoffPolicy p = fastPolicy(20ms, 20ms);
    p.setResetAfter(30ms);
    QVERIFY(map.setBackoffPolicy(p));
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), 1);
    QElapsedTimer timer;
    timer.start();
    QVERIFY2(map.wait(QDeadlineTimer(kTimeoutMs)), "resetAfter did not let the failed name leave");
    QCOMPARE(map.count(), 0);
    QVERIFY(timer.elapsed() < 5000);
    // Gone means forgotten: the next failure starts again at the initial delay.
    QVERIFY(!map.run(kName, failing()));
    map.waitForCompletion();
    QCOMPARE(map.operationInfo(kName).failureCount, 1);
}

void tst_GoRoutineMapFeatures::resetAfterLetsIdleNameLeaveWithEventLoop()
{
    GoRoutineMap map(true);
    BackoffPolicy p = fastPolicy(20ms, 20ms);
    p.setResetAfter(30ms);
    QVERIFY(map.setBackoffPolicy(p));
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    QSignalSpy expired(&map, &GoRoutineMap::backoffExpired);

    std::atomic<bool> waited{false};
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    auto waiter = startThread([&] {
        map.wait();
        waited = true;
    });
    // The map's thread runs its event loop: the window ends, then the name leaves.
    QVERIFY(removed.wait(kTimeoutMs) || removed.count() >= 1);
    QCOMPARE(removed.at(0).at(0).toString(), kName);
    QVERIFY(expired.count() >= 1);
    QCOMPARE(map.count(), 0);
    QVERIFY(waiter->wait(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(waited);
}

// --- cancellation ----------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::cancelQueuedNeverStarts()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    map.setMaxConcurrency(1); // one thread: the second run waits in the queue
    QSignalSpy started(&map, &GoRoutineMap::operationStarted);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    Gate gate;
    QVERIFY(!map.run(QStringLiteral("running"), gate.operation()));
    QVERIFY(gate.waitEntered());

    const QString queued = QStringLiteral("queued");
    auto queuedRan = std::make_shared<std::atomic<bool>>(false);
    QVERIFY(!map.run(queued, [queuedRan](OperationContext &) {
        *queuedRan = true;
        return Error();
    }));
    QCOMPARE(map.operationInfo(queued).state, OperationInfo::State::Queued);

    QVERIFY(map.cancel(queued));
    // Freed at once, without waiting for a thread.
    QVERIFY(!map.isOperationPending(queued));
    QVERIFY(canceled.wait(kTimeoutMs) || canceled.count() == 1);
    QCOMPARE(canceled.at(0).at(0).toString(), queued);

    gate.open();
    map.waitForCompletion();
    flushEvents();
    QVERIFY(!*queuedRan);
    for (const QList<QVariant> &args : std::as_const(started))
        QVERIFY2(args.at(0).toString() != queued,
                 "a canceled queued operation emitted operationStarted");
    QCOMPARE(failed.count(), 0);
    QVERIFY(!map.operationInfo(queued).isValid()); // no backoff history either
    QCOMPARE(canceled.count(), 1);
}

void tst_GoRoutineMapFeatures::cancelRunning()
{
    QFETCH(bool, backoff);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    QSemaphore running, sawCancel;
    Gate gate;
    // It notices the cancellation, then takes its time cleaning up, and reports an error: the
    // outcome is still Canceled, never a failure.
    QVERIFY(!map.run(kName, [&running, &sawCancel, b = gate.blocker()](OperationContext &ctx) {
        running.release();
        if (waitForCancellation(ctx))
            sawCancel.release();
        b();
        return Error(QStringLiteral("aborted"));
    }));
    QVERIFY(running.tryAcquire(1, kTimeoutMs));
    QCOMPARE(map.operationInfo(kName).state, OperationInfo::State::Running);
    QVERIFY(map.cancel(kName));
    QVERIFY(sawCancel.tryAcquire(1, kTimeoutMs));
    QVERIFY(gate.waitEntered());

    // Still pending until the function returns.
    QVERIFY(map.isOperationPending(kName));
    QVERIFY(map.operationInfo(kName).cancellationRequested);
    QVERIFY(isAlreadyExists(map.run(kName, noop())));
    QVERIFY(map.cancel(kName)); // asking again is harmless

    gate.open();
    QVERIFY(canceled.wait(kTimeoutMs) || canceled.count() == 1);
    QCOMPARE(canceled.at(0).at(0).toString(), kName);
    QVERIFY(!map.isOperationPending(kName));
    flushEvents();
    QCOMPARE(failed.count(), 0);
    QCOMPARE(finished.count(), 0);
    QCOMPARE(canceled.count(), 1);
    // No backoff: the name is free at once even with backoff on.
    QVERIFY(!map.operationInfo(kName).isValid());
    const Error again = map.run(kName, noop());
    QVERIFY2(!again, qPrintable(again.message()));
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::cancelKeepsEarlierHistoryWithoutCountingAFailure()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 1000ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);

    Gate gate;
    RunUntilAccepted retry{map, kName, gate.operation(Error(QStringLiteral("would fail")))};
    QTRY_VERIFY2_WITH_TIMEOUT(retry(), qPrintable(retry.last.message()), kTimeoutMs);
    QVERIFY(gate.waitEntered());
    QVERIFY(map.cancel(kName));
    gate.open();
    QVERIFY(canceled.wait(kTimeoutMs) || canceled.count() == 1);
    QCOMPARE(failed.count(), 1);
    // Not a second failure: the window did not grow.
    const OperationInfo info = map.operationInfo(kName);
    QVERIFY(!info.isValid() || info.failureCount <= 1);
    QVERIFY(!info.isValid() || info.durationBeforeRetry == 20ms);
}

void tst_GoRoutineMapFeatures::cancelUnknownOrBackingOffName()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QVERIFY(!map.cancel(QStringLiteral("unknown")));
    QVERIFY(!map.run(kName, failing()));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QVERIFY(!map.cancel(kName)); // backing off is not pending
    QVERIFY(isExponentialBackoff(map.run(kName, noop())));
    QCOMPARE(map.cancelAll(), 0);
}

void tst_GoRoutineMapFeatures::cancelAll()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    map.setMaxConcurrency(2);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSemaphore entered;
    auto queuedRan = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < 2; ++i) {
        QVERIFY(!map.run(QStringLiteral("running-%1").arg(i), [&entered](OperationContext &ctx) {
            entered.release();
            waitForCancellation(ctx);
            return Error();
        }));
    }
    QVERIFY(entered.tryAcquire(2, kTimeoutMs));
    for (int i = 0; i < 3; ++i) {
        QVERIFY(!map.run(QStringLiteral("queued-%1").arg(i), [queuedRan] {
            ++*queuedRan;
            return Error();
        }));
    }
    QCOMPARE(map.cancelAll(), 5);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QTRY_COMPARE_WITH_TIMEOUT(canceled.count(), 5, kTimeoutMs);
    QCOMPARE(queuedRan->load(), 0);
    QCOMPARE(failed.count(), 0);
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
}

void tst_GoRoutineMapFeatures::laterRunNotBornCanceled()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    QVERIFY(!map.run(kName, [](OperationContext &ctx) {
        waitForCancellation(ctx);
        return Error();
    }));
    QVERIFY(map.cancel(kName));
    QVERIFY(canceled.wait(kTimeoutMs) || canceled.count() == 1);

    std::atomic<int> canceledAtStart{-1};
    QVERIFY(!map.run(kName, [&canceledAtStart](OperationContext &ctx) {
        canceledAtStart = ctx.isCancellationRequested() ? 1 : 0;
        return Error();
    }));
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(canceledAtStart.load(), 0);
    QCOMPARE(canceled.count(), 1);
}

// --- progress ---------------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::progressAndStatus()
{
    GoRoutineMap map;
    QSignalSpy progress(&map, &GoRoutineMap::operationProgress);
    QSemaphore stepDone, nextStep;
    std::atomic<bool> nameOk{false};
    auto step = [&] {
        stepDone.release();
        nextStep.tryAcquire(1, 60000);
    };
    QVERIFY(!map.run(kName, [&](OperationContext &ctx) {
        nameOk = ctx.operationName() == kName;
        step(); // before any progress
        ctx.setStatus(QStringLiteral("reading"));
        ctx.setProgress(42);
        step();
        ctx.setProgress(150); // clamped
        step();
        ctx.setProgress(-3); // clamped
        step();
        return Error();
    }));
    auto cleanup = qScopeGuard([&] { nextStep.release(100); });
    auto last = [&] { return progress.isEmpty() ? QVariantList() : progress.last(); };

    QVERIFY(stepDone.tryAcquire(1, kTimeoutMs));
    QVERIFY(nameOk);
    QCOMPARE(map.operationInfo(kName).progress, -1);
    QVERIFY(map.operationInfo(kName).status.isEmpty());

    nextStep.release();
    QVERIFY(stepDone.tryAcquire(1, kTimeoutMs));
    QTRY_COMPARE_WITH_TIMEOUT(last(), (QVariantList{kName, 42, QStringLiteral("reading")}),
                              kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).progress, 42);
    QCOMPARE(map.operationInfo(kName).status, QStringLiteral("reading"));

    nextStep.release();
    QVERIFY(stepDone.tryAcquire(1, kTimeoutMs));
    QTRY_COMPARE_WITH_TIMEOUT(last(), (QVariantList{kName, 100, QStringLiteral("reading")}),
                              kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).progress, 100);

    nextStep.release();
    QVERIFY(stepDone.tryAcquire(1, kTimeoutMs));
    QTRY_COMPARE_WITH_TIMEOUT(last(), (QVariantList{kName, 0, QStringLiteral("reading")}),
                              kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).progress, 0);

    nextStep.release();
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::progressIsCoalesced()
{
    GoRoutineMap map;
    QSignalSpy progress(&map, &GoRoutineMap::operationProgress);
    Gate gate;
    constexpr int kCalls = 10000;
    // A burst while the map's thread is busy (blocked here in tryAcquire) yields one signal
    // with the latest values.
    QVERIFY(!map.run(kName, [b = gate.blocker()](OperationContext &ctx) {
        for (int i = 0; i < kCalls; ++i)
            ctx.setProgress(i % 100);
        ctx.setStatus(QStringLiteral("final"));
        ctx.setProgress(77);
        b();
        return Error();
    }));
    QVERIFY(gate.waitEntered());
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty()
                                     && progress.last()
                                             == (QVariantList{kName, 77, QStringLiteral("final")}),
                             kTimeoutMs);
    QVERIFY2(progress.count() <= 2, qPrintable(QString::number(progress.count())));
    gate.open();
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::progressJustBeforeReturnIsDelivered()
{
    // The last report of an operation that returns right after it must still reach the map's
    // thread, before the outcome: "a burst of calls yields one signal", not none.
    QFETCH(bool, backoff);
    QStringList order;
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(longPolicy());
    connect(&map, &GoRoutineMap::operationProgress, this,
            [&](const QString &, int percent, const QString &status) {
                order << QStringLiteral("progress %1 %2").arg(percent).arg(status);
            });
    connect(&map, &GoRoutineMap::operationFinished, this,
            [&](const QString &) { order << QStringLiteral("finished"); });
    connect(&map, &GoRoutineMap::operationFailed, this,
            [&](const QString &, const Error &) { order << QStringLiteral("failed"); });
    QVERIFY(!map.run(kName, [backoff](OperationContext &ctx) {
        ctx.setStatus(QStringLiteral("almost"));
        ctx.setProgress(37);
        return backoff ? Error(QStringLiteral("then failed")) : Error();
    }));
    // The map's thread is blocked here until the operation has returned.
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    const QString outcome = backoff ? QStringLiteral("failed") : QStringLiteral("finished");
    QTRY_VERIFY_WITH_TIMEOUT(order.contains(outcome), kTimeoutMs);
    flushEvents();
    QCOMPARE(order, (QStringList{QStringLiteral("progress 37 almost"), outcome}));
}

void tst_GoRoutineMapFeatures::operationInfoStates()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(150ms, 150ms));
    map.setMaxConcurrency(1);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy expired(&map, &GoRoutineMap::backoffExpired);
    QVERIFY(!map.operationInfo(QStringLiteral("unknown")).isValid());

    QVERIFY(!map.run(QStringLiteral("failed"), failing(QStringLiteral("why"))));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    OperationInfo info = map.operationInfo(QStringLiteral("failed"));
    QVERIFY(info.isValid());
    QVERIFY(!info.isPending());
    QVERIFY(info.state == OperationInfo::State::BackingOff
            || info.state == OperationInfo::State::ReadyToRetry);
    QCOMPARE(info.lastError.text(), QStringLiteral("why"));
    QCOMPARE(info.failureCount, 1);
    QVERIFY(info.backoffDeadline > goroutinemap::Clock::time_point{});
    QCOMPARE(info.durationBeforeRetry, 150ms);

    Gate gate;
    QVERIFY(!map.run(QStringLiteral("running"), gate.operation()));
    QVERIFY(gate.waitEntered());
    QVERIFY(!map.run(QStringLiteral("queued"), noop()));
    QCOMPARE(map.operationInfo(QStringLiteral("running")).state, OperationInfo::State::Running);
    QVERIFY(map.operationInfo(QStringLiteral("running")).isPending());
    QCOMPARE(map.operationInfo(QStringLiteral("running")).progress, -1);
    QCOMPARE(map.operationInfo(QStringLiteral("queued")).state, OperationInfo::State::Queued);
    QCOMPARE(map.pendingCount(), 2);
    QCOMPARE(map.count(), 3);
    QStringList names;
    for (const OperationInfo &i : map.operations())
        names << i.name;
    names.sort();
    QCOMPARE(names,
             (QStringList{QStringLiteral("failed"), QStringLiteral("queued"),
                          QStringLiteral("running")}));

    // After the window: ReadyToRetry, history kept.
    QVERIFY(expired.wait(kTimeoutMs) || expired.count() == 1);
    info = map.operationInfo(QStringLiteral("failed"));
    QCOMPARE(info.state, OperationInfo::State::ReadyToRetry);
    QCOMPARE(info.failureCount, 1);
    gate.open();
    map.waitForCompletion();
}

// --- runOrJoin --------------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::runOrJoinFromManyThreadsRunsOnce()
{
    GoRoutineMap map;
    constexpr int kCallers = 8;
    Gate gate;
    std::atomic<int> executions{0};
    QSemaphore called;
    std::vector<Error> results(kCallers);
    std::vector<std::unique_ptr<QThread>> callers;
    QSemaphore go;
    for (int i = 0; i < kCallers; ++i) {
        callers.push_back(startThread([&, i] {
            go.acquire();
            QFuture<Error> f = map.runOrJoin(kName, [&executions, b = gate.blocker()] {
                ++executions;
                b();
                return Error(QStringLiteral("shared result"));
            });
            called.release();
            f.waitForFinished();
            results[i] = f.result();
        }));
    }
    go.release(kCallers); // all at once
    QVERIFY(called.tryAcquire(kCallers, kTimeoutMs));
    QVERIFY(gate.waitEntered());
    gate.open();
    for (auto &t : callers)
        QVERIFY(t->wait(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(executions.load(), 1);
    for (const Error &r : results) {
        QCOMPARE(r.kind(), Error::Kind::OperationFailed);
        QCOMPARE(r.text(), QStringLiteral("shared result"));
        QCOMPARE(r, results.front());
    }
}

void tst_GoRoutineMapFeatures::runOrJoinJoinsPlainRun()
{
    GoRoutineMap map;
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    std::atomic<bool> secondRan{false};
    QFuture<Error> f = map.runOrJoin(kName, [&secondRan] {
        secondRan = true;
        return Error(QStringLiteral("must not run"));
    });
    QVERIFY(!f.isFinished());
    gate.open();
    f.waitForFinished();
    QVERIFY(!f.result().isError());
    QVERIFY(!f.isCanceled());
    QVERIFY(!secondRan);

    // A name that is free starts a new run.
    QFuture<Error> g = map.runOrJoin(kName, failing(QStringLiteral("fresh")));
    g.waitForFinished();
    QCOMPARE(g.result().text(), QStringLiteral("fresh"));
    QCOMPARE(g.result().operationName(), kName);
}

void tst_GoRoutineMapFeatures::runOrJoinBackingOffIsFinishedFuture()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QFuture<Error> first = map.runOrJoin(kName, failing(QStringLiteral("first")));
    first.waitForFinished();
    QCOMPARE(first.result().kind(), Error::Kind::OperationFailed);

    bool ran = false;
    QFuture<Error> f = map.runOrJoin(kName, [&ran] {
        ran = true;
        return Error();
    });
    QVERIFY(f.isFinished());
    QVERIFY(isExponentialBackoff(f.result()));
    QCOMPARE(f.result().text(), QStringLiteral("first"));
    map.waitForCompletion();
    QVERIFY(!ran);
}

void tst_GoRoutineMapFeatures::runOrJoinNullFunction()
{
    GoRoutineMap map;
    QFuture<Error> f = map.runOrJoin(kName, GoRoutineMap::OperationFunc());
    QVERIFY(f.isFinished());
    QCOMPARE(f.result().kind(), Error::Kind::InvalidArgument);
    QCOMPARE(map.count(), 0);
}

void tst_GoRoutineMapFeatures::runOrJoinCanceled()
{
    GoRoutineMap map;
    Gate gate;
    QFuture<Error> f = map.runOrJoin(kName, gate.operation());
    QVERIFY(gate.waitEntered());
    QVERIFY(map.cancel(kName));
    gate.open();
    f.waitForFinished();
    QVERIFY(!f.isCanceled()); // the future itself is never canceled
    QCOMPARE(f.result().kind(), Error::Kind::Canceled);
    QVERIFY(isCanceled(f.result()));
}

void tst_GoRoutineMapFeatures::runOrJoinWithWatcherAndThen()
{
    GoRoutineMap map;
    Gate gate;
    QFuture<Error> f = map.runOrJoin(kName, gate.operation(Error(QStringLiteral("watched"))));
    QFutureWatcher<Error> watcher;
    QSignalSpy watcherFinished(&watcher, &QFutureWatcher<Error>::finished);
    watcher.setFuture(f);

    QThread *continuationThread = nullptr;
    Error continuationResult;
    QObject context;
    auto chained = f.then(&context, [&](const Error &err) {
        continuationThread = QThread::currentThread();
        continuationResult = err;
        return err.text().size();
    });

    gate.open();
    QVERIFY(watcherFinished.wait(kTimeoutMs) || watcherFinished.count() == 1);
    QCOMPARE(watcher.result().text(), QStringLiteral("watched"));
    QTRY_VERIFY_WITH_TIMEOUT(continuationThread != nullptr, kTimeoutMs);
    QCOMPARE(continuationThread, QThread::currentThread());
    QCOMPARE(continuationResult.text(), QStringLiteral("watched"));
    chained.waitForFinished();
    QCOMPARE(chained.result(), int(QStringLiteral("watched").size()));
}

// --- deadline waits ---------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::waitWithDeadlineTimesOut()
{
    GoRoutineMap map;
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());

    QElapsedTimer timer;
    timer.start();
    QVERIFY(!map.wait(QDeadlineTimer(100)));
    const qint64 waited = timer.elapsed();
    QVERIFY2(waited >= 90 && waited < 3000, qPrintable(QString::number(waited)));

    timer.restart();
    QVERIFY(!map.waitForCompletion(QDeadlineTimer(100)));
    const qint64 waited2 = timer.elapsed();
    QVERIFY2(waited2 >= 90 && waited2 < 3000, qPrintable(QString::number(waited2)));

    // An expired deadline is a poll.
    QVERIFY(!map.wait(QDeadlineTimer(0)));
    QVERIFY(!map.waitForCompletion(QDeadlineTimer(0)));

    gate.open();
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
}

void tst_GoRoutineMapFeatures::waitWithDeadlineSucceeds()
{
    GoRoutineMap map;
    // Empty: true at once, even with an expired deadline.
    QVERIFY(map.wait(QDeadlineTimer(0)));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(0)));
    QVERIFY(map.wait(QDeadlineTimer(QDeadlineTimer::Forever)));

    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());
    auto opener = startThread([&gate] { gate.open(); });
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(opener->wait(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), 0);
}

void tst_GoRoutineMapFeatures::waitFromInsideOperationReturnsAtOnce()
{
    LogCapture log;
    GoRoutineMap map;
    map.setMaxConcurrency(1); // waiting for itself would deadlock the only thread
    std::atomic<int> waitResult{-1}, completionResult{-1};
    std::atomic<qint64> elapsedMs{-1};
    std::atomic<bool> voidCallsReturned{false};
    QVERIFY(!map.run(kName, [&] {
        QElapsedTimer timer;
        timer.start();
        completionResult = map.waitForCompletion(QDeadlineTimer(30000)) ? 1 : 0;
        waitResult = map.wait(QDeadlineTimer(30000)) ? 1 : 0;
        map.wait();
        map.waitForCompletion();
        voidCallsReturned = true;
        elapsedMs = timer.elapsed();
        return Error();
    }));
    QVERIFY2(map.waitForCompletion(QDeadlineTimer(60000)),
             "the operation deadlocked waiting for itself");
    QCOMPARE(completionResult.load(), 0);
    QCOMPARE(waitResult.load(), 0);
    QVERIFY(voidCallsReturned);
    QVERIFY2(elapsedMs.load() < 5000, qPrintable(QString::number(elapsedMs.load())));
    QVERIFY2(!log.warnings().isEmpty(), "no warning about waiting from inside an operation");
}

void tst_GoRoutineMapFeatures::waitOnOtherMapFromInsideOperation()
{
    // Only waiting for itself is refused: an operation may wait for another map.
    GoRoutineMap outer;
    GoRoutineMap inner;
    std::atomic<int> result{-1};
    QVERIFY(!inner.run(QStringLiteral("inner"), noop()));
    QVERIFY(!outer.run(QStringLiteral("outer"), [&] {
        result = inner.wait(QDeadlineTimer(kTimeoutMs)) ? 1 : 0;
        return Error();
    }));
    QVERIFY(outer.waitForCompletion(QDeadlineTimer(kTimeoutMs * 2)));
    QCOMPARE(result.load(), 1);
}

// --- pool control -----------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::defaultPool()
{
    GoRoutineMap map;
    QCOMPARE(map.maxConcurrency(), QThread::idealThreadCount());
    QVERIFY(map.threadPool() != nullptr);
    QVERIFY(map.threadPool() != QThreadPool::globalInstance());
    QCOMPARE(map.threadPool()->maxThreadCount(), QThread::idealThreadCount());

    // Operations run on the map's pool, never on the global one.
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());
    QCOMPARE(map.threadPool()->activeThreadCount(), 1);
    QCOMPARE(QThreadPool::globalInstance()->activeThreadCount(), 0);
    gate.open();
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::setMaxConcurrency()
{
    GoRoutineMap map;
    QSignalSpy changed(&map, &GoRoutineMap::maxConcurrencyChanged);
    const int initial = map.maxConcurrency();
    const int other = initial == 3 ? 5 : 3;
    map.setMaxConcurrency(other);
    QCOMPARE(map.maxConcurrency(), other);
    QCOMPARE(map.threadPool()->maxThreadCount(), other);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toInt(), other);
    map.setMaxConcurrency(other);
    QCOMPARE(changed.count(), 1); // unchanged: no signal

    map.setMaxConcurrency(0); // at least 1
    QCOMPARE(map.maxConcurrency(), 1);
    map.setMaxConcurrency(-7);
    QCOMPARE(map.maxConcurrency(), 1);

    QVERIFY(map.setProperty("maxConcurrency", 2));
    QCOMPARE(map.maxConcurrency(), 2);
    QCOMPARE(map.property("maxConcurrency").toInt(), 2);
}

void tst_GoRoutineMapFeatures::maxConcurrencyIsRespected()
{
    GoRoutineMap map;
    map.setMaxConcurrency(2);
    std::atomic<int> active{0}, maxActive{0};
    Gate gate;
    auto op = [&, b = gate.blocker()] {
        const int now = ++active;
        int seen = maxActive.load();
        while (now > seen && !maxActive.compare_exchange_weak(seen, now)) { }
        b();
        --active;
        return Error();
    };
    for (int i = 0; i < 6; ++i)
        QVERIFY(!map.run(QStringLiteral("op-%1").arg(i), op));
    QVERIFY(gate.waitEntered(2));
    QVERIFY(!gate.waitEntered(1, 50)); // a third would exceed the limit
    QCOMPARE(map.pendingCount(), 6);
    for (int released = 0; released < 6; released += 2) {
        gate.open(2);
        if (released + 2 < 6)
            QVERIFY(gate.waitEntered(2));
    }
    map.waitForCompletion();
    QCOMPARE(maxActive.load(), 2);
}

void tst_GoRoutineMapFeatures::sharedThreadPool()
{
    QThreadPool shared;
    shared.setMaxThreadCount(1);
    {
        GoRoutineMap map;
        QSignalSpy changed(&map, &GoRoutineMap::maxConcurrencyChanged);
        map.setThreadPool(&shared);
        QCOMPARE(map.threadPool(), &shared);
        QCOMPARE(map.maxConcurrency(), 1);

        Gate gate;
        QVERIFY(!map.run(kName, gate.operation()));
        QVERIFY(gate.waitEntered());
        QCOMPARE(shared.activeThreadCount(), 1);

        map.setMaxConcurrency(4); // the pool's owner sizes it
        QCOMPARE(shared.maxThreadCount(), 1);
        gate.open();
        map.waitForCompletion();

        map.setThreadPool(nullptr);
        QVERIFY(map.threadPool() != &shared);
        QVERIFY(map.threadPool() != QThreadPool::globalInstance());
        QVERIFY(!map.run(QStringLiteral("own pool"), noop()));
        map.waitForCompletion();
        Q_UNUSED(changed);
    }
    // The map did not take the pool with it.
    std::atomic<bool> ran{false};
    reliability::startOnPool(shared, [&ran] { ran = true; });
    QVERIFY(shared.waitForDone(kTimeoutMs));
    QVERIFY(ran);
}

void tst_GoRoutineMapFeatures::sharedPoolDestructionNeverStartsQueued()
{
    QThreadPool shared; // outlives the map: its queue must not keep the map's runs
    shared.setMaxThreadCount(1);
    auto queuedRan = std::make_shared<std::atomic<int>>(0);
    auto sawCancel = std::make_shared<std::atomic<bool>>(false);
    {
        GoRoutineMap map;
        map.setThreadPool(&shared);
        QSemaphore entered;
        QVERIFY(!map.run(QStringLiteral("running"), [&entered, sawCancel](OperationContext &ctx) {
            entered.release();
            *sawCancel = waitForCancellation(ctx);
            return Error();
        }));
        QVERIFY(entered.tryAcquire(1, kTimeoutMs));
        for (int i = 0; i < 3; ++i) {
            QVERIFY(!map.run(QStringLiteral("queued-%1").arg(i), [queuedRan] {
                ++*queuedRan;
                return Error();
            }));
        }
    }
    QVERIFY(shared.waitForDone(kTimeoutMs));
    QVERIFY(*sawCancel);
    QCOMPARE(queuedRan->load(), 0);
}

// --- automatic retry --------------------------------------------------------------------------

void tst_GoRoutineMapFeatures::raisingMaxConcurrencyServesQueuedRuns()
{
    // A run queued behind a long one starts as soon as there is room for it, not when the
    // next run() comes or the long one returns.
    GoRoutineMap map;
    map.setMaxConcurrency(1);
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation()));
    QVERIFY(gate.waitEntered());
    QSemaphore queuedRan;
    QVERIFY(!map.run(QStringLiteral("queued"), [&queuedRan] {
        queuedRan.release();
        return Error();
    }));
    QCOMPARE(map.operationInfo(QStringLiteral("queued")).state, OperationInfo::State::Queued);

    map.setMaxConcurrency(2);
    QVERIFY2(queuedRan.tryAcquire(1, kTimeoutMs), "the queued run waited for the long one");
    QVERIFY(map.isOperationPending(kName));
    gate.open();
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
}

void tst_GoRoutineMapFeatures::newPoolServesQueuedRunsWhileOldPoolIsBusy()
{
    // Drainers still busy on the map's own pool must not take the new pool's places.
    QThreadPool shared;
    shared.setMaxThreadCount(1);
    GoRoutineMap map;
    map.setMaxConcurrency(2);
    Gate gate;
    QVERIFY(!map.run(QStringLiteral("long 1"), gate.operation()));
    QVERIFY(!map.run(QStringLiteral("long 2"), gate.operation()));
    QVERIFY(gate.waitEntered(2));
    QSemaphore queuedRan;
    QVERIFY(!map.run(kName, [&queuedRan] {
        queuedRan.release();
        return Error();
    }));

    map.setThreadPool(&shared);
    QVERIFY2(queuedRan.tryAcquire(1, kTimeoutMs), "the new pool did not take the queued run");
    QSemaphore laterRan;
    QVERIFY(!map.run(QStringLiteral("later"), [&laterRan] {
        laterRan.release();
        return Error();
    }));
    QVERIFY(laterRan.tryAcquire(1, kTimeoutMs));
    QTRY_COMPARE_WITH_TIMEOUT(map.pendingCount(), 2, kTimeoutMs); // the long ones
    gate.open(2);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(shared.waitForDone(kTimeoutMs));
}

void tst_GoRoutineMapFeatures::drainerClearedFromSharedPoolIsReplaced()
{
    // The application clears its pool's queue, which held the task that would have run the
    // map's operations: the map must start another, not wait for good. Its thread's event
    // loop does that, and so does a wait without one.
    QThreadPool shared;
    shared.setMaxThreadCount(1);
    GoRoutineMap map;
    map.setThreadPool(&shared);
    for (const bool eventLoop : {true, false}) {
        const QString name = eventLoop ? QStringLiteral("with event loop") : kName;
        reliability::Gate appTask;
        reliability::startOnPool(shared, appTask.blocker());
        QVERIFY(appTask.waitEntered(1, kTimeoutMs));
        std::atomic<bool> ran{false};
        QVERIFY(!map.run(name, [&ran] {
            ran = true;
            return Error();
        }));
        shared.clear();
        QVERIFY(!ran);
        appTask.open();
        if (eventLoop)
            QTRY_VERIFY_WITH_TIMEOUT(ran, kTimeoutMs);
        QVERIFY2(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)), qPrintable(name));
        QVERIFY(ran);
    }
    QVERIFY(!map.run(QStringLiteral("next"), noop()));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
}

namespace {
// Runs \a onDestruction when the operation that captured it lets it go: an application's
// captured object may call the map from its destructor (a guard that reports, a handle that
// starts follow-up work).
struct OnDestruction
{
    explicit OnDestruction(std::function<void()> f) : onDestruction(std::move(f)) { }
    OnDestruction(const OnDestruction &) = delete;
    OnDestruction &operator=(const OnDestruction &) = delete;
    ~OnDestruction() { onDestruction(); }
    std::function<void()> onDestruction;
};
} // namespace

void tst_GoRoutineMapFeatures::capturedStateIsReleasedOutsideTheMapsLocks_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::addColumn<int>("retries");
    QTest::addColumn<bool>("fails");
    QTest::addColumn<bool>("canceled");
    QTest::newRow("success") << false << 0 << false << false;
    QTest::newRow("failure, backoff off, retries asked for") << false << 3 << true << false;
    QTest::newRow("failure, backoff on") << true << 0 << true << false;
    QTest::newRow("failure, retries used up") << true << 1 << true << false;
    QTest::newRow("canceled while running, retries left") << true << 1 << true << true;
}

void tst_GoRoutineMapFeatures::capturedStateIsReleasedOutsideTheMapsLocks()
{
    QFETCH(bool, backoff);
    QFETCH(int, retries);
    QFETCH(bool, fails);
    QFETCH(bool, canceled);
    GoRoutineMap map(backoff);
    map.setBackoffPolicy(fastPolicy(1ms, 1ms));
    auto destroyed = std::make_shared<std::atomic<bool>>(false);
    // Under one of the map's locks these calls would deadlock.
    auto probe = std::make_shared<OnDestruction>([&map, destroyed] {
        map.isOperationPending(kName);
        map.operationInfo(kName);
        map.run(kName + QStringLiteral(" follow-up"), noop());
        *destroyed = true;
    });
    QSemaphore running;
    const Error result = fails ? Error(QStringLiteral("fails")) : Error();
    QVERIFY(!map.run(
            kName,
            [probe = std::move(probe), &running, canceled, result](OperationContext &ctx) {
                running.release();
                if (canceled)
                    waitForCancellation(ctx);
                return result;
            },
            RunOptions{retries}));
    QVERIFY(running.tryAcquire(1, kTimeoutMs));
    if (canceled)
        QVERIFY(map.cancel(kName));
    QTRY_VERIFY_WITH_TIMEOUT(*destroyed, kTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(map.waitForCompletion(QDeadlineTimer(0)), kTimeoutMs);
    QVERIFY(!map.isOperationPending(kName + QStringLiteral(" follow-up")));
}

void tst_GoRoutineMapFeatures::waitFromCapturedDestructorReturnsAtOnce()
{
    // The captures go while the name is still pending: a wait there would wait for itself.
    LogCapture log;
    GoRoutineMap map;
    std::atomic<int> waited{-1};
    std::atomic<qint64> elapsedMs{-1};
    auto probe = std::make_shared<OnDestruction>([&] {
        QElapsedTimer timer;
        timer.start();
        map.waitForCompletion(); // the endless one: it must not block here
        waited = map.wait(QDeadlineTimer(kTimeoutMs)) ? 1 : 0;
        elapsedMs = timer.elapsed();
    });
    QVERIFY(!map.run(kName, [probe = std::move(probe)] { return Error(); }));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QTRY_COMPARE_WITH_TIMEOUT(waited.load(), 0, kTimeoutMs);
    QVERIFY2(elapsedMs < kTimeoutMs / 2, qPrintable(QString::number(elapsedMs)));
    QVERIFY(log.contains({QStringLiteral("inside one of the map's own operations")}));
}

void tst_GoRoutineMapFeatures::cancelFromCapturedDestructorKeepsTheOutcome()
{
    // The function has returned its failure before its captures go: a cancel() from one of
    // their destructors must not turn that failure into a cancellation.
    LogCapture log;
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    auto probe = std::make_shared<OnDestruction>([&map] { map.cancel(kName); });
    QVERIFY(!map.run(kName, [probe = std::move(probe)] { return Error(QStringLiteral("fails")); }));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    flushEvents();
    QCOMPARE(failed.count(), 1);
    QCOMPARE(canceled.count(), 0);
    QVERIFY(isExponentialBackoff(map.run(kName, noop())));
}

void tst_GoRoutineMapFeatures::waitWhileTheMapIsDestroyedReturnsAtOnce()
{
    // The destructor drops a queued run whose capture waits on the map, while the running
    // operation only ends once the destructor cancels it: that wait must not block.
    LogCapture log;
    auto map = std::make_unique<GoRoutineMap>();
    map->setMaxConcurrency(1);
    QSemaphore running;
    QVERIFY(!map->run(kName, [&running](OperationContext &ctx) {
        running.release();
        waitForCancellation(ctx);
        return Error();
    }));
    QVERIFY(running.tryAcquire(1, kTimeoutMs));
    std::atomic<int> waited{-1};
    GoRoutineMap *raw = map.get();
    auto probe = std::make_shared<OnDestruction>([raw, &waited] {
        waited = raw->waitForCompletion(QDeadlineTimer(kTimeoutMs)) ? 1 : 0;
    });
    QVERIFY(!map->run(QStringLiteral("queued"), [probe = std::move(probe)] { return Error(); }));
    probe.reset();
    QElapsedTimer timer;
    timer.start();
    map.reset();
    QCOMPARE(waited.load(), 0);
    QVERIFY2(timer.elapsed() < kTimeoutMs / 2, qPrintable(QString::number(timer.elapsed())));
    QVERIFY(log.contains({QStringLiteral("being destroyed")}));
}

void tst_GoRoutineMapFeatures::autoRetryUntilSuccess()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 40ms));
    QSignalSpy started(&map, &GoRoutineMap::operationStarted);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    QVERIFY(!map.run(
            kName,
            [attempts] { return ++*attempts < 3 ? Error(QStringLiteral("not yet")) : Error(); },
            RunOptions{5}));

    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(attempts->load(), 3);
    QCOMPARE(failed.count(), 2);
    QCOMPARE(started.count(), 3); // each attempt is signalled
    QCOMPARE(finished.count(), 1);
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs))); // the success cleared the history
}

void tst_GoRoutineMapFeatures::autoRetryUsedUp()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 20ms));
    QSignalSpy started(&map, &GoRoutineMap::operationStarted);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy expired(&map, &GoRoutineMap::backoffExpired);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    QVERIFY(!map.run(
            kName,
            [attempts] {
                ++*attempts;
                return Error(QStringLiteral("always"));
            },
            RunOptions{2}));

    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 3, kTimeoutMs); // the run and two retries
    // Once the last window ends nothing runs again by itself.
    QTRY_COMPARE_WITH_TIMEOUT(expired.count(), 3, kTimeoutMs);
    flushEvents();
    QCOMPARE(attempts->load(), 3);
    QCOMPARE(started.count(), 3);
    QVERIFY(!map.isOperationPending(kName));
    QCOMPARE(map.operationInfo(kName).failureCount, 3);
    QCOMPARE(map.operationInfo(kName).state, OperationInfo::State::ReadyToRetry);
}

void tst_GoRoutineMapFeatures::autoRetryContextOverload()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 20ms));
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    QVERIFY(!map.run(
            kName,
            [attempts](OperationContext &ctx) {
                ctx.setProgress(50);
                return ++*attempts < 2 ? Error(QStringLiteral("once")) : Error();
            },
            RunOptions{1}));
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(attempts->load(), 2);
}

void tst_GoRoutineMapFeatures::autoRetryNeedsBackoff()
{
    // Documented: automatic retry needs backoff on; without it a failure is simply a failure.
    GoRoutineMap map(false);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    auto attempts = std::make_shared<std::atomic<int>>(0);
    QVERIFY(!map.run(
            kName,
            [attempts] {
                ++*attempts;
                return Error(QStringLiteral("fails"));
            },
            RunOptions{3}));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    map.waitForCompletion();
    flushEvents();
    QCOMPARE(attempts->load(), 1);
    QVERIFY(!map.operationInfo(kName).isValid());
    QVERIFY(!map.run(kName, noop()));
    map.waitForCompletion();
}

void tst_GoRoutineMapFeatures::cancelDropsScheduledRetries()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy()); // the retry would come only after a minute
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    QVERIFY(!map.run(kName, failing(), RunOptions{3}));
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeoutMs);
    QCOMPARE(map.operationInfo(kName).state, OperationInfo::State::BackingOff);

    QCOMPARE(map.cancelAll(), 1); // counts the scheduled retry
    QTRY_COMPARE_WITH_TIMEOUT(canceled.count(), 1, kTimeoutMs);
    QCOMPARE(canceled.at(0).at(0).toString(), kName);
    // Nothing left to cancel; the failure history stays.
    QVERIFY(!map.cancel(kName));
    QCOMPARE(map.operationInfo(kName).failureCount, 1);
    QVERIFY(isExponentialBackoff(map.run(kName, noop())));
}

void tst_GoRoutineMapFeatures::cancelRunningSignalsRequest()
{
    GoRoutineMap map;
    QSignalSpy requested(&map, &GoRoutineMap::cancellationRequested);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    Gate gate;
    QVERIFY(!map.run(kName, gate.operation(Error())));
    QVERIFY(gate.waitEntered());
    QVERIFY(map.cancel(kName));
    QVERIFY(requested.wait(kTimeoutMs));
    QCOMPARE(requested.at(0).at(0).toString(), kName);
    QVERIFY(map.operationInfo(kName).cancellationRequested);
    QCOMPARE(canceled.count(), 0); // not until the function returns
    gate.open();
    QTRY_COMPARE_WITH_TIMEOUT(canceled.count(), 1, kTimeoutMs);
    QCOMPARE(requested.count(), 1);
}

void tst_GoRoutineMapFeatures::resetBackoffWhileRunningSignalsReset()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(fastPolicy(20ms, 1000ms));
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy reset(&map, &GoRoutineMap::backoffReset);
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    RunUntilAccepted fail{map, kName, failing()};
    QTRY_VERIFY2_WITH_TIMEOUT(fail(), qPrintable(fail.last.message()), kTimeoutMs);
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeoutMs);

    Gate gate;
    RunUntilAccepted running{map, kName, gate.operation(Error())};
    QTRY_VERIFY2_WITH_TIMEOUT(running(), qPrintable(running.last.message()), kTimeoutMs);
    QVERIFY(gate.waitEntered());
    QVERIFY(map.resetBackoff(kName));
    QVERIFY(reset.wait(kTimeoutMs));
    QCOMPARE(reset.at(0).at(0).toString(), kName);
    QCOMPARE(removed.count(), 0); // still pending, so still in the map
    gate.open();
}

void tst_GoRoutineMapFeatures::slowReceiversDoNotFreezeTheMapThread()
{
    GoRoutineMap map;
    constexpr int count = 1000;
    int delivered = 0;
    connect(&map, &GoRoutineMap::operationFinished, this, [&delivered] {
        // A slow receiver: 0.2 ms of work per signal, 200 ms for the whole batch.
        QElapsedTimer spin;
        spin.start();
        while (spin.nsecsElapsed() < 200000) { }
        ++delivered;
    });
    for (int i = 0; i < count; ++i)
        QVERIFY(!map.run(QString::number(i), noop()));
    map.waitForCompletion(); // every signal now waits in one batch
    int deliveredWhenOtherEventsRan = -1;
    QMetaObject::invokeMethod(
            this, [&] { deliveredWhenOtherEventsRan = delivered; }, Qt::QueuedConnection);
    QTRY_COMPARE_WITH_TIMEOUT(delivered, count, kTimeoutMs);
    // The batch yielded to the event queued behind it long before it was done.
    QVERIFY2(deliveredWhenOtherEventsRan >= 0 && deliveredWhenOtherEventsRan < count / 2,
             qPrintable(QString::number(deliveredWhenOtherEventsRan)));
}

void tst_GoRoutineMapFeatures::deliveredBurstLeavesNoMemoryBehind()
{
#if !defined(__GLIBC__)
    QSKIP("measures the heap with glibc's mallinfo2()");
#else
    const auto heapInUse = [] {
        const struct mallinfo2 info = mallinfo2();
        return qint64(info.uordblks + info.hblkhd);
    };
    constexpr int count = 100000;
    QStringList names;
    names.reserve(count);
    for (int i = 0; i < count; ++i)
        names.append(QStringLiteral("burst/%1").arg(i));
    GoRoutineMap map;
    int delivered = 0;
    connect(&map, &GoRoutineMap::operationFinished, this, [&delivered] { ++delivered; });

    const qint64 before = heapInUse();
    for (const QString &name : std::as_const(names))
        QVERIFY(!map.run(name, noop()));
    map.waitForCompletion(); // this thread has not delivered any of the signals yet
    const qint64 queued = heapInUse() - before;
    if (queued < 1024 * 1024) // 100,000 queued signals take megabytes
        QSKIP("mallinfo2() does not see this allocator (a sanitizer's)");
    QTRY_COMPARE_WITH_TIMEOUT(delivered, count, kTimeoutMs);
    // Once the burst's signals are delivered, the map keeps next to nothing of their memory.
    // (Some stays: the pool threads' allocator caches, the small queues the map keeps.)
    const qint64 kept = heapInUse() - before;
    QVERIFY2(kept < queued / 10,
             qPrintable(QStringLiteral("%1 of %2 bytes still allocated").arg(kept).arg(queued)));
#endif
}

// More failed names than the shards' young arrays hold (16 x 4,096 slots), so that most move
// to the old arrays and are found there through the filters: refused and reported like any
// other name, reset and forgotten, while new names beside them run and leave.
void tst_GoRoutineMapFeatures::namesBeyondTheYoungArrays()
{
    GoRoutineMap map(true);
    QVERIFY(map.setBackoffPolicy(longPolicy()));
    constexpr int n = 70000;
    const auto failed = [](int i) { return QStringLiteral("failed/%1").arg(i); };
    const auto countAccepted = [&map](int from, int to, int step, auto name,
                                      const GoRoutineMap::OperationFunc &func) {
        int accepted = 0;
        for (int i = from; i < to; i += step)
            accepted += map.run(name(i), func).isError() ? 0 : 1;
        return accepted;
    };
    QCOMPARE(countAccepted(0, n, 1, failed, failing()), n);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), n);
    for (int i = 0; i < n; i += 997) {
        QCOMPARE(map.run(failed(i), noop()).kind(), Error::Kind::ExponentialBackoff);
        QCOMPARE(map.operationInfo(failed(i)).state, OperationInfo::State::BackingOff);
        QVERIFY(!map.isOperationPending(failed(i)));
    }

    const auto fresh = [](int i) { return QStringLiteral("new/%1").arg(i); };
    QCOMPARE(countAccepted(0, n, 1, fresh, noop()), n);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), n);

    int reset = 0;
    for (int i = 0; i < n; i += 2)
        reset += map.resetBackoff(failed(i)) ? 1 : 0;
    QCOMPARE(reset, n / 2);
    QCOMPARE(countAccepted(0, n, 2, failed, noop()), n / 2);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), n / 2);
    QCOMPARE(countAccepted(1, n, 2, failed, noop()), 0); // still backing off

    // Turning backoff off forgets the rest.
    map.setExponentialBackOffOnError(false);
    QCOMPARE(map.count(), 0);
    QCOMPARE(countAccepted(1, n, 2, failed, noop()), n / 2);
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), 0);
}

QTEST_GUILESS_MAIN(tst_GoRoutineMapFeatures)
#include "tst_goroutinemap_features.moc"
