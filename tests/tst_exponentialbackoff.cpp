// SPDX-License-Identifier: Apache-2.0
// Tests of the backoff value types (BackoffPolicy, ExponentialBackoff) with explicit "now"
// time points, so every boundary is exact and no test waits.

#include <goroutinemap/exponentialbackoff.h>

#include <QTest>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Clock;
using goroutinemap::Error;
using goroutinemap::ExponentialBackoff;

namespace {

const QString kName = QStringLiteral("operation-name");

// An arbitrary monotonic origin far from zero, so "elapsed" never underflows.
Clock::time_point origin()
{
    return Clock::time_point(std::chrono::hours(1000));
}

QDateTime wallOrigin()
{
    return QDateTime(QDate(2030, 1, 2), QTime(3, 4, 5));
}

BackoffPolicy smallPolicy()
{
    BackoffPolicy p;
    p.setInitialDelay(20ms);
    p.setMultiplier(3.0);
    p.setMaximumDelay(100ms);
    return p;
}

} // namespace

class tst_ExponentialBackoff : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // BackoffPolicy
    void policyDefaultsAreKubernetes();
    void policyValidity_data();
    void policyValidity();
    void delayForFailureDoublesAndCaps();
    void delayForFailureCustomPolicy();
    void delayNeverOverflowsOrShrinks_data();
    void delayNeverOverflowsOrShrinks();
    void policyEquality();

    // ExponentialBackoff
    void freshStateAllowsRetry();
    void firstFailureStartsAtInitialDelay();
    void refusedWhileElapsedAtMostDuration();
    void refusalCarriesDetails();
    void doublingSequenceAndCap();
    void millionFailuresHoldAtMaximum();
    void customPolicyUsedByUpdate();
    void resetForgetsHistory();
    void decisionsIgnoreWallClock();
    void updateWithClockNowOverload();
    void noRetriesPermittedMessage();
    void jitterStaysInBounds();
    void timeBeforeLastErrorNeverNegative();
    void hugeWindowStillRefuses();
};

void tst_ExponentialBackoff::policyDefaultsAreKubernetes()
{
    const BackoffPolicy p;
    QCOMPARE(p.initialDelay(), 500ms);
    QCOMPARE(p.multiplier(), 2.0);
    QCOMPARE(p.maximumDelay(), 122000ms); // 2 min 2 s
    QCOMPARE(p.jitter(), 0.0);
    QCOMPARE(p.resetAfter(), 0ms);
    QCOMPARE(BackoffPolicy::defaultInitialDelay, 500ms);
    QCOMPARE(BackoffPolicy::defaultMaximumDelay, 122000ms);
    QString why = QStringLiteral("untouched");
    QVERIFY(p.isValid(&why));
    QVERIFY(p.isValid());
}

void tst_ExponentialBackoff::policyValidity_data()
{
    QTest::addColumn<qint64>("initialMs");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<qint64>("maximumMs");
    QTest::addColumn<double>("jitter");
    QTest::addColumn<qint64>("resetAfterMs");
    QTest::addColumn<bool>("valid");

    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    QTest::newRow("defaults") << qint64(500) << 2.0 << qint64(122000) << 0.0 << qint64(0) << true;
    QTest::newRow("multiplier 1") << qint64(500) << 1.0 << qint64(122000) << 0.0 << qint64(0)
                                  << true;
    QTest::newRow("initial == maximum")
            << qint64(1000) << 2.0 << qint64(1000) << 0.0 << qint64(0) << true;
    QTest::newRow("zero delays") << qint64(0) << 2.0 << qint64(0) << 0.0 << qint64(0) << true;
    QTest::newRow("jitter 1") << qint64(500) << 2.0 << qint64(122000) << 1.0 << qint64(0) << true;
    QTest::newRow("resetAfter set")
            << qint64(500) << 2.0 << qint64(122000) << 0.0 << qint64(60000) << true;
    QTest::newRow("negative initial")
            << qint64(-1) << 2.0 << qint64(122000) << 0.0 << qint64(0) << false;
    QTest::newRow("negative maximum")
            << qint64(0) << 2.0 << qint64(-1) << 0.0 << qint64(0) << false;
    QTest::newRow("multiplier < 1")
            << qint64(500) << 0.99 << qint64(122000) << 0.0 << qint64(0) << false;
    QTest::newRow("multiplier 0") << qint64(500) << 0.0 << qint64(122000) << 0.0 << qint64(0)
                                  << false;
    QTest::newRow("multiplier NaN")
            << qint64(500) << nan << qint64(122000) << 0.0 << qint64(0) << false;
    QTest::newRow("multiplier inf")
            << qint64(500) << inf << qint64(122000) << 0.0 << qint64(0) << false;
    QTest::newRow("initial > maximum")
            << qint64(2000) << 2.0 << qint64(1000) << 0.0 << qint64(0) << false;
    QTest::newRow("jitter < 0") << qint64(500) << 2.0 << qint64(122000) << -0.01 << qint64(0)
                                << false;
    QTest::newRow("jitter > 1") << qint64(500) << 2.0 << qint64(122000) << 1.01 << qint64(0)
                                << false;
    QTest::newRow("jitter NaN") << qint64(500) << 2.0 << qint64(122000) << nan << qint64(0)
                                << false;
    QTest::newRow("negative resetAfter")
            << qint64(500) << 2.0 << qint64(122000) << 0.0 << qint64(-5) << false;
}

void tst_ExponentialBackoff::policyValidity()
{
    QFETCH(qint64, initialMs);
    QFETCH(double, multiplier);
    QFETCH(qint64, maximumMs);
    QFETCH(double, jitter);
    QFETCH(qint64, resetAfterMs);
    QFETCH(bool, valid);

    BackoffPolicy p;
    p.setInitialDelay(std::chrono::milliseconds(initialMs));
    p.setMultiplier(multiplier);
    p.setMaximumDelay(std::chrono::milliseconds(maximumMs));
    p.setJitter(jitter);
    p.setResetAfter(std::chrono::milliseconds(resetAfterMs));
    QString why;
    QCOMPARE(p.isValid(&why), valid);
    QCOMPARE(p.isValid(), valid);
    if (!valid)
        QVERIFY2(!why.isEmpty(), "an invalid policy must say what is wrong");
}

void tst_ExponentialBackoff::delayForFailureDoublesAndCaps()
{
    const BackoffPolicy p;
    const qint64 expected[] = {500,   1000,  2000,   4000,   8000,  16000,
                               32000, 64000, 122000, 122000, 122000};
    for (int i = 0; i < int(std::size(expected)); ++i)
        QCOMPARE(p.delayForFailure(i + 1).count(), expected[i]);
}

void tst_ExponentialBackoff::delayForFailureCustomPolicy()
{
    const BackoffPolicy p = smallPolicy();
    QCOMPARE(p.delayForFailure(1), 20ms);
    QCOMPARE(p.delayForFailure(2), 60ms);
    QCOMPARE(p.delayForFailure(3), 100ms); // 180 capped
    QCOMPARE(p.delayForFailure(4), 100ms);

    BackoffPolicy constant;
    constant.setMultiplier(1.0);
    QCOMPARE(constant.delayForFailure(1), 500ms);
    QCOMPARE(constant.delayForFailure(1000), 500ms);

    BackoffPolicy fractional;
    fractional.setInitialDelay(100ms);
    fractional.setMultiplier(1.5);
    fractional.setMaximumDelay(10000ms);
    QCOMPARE(fractional.delayForFailure(2), 150ms);
    QCOMPARE(fractional.delayForFailure(3), 225ms);
}

void tst_ExponentialBackoff::delayNeverOverflowsOrShrinks_data()
{
    QTest::addColumn<qint64>("initialMs");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<qint64>("maximumMs");

    const qint64 huge = std::numeric_limits<qint64>::max();
    QTest::newRow("defaults") << qint64(500) << 2.0 << qint64(122000);
    QTest::newRow("huge maximum") << qint64(1) << 10.0 << huge;
    QTest::newRow("huge multiplier") << qint64(1) << 1e300 << huge;
    QTest::newRow("huge initial") << huge / 2 << 2.0 << huge;
    QTest::newRow("multiplier 1") << qint64(7) << 1.0 << qint64(7);
    QTest::newRow("zero initial") << qint64(0) << 2.0 << qint64(1000);
}

void tst_ExponentialBackoff::delayNeverOverflowsOrShrinks()
{
    QFETCH(qint64, initialMs);
    QFETCH(double, multiplier);
    QFETCH(qint64, maximumMs);

    BackoffPolicy p;
    p.setInitialDelay(std::chrono::milliseconds(initialMs));
    p.setMultiplier(multiplier);
    p.setMaximumDelay(std::chrono::milliseconds(maximumMs));
    QVERIFY(p.isValid());

    std::chrono::milliseconds previous = p.delayForFailure(1);
    QCOMPARE(previous.count(), initialMs);
    const qint64 counts[] = {2,  3,   10,   63,      64,
                             65, 100, 1000, 1000000, std::numeric_limits<qint64>::max()};
    for (qint64 n : counts) {
        const std::chrono::milliseconds d = p.delayForFailure(n);
        QVERIFY2(d >= previous,
                 qPrintable(QStringLiteral("shrank at %1: %2 < %3")
                                    .arg(n)
                                    .arg(d.count())
                                    .arg(previous.count())));
        QVERIFY2(d.count() >= initialMs, qPrintable(QString::number(n)));
        QVERIFY2(d.count() <= maximumMs, qPrintable(QString::number(n)));
        previous = d;
    }
    // The cap holds for every row reaching it.
    if (multiplier > 1.0 && initialMs > 0)
        QCOMPARE(p.delayForFailure(std::numeric_limits<qint64>::max()).count(), maximumMs);
}

void tst_ExponentialBackoff::policyEquality()
{
    BackoffPolicy a, b;
    QVERIFY(a == b);
    b.setJitter(0.5);
    QVERIFY(a != b);
    b = a;
    b.setResetAfter(1ms);
    QVERIFY(a != b);
    b = a;
    b.setMultiplier(3.0);
    QVERIFY(a != b);
    b = a;
    b.setInitialDelay(1ms);
    QVERIFY(a != b);
    b = a;
    b.setMaximumDelay(1ms);
    QVERIFY(a != b);
}

void tst_ExponentialBackoff::freshStateAllowsRetry()
{
    const ExponentialBackoff b;
    QCOMPARE(b.failureCount(), qint64(0));
    QCOMPARE(b.durationBeforeRetry(), 0ms);
    QVERIFY(!b.lastError().isError());
    QVERIFY(b.policy() == BackoffPolicy());
    QVERIFY(!b.safeToRetry(kName, origin()).isError());
    QVERIFY(!b.safeToRetry(kName).isError());
    QVERIFY(!b.safeToRetry(kName, Clock::time_point{}).isError());
}

void tst_ExponentialBackoff::firstFailureStartsAtInitialDelay()
{
    ExponentialBackoff b;
    const Error failure(QStringLiteral("first failure"));
    b.update(failure, origin(), wallOrigin());
    QCOMPARE(b.failureCount(), qint64(1));
    QCOMPARE(b.durationBeforeRetry(), 500ms);
    QCOMPARE(b.lastError().text(), QStringLiteral("first failure"));
    QCOMPARE(b.lastErrorTime(), origin());
    QCOMPARE(b.lastErrorWallTime(), wallOrigin());
    QCOMPARE(b.retryDeadline(), origin() + 500ms);
}

void tst_ExponentialBackoff::refusedWhileElapsedAtMostDuration()
{
    ExponentialBackoff b;
    b.update(Error(QStringLiteral("x")), origin(), wallOrigin());

    QVERIFY(isExponentialBackoff(b.safeToRetry(kName, origin())));
    QVERIFY(isExponentialBackoff(b.safeToRetry(kName, origin() + 1ms)));
    QVERIFY(isExponentialBackoff(b.safeToRetry(kName, origin() + 499ms)));
    // Kubernetes: time.Since(lastErrorTime) <= durationBeforeRetry is still refused.
    QVERIFY2(isExponentialBackoff(b.safeToRetry(kName, origin() + 500ms)),
             "the boundary itself must be refused");
    // One tick past the boundary the retry is permitted (the clock is finer than a millisecond).
    QVERIFY2(!b.safeToRetry(kName, origin() + 500ms + Clock::duration(1)).isError(),
             "one clock tick past the boundary must be permitted (elapsed > duration)");
    QVERIFY(!b.safeToRetry(kName, origin() + 501ms).isError());
    QVERIFY(!b.safeToRetry(kName, origin() + std::chrono::hours(24 * 365)).isError());
}

void tst_ExponentialBackoff::refusalCarriesDetails()
{
    ExponentialBackoff b;
    b.update(Error(QStringLiteral("device busy")), origin(), wallOrigin());
    b.update(Error(QStringLiteral("still busy")), origin() + 600ms, wallOrigin().addMSecs(600));

    const Error err = b.safeToRetry(kName, origin() + 600ms + 250ms);
    QCOMPARE(err.kind(), Error::Kind::ExponentialBackoff);
    QVERIFY(goroutinemap::isExponentialBackoff(err));
    QCOMPARE(err.operationName(), kName);
    QCOMPARE(err.text(), QStringLiteral("still busy"));
    QCOMPARE(err.durationBeforeRetry(), 1000ms);
    QCOMPARE(err.retryAfter(), 750ms);
    QCOMPARE(err.failureCount(), 2);
    QCOMPARE(err.lastErrorTime(), wallOrigin().addMSecs(600));
    QVERIFY2(err.message().contains(QStringLiteral("\"operation-name\"")),
             qPrintable(err.message()));
    QVERIFY2(err.message().contains(QStringLiteral("still busy")), qPrintable(err.message()));

    // At the boundary nothing is left, and it is never negative.
    const Error atBoundary = b.safeToRetry(kName, origin() + 600ms + 1000ms);
    QVERIFY(isExponentialBackoff(atBoundary));
    QCOMPARE(atBoundary.retryAfter(), 0ms);
}

void tst_ExponentialBackoff::doublingSequenceAndCap()
{
    ExponentialBackoff b;
    const qint64 expected[] = {500,   1000,  2000,   4000,   8000,   16000,
                               32000, 64000, 122000, 122000, 122000, 122000};
    Clock::time_point now = origin();
    for (int i = 0; i < int(std::size(expected)); ++i) {
        b.update(Error(QStringLiteral("failure %1").arg(i)), now, wallOrigin());
        QCOMPARE(b.failureCount(), qint64(i + 1));
        QCOMPARE(b.durationBeforeRetry().count(), expected[i]);
        // Refused up to and including the deadline, permitted right after it.
        const std::chrono::milliseconds d(expected[i]);
        QVERIFY(isExponentialBackoff(b.safeToRetry(kName, now + d)));
        QVERIFY(!b.safeToRetry(kName, now + d + 1ms).isError());
        now += d + 1ms; // the next failure happens after a permitted retry
    }
}

void tst_ExponentialBackoff::millionFailuresHoldAtMaximum()
{
    ExponentialBackoff b;
    const Error failure(QStringLiteral("again"));
    const QDateTime wall = wallOrigin(); // built once: a local-time QDateTime is costly to make
    Clock::time_point now = origin();
    std::chrono::milliseconds previous{0};
    for (int i = 0; i < 1000000; ++i) {
        b.update(failure, now, wall);
        const std::chrono::milliseconds d = b.durationBeforeRetry();
        if (d < previous || d < 500ms || d > 122000ms)
            QFAIL(qPrintable(QStringLiteral("failure %1: window %2 ms (previous %3 ms)")
                                     .arg(i + 1)
                                     .arg(d.count())
                                     .arg(previous.count())));
        previous = d;
        now += 1ms;
    }
    QCOMPARE(b.durationBeforeRetry(), 122000ms);
    QCOMPARE(b.failureCount(), qint64(1000000));
    const Error err = b.safeToRetry(kName, now);
    QVERIFY(isExponentialBackoff(err));
    QVERIFY(err.retryAfter() >= 0ms);
    QVERIFY(err.retryAfter() <= 122000ms);
    QVERIFY(err.failureCount() > 0); // an int must not wrap negative
}

void tst_ExponentialBackoff::customPolicyUsedByUpdate()
{
    ExponentialBackoff b(smallPolicy());
    QVERIFY(b.policy() == smallPolicy());
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 20ms);
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 60ms);
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 100ms);
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 100ms);

    // A policy change applies to future failures.
    BackoffPolicy bigger = smallPolicy();
    bigger.setMaximumDelay(1000ms);
    b.setPolicy(bigger);
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QVERIFY(b.durationBeforeRetry() >= 100ms);
    QVERIFY(b.durationBeforeRetry() <= 1000ms);
}

void tst_ExponentialBackoff::resetForgetsHistory()
{
    ExponentialBackoff b;
    for (int i = 0; i < 5; ++i)
        b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 8000ms);
    b.reset();
    QCOMPARE(b.failureCount(), qint64(0));
    QCOMPARE(b.durationBeforeRetry(), 0ms);
    QVERIFY(!b.safeToRetry(kName, origin()).isError());
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), 500ms);
    QCOMPARE(b.failureCount(), qint64(1));
}

void tst_ExponentialBackoff::decisionsIgnoreWallClock()
{
    // The wall time is display-only: a failure "recorded" years in the past or future by the wall
    // clock is still refused for exactly its monotonic window.
    const QDateTime past(QDate(1971, 1, 1), QTime(0, 0));
    const QDateTime future(QDate(2099, 12, 31), QTime(23, 59));
    for (const QDateTime &wall : {past, future}) {
        ExponentialBackoff b;
        b.update(Error(QStringLiteral("e")), origin(), wall);
        QVERIFY(isExponentialBackoff(b.safeToRetry(kName, origin() + 500ms)));
        QVERIFY(!b.safeToRetry(kName, origin() + 501ms).isError());
        QCOMPARE(b.safeToRetry(kName, origin() + 100ms).retryAfter(), 400ms);
        QCOMPARE(b.safeToRetry(kName, origin() + 100ms).lastErrorTime(), wall);
    }
}

void tst_ExponentialBackoff::updateWithClockNowOverload()
{
    // The convenience overloads use the real clocks; a fresh failure is refused right away.
    ExponentialBackoff b;
    const Clock::time_point before = Clock::now();
    const QDateTime wallBefore = QDateTime::currentDateTime();
    b.update(Error(QStringLiteral("e")));
    QVERIFY(b.lastErrorTime() >= before);
    QVERIFY(b.lastErrorTime() <= Clock::now());
    QVERIFY(b.lastErrorWallTime() >= wallBefore.addSecs(-1));
    QVERIFY(isExponentialBackoff(b.safeToRetry(kName, b.lastErrorTime())));
    QVERIFY(!b.safeToRetry(kName, b.lastErrorTime() + 501ms).isError());
}

void tst_ExponentialBackoff::noRetriesPermittedMessage()
{
    ExponentialBackoff b;
    b.update(Error(QStringLiteral("the last error")), origin(), wallOrigin());
    const QString msg = b.generateNoRetriesPermittedMsg(kName);
    QVERIFY2(msg.contains(QStringLiteral("\"operation-name\"")), qPrintable(msg));
    // It says until when: wallOrigin() + 500 ms is 03:04:05.500 on 2030-01-02.
    QVERIFY2(msg.contains(QStringLiteral("2030")), qPrintable(msg));
    QVERIFY2(msg.contains(QStringLiteral("03:04:05")), qPrintable(msg));
}

void tst_ExponentialBackoff::jitterStaysInBounds()
{
    BackoffPolicy p;
    p.setJitter(0.5);
    ExponentialBackoff b(p);
    const QDateTime wall = wallOrigin();

    // 10,000 first failures: each window is in [500, 750] ms; jitter must really vary it.
    std::set<qint64> seen;
    for (int i = 0; i < 10000; ++i) {
        b.reset();
        b.update(Error(QStringLiteral("e")), origin(), wall);
        const qint64 d = b.durationBeforeRetry().count();
        if (d < 500 || d > 750)
            QFAIL(qPrintable(QStringLiteral("draw %1: %2 ms outside [500, 750]").arg(i).arg(d)));
        seen.insert(d);
    }
    QVERIFY2(seen.size() > 10, "jitter 0.5 produced (almost) no variation");

    // Along a whole sequence: failure n lies in [delay(n), min(max, delay(n) * 1.5)]; jitter
    // must not compound from one failure to the next.
    for (int run = 0; run < 200; ++run) {
        b.reset();
        for (int n = 1; n <= 14; ++n) {
            b.update(Error(QStringLiteral("e")), origin(), wall);
            const qint64 base = p.delayForFailure(n).count();
            const qint64 hi =
                    std::min<qint64>(p.maximumDelay().count(), qint64(std::ceil(base * 1.5)));
            const qint64 d = b.durationBeforeRetry().count();
            if (d < base || d > hi)
                QFAIL(qPrintable(QStringLiteral("failure %1: %2 ms outside [%3, %4]")
                                         .arg(n)
                                         .arg(d)
                                         .arg(base)
                                         .arg(hi)));
        }
    }
}

void tst_ExponentialBackoff::timeBeforeLastErrorNeverNegative()
{
    // A "now" before the failure (a caller's stale time point) is inside the window: refused,
    // and the time left never exceeds the window nor goes negative.
    ExponentialBackoff b;
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    const Error err = b.safeToRetry(kName, origin() - 10ms);
    QVERIFY(isExponentialBackoff(err));
    QVERIFY(err.retryAfter() >= 0ms);
    QVERIFY(err.retryAfter() <= 510ms);
}

void tst_ExponentialBackoff::hugeWindowStillRefuses()
{
    // A valid policy whose window is longer than the monotonic clock's range (about 292 years of
    // nanoseconds) must saturate, not overflow into "retry permitted".
    const auto thousandYears = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::hours(24 * 365 * 1000));
    BackoffPolicy p;
    p.setInitialDelay(thousandYears);
    p.setMaximumDelay(thousandYears);
    QVERIFY(p.isValid());
    ExponentialBackoff b(p);
    b.update(Error(QStringLiteral("e")), origin(), wallOrigin());
    QCOMPARE(b.durationBeforeRetry(), thousandYears);
    const Error err = b.safeToRetry(kName, origin() + std::chrono::hours(24));
    QVERIFY2(isExponentialBackoff(err),
             "a 1000-year window was not refused one day after the failure");
    QVERIFY(err.retryAfter() > 0ms);
}

QTEST_GUILESS_MAIN(tst_ExponentialBackoff)
#include "tst_exponentialbackoff.moc"
