// SPDX-License-Identifier: Apache-2.0
// Model-based tests: random sequences of steps, each applied both to the real thing and to a
// reference model of its semantics written here in a few dozen lines, and compared after every
// step. A failure prints the seed and the last steps; replay it with
//
//     GOROUTINEMAP_MODEL_SEED=<seed> build/tests/tst_model_based
//
// (GOROUTINEMAP_MODEL_STEPS sets the steps per run, at least 10,000.)
//
// - backoff: goroutinemap::ExponentialBackoff driven by a virtual clock (its overloads taking
//   "now"): fail / advance time (often to exactly the window's boundary) / check / reset /
//   change policy.
// - map: a GoRoutineMap whose operations block until the test tells each one how to end, so
//   that every step has a single correct outcome: run / runOrJoin / complete (succeed, fail,
//   throw a std::exception, throw something else) / cancel / reset / wait(0). The pool has two
//   threads, so runs queue (FIFO) and a queued run can be canceled before it starts. Backoff
//   windows are an hour (never pass during the test) or zero (always passed): the map's
//   clock is real, so the time side of backoff is the first model's.

#include <goroutinemap/goroutinemap.h>

#include "reliability_support.h"

#include <QFuture>
#include <QLoggingCategory>
#include <QScopeGuard>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Clock;
using goroutinemap::Error;
using goroutinemap::ExponentialBackoff;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;
using reliability::kTimeoutMs;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

quint32 seedFromEnvironment()
{
    return quint32(reliability::envInt("GOROUTINEMAP_MODEL_SEED", std::random_device{}()));
}

int stepsFromEnvironment()
{
    return int(std::max<qint64>(10000, reliability::envInt("GOROUTINEMAP_MODEL_STEPS", 10000)));
}

// The last steps taken, for the failure message.
class Trail
{
public:
    Trail(quint32 baseSeed, quint32 seed) : m_baseSeed(baseSeed), m_seed(seed) { }
    void add(int step, const QString &what)
    {
        m_lines.push_back(QStringLiteral("%1: %2").arg(step).arg(what));
        if (m_lines.size() > 25)
            m_lines.pop_front();
    }
    QByteArray report(const char *problem) const { return report(QString::fromUtf8(problem)); }
    QByteArray report(const QString &problem) const
    {
        QStringList lines(m_lines.begin(), m_lines.end());
        return (QStringLiteral(
                        "%1\nseed %2 (replay with GOROUTINEMAP_MODEL_SEED=%3); last steps:\n")
                        .arg(problem)
                        .arg(m_seed)
                        .arg(m_baseSeed)
                + lines.join(QLatin1Char('\n')))
                .toLocal8Bit();
    }

private:
    quint32 m_baseSeed;
    quint32 m_seed;
    std::deque<QString> m_lines;
};

#define MODEL_CHECK(cond, what)              \
  do {                                       \
    if (!(cond))                             \
      QFAIL(trail.report(what).constData()); \
  } while (false)

// ================================================================================================
// The backoff model: the window after n consecutive failures is initial * multiplier^(n-1),
// capped at the maximum; a retry is refused while (now - lastFailure) <= window.
// ================================================================================================

struct BackoffModel
{
    BackoffPolicy policy;
    qint64 failures = 0;
    milliseconds window{0};
    milliseconds windowCap{0}; // the maximum of the policy the window was computed with
    Clock::time_point lastFailure{};

    // Computed step by step (not with pow) so that it is an independent reading of the rule.
    milliseconds windowFor(qint64 n) const
    {
        long double w = (long double)policy.initialDelay().count();
        const long double cap = (long double)policy.maximumDelay().count();
        for (qint64 i = 1; i < n && w < cap; ++i)
            w *= (long double)policy.multiplier();
        return milliseconds(qint64(std::min(w, cap)));
    }
    void fail(Clock::time_point now)
    {
        ++failures;
        window = windowFor(failures);
        windowCap = policy.maximumDelay();
        lastFailure = now;
    }
    void reset()
    {
        failures = 0;
        window = milliseconds(0);
        lastFailure = Clock::time_point{};
    }
    // The time left before a retry is permitted; negative when permitted.
    nanoseconds left(Clock::time_point now) const { return (lastFailure + window) - now; }
};

BackoffPolicy randomPolicy(std::mt19937 &rng)
{
    const qint64 initials[] = {0, 1, 7, 500, 1000, 60000};
    const double multipliers[] = {1.0, 2.0, 3.0, 10.0, 1.5};
    const qint64 caps[] = {0, 1, 100, 122000, 3600000};
    BackoffPolicy p;
    p.setInitialDelay(milliseconds(initials[rng() % 6]));
    p.setMultiplier(multipliers[rng() % 5]);
    p.setMaximumDelay(std::max(p.initialDelay(), milliseconds(caps[rng() % 5])));
    return p;
}

// ================================================================================================
// The map model.
// ================================================================================================

constexpr int kNames = 6;
constexpr int kPoolThreads = 2;

QString nameOf(int i)
{
    return QStringLiteral("model-%1").arg(i);
}

// One operation the test controls: it blocks inside its function until told how to end.
struct Run
{
    enum Outcome { Pending, Succeed, Fail, ThrowStd, ThrowOther };

    int id = 0;
    int name = 0;
    bool context = false;

    std::mutex mutex;
    std::condition_variable cond;
    bool entered = false;
    Outcome outcome = Pending;
    bool sawCancel = false;

    void end(Outcome how)
    {
        {
            std::lock_guard lock(mutex);
            if (outcome == Pending)
                outcome = how;
        }
        cond.notify_all();
    }
    bool waitEntered()
    {
        std::unique_lock lock(mutex);
        return cond.wait_for(lock, milliseconds(kTimeoutMs), [&] { return entered; });
    }
    // The operation's body.
    Error body(const OperationContext *ctx)
    {
        Outcome how;
        {
            std::unique_lock lock(mutex);
            entered = true;
            cond.notify_all();
            if (!cond.wait_for(lock, std::chrono::seconds(120), [&] { return outcome != Pending; }))
                outcome = Fail; // a broken map must not hang the test forever
            how = outcome;
            sawCancel = ctx && ctx->isCancellationRequested();
        }
        switch (how) {
        case ThrowStd:
            throw std::runtime_error("model: thrown");
        case ThrowOther:
            throw 7;
        case Fail:
            return Error(QStringLiteral("model: failed"));
        default:
            return Error();
        }
    }
};

// What the model knows about one name.
struct ModelName
{
    bool held = false; // the map holds the name (pending, or with a failure history)
    bool pending = false;
    bool started = false;
    bool cancelRequested = false;
    int runId = -1;
    int failures = 0;
};

enum class Window { None, Hour, Zero };

struct Expected
{
    int name;
    char type; // Q S F X C R (queued, started, finished, failed, canceled, removed)
};

} // namespace

class tst_ModelBased : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void backoffMatchesModel_data();
    void backoffMatchesModel();
    void millionFailuresHoldAtMaximum_data();
    void millionFailuresHoldAtMaximum();
    void mapMatchesModel_data();
    void mapMatchesModel();
};

void tst_ModelBased::initTestCase()
{
    QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));
}

// --- ExponentialBackoff against its model, on a virtual clock ----------------------------------

void tst_ModelBased::backoffMatchesModel_data()
{
    QTest::addColumn<int>("run");
    for (int i = 0; i < 4; ++i)
        QTest::addRow("run %d", i) << i;
}

void tst_ModelBased::backoffMatchesModel()
{
    QFETCH(int, run);
    const quint32 baseSeed = seedFromEnvironment();
    const quint32 seed = baseSeed + quint32(run);
    const int steps = stepsFromEnvironment();
    std::mt19937 rng(seed);
    Trail trail(baseSeed, seed);

    BackoffModel model;
    model.policy = randomPolicy(rng);
    ExponentialBackoff real(model.policy);
    Clock::time_point now = Clock::time_point{} + std::chrono::hours(24 * 365); // virtual clock
    const QDateTime wallEpoch = QDateTime::fromMSecsSinceEpoch(1700000000000);
    const QString name = QStringLiteral("backoff");

    for (int step = 0; step < steps; ++step) {
        const int action = int(rng() % 100);
        if (action < 30) {
            trail.add(step, QStringLiteral("fail"));
            const QDateTime wall = wallEpoch.addMSecs(
                    std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count());
            real.update(Error(QStringLiteral("failure %1").arg(step)), now, wall);
            model.fail(now);
            MODEL_CHECK(real.lastError().text() == QStringLiteral("failure %1").arg(step),
                        "last error text");
            MODEL_CHECK(real.lastErrorWallTime() == wall, "wall time of the failure");
        } else if (action < 70) {
            // Advance the virtual clock, often to exactly the window's edge or a hair around it.
            const nanoseconds left = model.left(now);
            nanoseconds by{0};
            switch (rng() % 7) {
            case 0:
                by = nanoseconds(0);
                break;
            case 1:
                by = nanoseconds(1);
                break;
            case 2:
                by = left > nanoseconds(0) ? left : nanoseconds(0);
                break; // exactly at the boundary
            case 3:
                by = left > nanoseconds(0) ? left + nanoseconds(1) : nanoseconds(1);
                break; // just past
            case 4:
                by = left > nanoseconds(1) ? left - nanoseconds(1) : nanoseconds(0);
                break; // just before
            case 5:
                by = milliseconds(rng() % 1000);
                break;
            default:
                by = milliseconds(rng() % 4000000);
                break;
            }
            now += by;
            trail.add(step, QStringLiteral("advance %1 ns").arg(by.count()));
        } else if (action < 90) {
            trail.add(step, QStringLiteral("check"));
            const Error err = real.safeToRetry(name, now);
            const nanoseconds left = model.left(now);
            const bool refused = model.failures > 0 && left >= nanoseconds(0);
            MODEL_CHECK(goroutinemap::isExponentialBackoff(err) == refused,
                        QStringLiteral("refused %1, model %2 (left %3 ns)")
                                .arg(err.isError())
                                .arg(refused)
                                .arg(left.count()));
            MODEL_CHECK(refused || !err.isError(),
                        QStringLiteral("unexpected error %1").arg(err.message()));
            if (refused) {
                MODEL_CHECK(err.operationName() == name, "refusal names the operation");
                MODEL_CHECK(err.failureCount() == int(model.failures),
                            "failure count in the refusal");
                MODEL_CHECK(err.durationBeforeRetry() == model.window, "window in the refusal");
                MODEL_CHECK(err.retryAfter() == std::chrono::ceil<milliseconds>(left),
                            QStringLiteral("retryAfter %1 ms, model %2 ns")
                                    .arg(err.retryAfter().count())
                                    .arg(left.count()));
                MODEL_CHECK(err.retryAfter().count() >= 0, "negative retryAfter");
            }
        } else if (action < 97) {
            trail.add(step, QStringLiteral("reset"));
            real.reset();
            model.reset();
        } else {
            model.policy = randomPolicy(rng);
            real.setPolicy(model.policy);
            trail.add(step,
                      QStringLiteral("policy %1 ms x%2 max %3 ms")
                              .arg(model.policy.initialDelay().count())
                              .arg(model.policy.multiplier())
                              .arg(model.policy.maximumDelay().count()));
        }
        // The whole observable state after every step.
        MODEL_CHECK(real.failureCount() == model.failures,
                    QStringLiteral("failureCount %1, model %2")
                            .arg(real.failureCount())
                            .arg(model.failures));
        const bool inexact = std::floor(model.policy.multiplier()) != model.policy.multiplier();
        const qint64 diff = std::abs(real.durationBeforeRetry().count() - model.window.count());
        MODEL_CHECK(diff == 0 || (inexact && diff <= 1),
                    QStringLiteral("window %1 ms, model %2 ms")
                            .arg(real.durationBeforeRetry().count())
                            .arg(model.window.count()));
        if (diff != 0)
            model.window = real.durationBeforeRetry(); // accept float rounding, keep comparing the
                                                       // rest exactly
        MODEL_CHECK(real.durationBeforeRetry().count() >= 0, "negative window");
        // A new policy applies from the next failure on: the current window keeps its cap.
        MODEL_CHECK(real.durationBeforeRetry() <= model.windowCap || model.failures == 0,
                    "window above the cap");
        if (model.failures > 0) {
            MODEL_CHECK(real.lastErrorTime() == model.lastFailure, "time of the last failure");
            MODEL_CHECK(real.retryDeadline() == model.lastFailure + model.window, "retry deadline");
        }
    }
}

// A million consecutive failures: the window never shrinks, is never negative, never zero
// (unless the initial delay is), and holds exactly at the maximum once it gets there.
void tst_ModelBased::millionFailuresHoldAtMaximum_data()
{
    QTest::addColumn<qint64>("initialMs");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<qint64>("maximumMs");
    QTest::newRow("Kubernetes") << qint64(500) << 2.0 << qint64(122000);
    QTest::newRow("slow growth") << qint64(1) << 1.0001 << qint64(3600000);
    QTest::newRow("no growth") << qint64(250) << 1.0 << qint64(1000);
    QTest::newRow("huge maximum") << qint64(1) << 10.0 << std::numeric_limits<qint64>::max() / 4;
    QTest::newRow("initial is maximum") << qint64(7) << 3.0 << qint64(7);
    QTest::newRow("zero windows") << qint64(0) << 2.0 << qint64(0);
}

void tst_ModelBased::millionFailuresHoldAtMaximum()
{
    QFETCH(qint64, initialMs);
    QFETCH(double, multiplier);
    QFETCH(qint64, maximumMs);
    BackoffPolicy policy;
    policy.setInitialDelay(milliseconds(initialMs));
    policy.setMultiplier(multiplier);
    policy.setMaximumDelay(milliseconds(maximumMs));
    QVERIFY(policy.isValid());
    ExponentialBackoff b(policy);
    const Clock::time_point now{};
    const QDateTime wall = QDateTime::fromMSecsSinceEpoch(0);
    const Error err(QStringLiteral("x"));
    milliseconds previous{0};
    qint64 reachedAt = 0;
    for (qint64 i = 1; i <= 1000000; ++i) {
        b.update(err, now, wall);
        const milliseconds w = b.durationBeforeRetry();
        if (w < previous || w.count() < 0 || (initialMs > 0 && w.count() == 0)
            || w.count() > maximumMs || (reachedAt && w.count() != maximumMs)) {
            QFAIL(qPrintable(QStringLiteral("failure %1: window %2 ms after %3 ms")
                                     .arg(i)
                                     .arg(w.count())
                                     .arg(previous.count())));
        }
        if (!reachedAt && w.count() == maximumMs)
            reachedAt = i;
        previous = w;
    }
    QCOMPARE(b.failureCount(), qint64(1000000));
    if (multiplier > 1.0 && maximumMs < std::numeric_limits<qint64>::max() / 8)
        QVERIFY2(reachedAt > 0, "the maximum was never reached");
    else if (multiplier == 1.0)
        QCOMPARE(previous.count(), initialMs);
    QCOMPARE(policy.delayForFailure(std::numeric_limits<qint64>::max()).count() >= previous.count(),
             true);
}

// --- GoRoutineMap against its model -----------------------------------------------------------

void tst_ModelBased::mapMatchesModel_data()
{
    QTest::addColumn<int>("window");
    QTest::newRow("backoff off") << int(Window::None);
    QTest::newRow("backoff on, windows of an hour") << int(Window::Hour);
    QTest::newRow("backoff on, windows of zero") << int(Window::Zero);
}

void tst_ModelBased::mapMatchesModel()
{
    QFETCH(int, window);
    const Window win = Window(window);
    const bool backoff = win != Window::None;
    const quint32 baseSeed = seedFromEnvironment();
    const quint32 seed = baseSeed + quint32(window) * 1000003u;
    const int steps = stepsFromEnvironment();
    std::mt19937 rng(seed);
    Trail trail(baseSeed, seed);

    GoRoutineMap map(backoff);
    map.setMaxConcurrency(kPoolThreads);
    BackoffPolicy policy;
    policy.setInitialDelay(win == Window::Zero ? 0ms : milliseconds(std::chrono::hours(1)));
    policy.setMaximumDelay(win == Window::Zero ? 0ms : milliseconds(std::chrono::hours(2)));
    QVERIFY(map.setBackoffPolicy(policy));

    std::map<int, std::shared_ptr<Run>> runs; // every run the map accepted and that has not ended
    // However the test ends, every operation still blocked is let go before the map is destroyed.
    auto releaseAll = qScopeGuard([&] {
        for (auto &[id, r] : runs)
            r->end(Run::Succeed);
    });

    // Signals as delivered, in order.
    std::vector<Expected> delivered;
    QObject receiver;
    auto record = [&](char type) {
        return [&delivered, type](const QString &name) {
            delivered.push_back({QStringView(name).mid(6).toInt(), type});
        };
    };
    connect(&map, &GoRoutineMap::operationQueued, &receiver, record('Q'));
    connect(&map, &GoRoutineMap::operationStarted, &receiver, record('S'));
    connect(&map, &GoRoutineMap::operationFinished, &receiver, record('F'));
    connect(&map, &GoRoutineMap::operationCanceled, &receiver, record('C'));
    connect(&map, &GoRoutineMap::operationRemoved, &receiver, record('R'));
    connect(&map, &GoRoutineMap::operationFailed, &receiver,
            [&](const QString &name, const Error &err) {
                if (err.kind() != Error::Kind::OperationFailed || err.operationName() != name)
                    delivered.push_back({-1, '!'});
                delivered.push_back({QStringView(name).mid(6).toInt(), 'X'});
            });

    // The model.
    std::array<ModelName, kNames> model{};
    std::deque<int> poolQueue; // ids of accepted runs no pool thread has taken yet, in order
    int running = 0;
    int nextId = 0;
    std::map<int, std::vector<QFuture<Error>>> joined; // futures of each run, by run id
    std::vector<std::pair<QFuture<Error>, Error::Kind>>
            finishedFutures; // to check, with their expected kind

    auto startNextQueued = [&](std::vector<Expected> &expect) {
        while (running < kPoolThreads && !poolQueue.empty()) {
            const int id = poolQueue.front();
            poolQueue.pop_front();
            ModelName &m = model[size_t(runs.at(id)->name)];
            m.started = true;
            ++running;
            expect.push_back({runs.at(id)->name, 'S'});
        }
    };
    // The run of a name ended with \a kind: what the model does and which signals it expects.
    auto endRun = [&](int n, Error::Kind kind, std::vector<Expected> &expect) {
        ModelName &m = model[size_t(n)];
        const int id = m.runId;
        if (m.started)
            --running;
        m.pending = m.started = m.cancelRequested = false;
        m.runId = -1;
        if (kind == Error::Kind::Canceled) {
            expect.push_back({n, 'C'});
            m.held = m.failures > 0; // history kept, otherwise freed
        } else if (kind == Error::Kind::None) {
            expect.push_back({n, 'F'});
            m.held = false;
            m.failures = 0;
        } else {
            expect.push_back({n, 'X'});
            if (backoff) {
                ++m.failures;
                m.held = true;
            } else {
                m.held = false;
            }
        }
        for (const QFuture<Error> &f : joined[id])
            finishedFutures.emplace_back(f, kind);
        joined.erase(id);
        runs.erase(id);
    };
    // run() or runOrJoin() of name n: the model's verdict, and the new run if accepted.
    auto startRun = [&](int n, bool context, std::vector<Expected> &expect,
                        Error::Kind *refusal) -> std::shared_ptr<Run> {
        ModelName &m = model[size_t(n)];
        if (m.pending) {
            *refusal = Error::Kind::AlreadyExists;
            return nullptr;
        }
        if (backoff && m.failures > 0 && win == Window::Hour) {
            *refusal = Error::Kind::ExponentialBackoff;
            return nullptr;
        }
        *refusal = Error::Kind::None;
        auto r = std::make_shared<Run>();
        r->id = nextId++;
        r->name = n;
        r->context = context;
        runs[r->id] = r;
        m.held = m.pending = true;
        m.started = m.cancelRequested = false;
        m.runId = r->id;
        expect.push_back({n, 'Q'});
        poolQueue.push_back(r->id);
        startNextQueued(expect);
        return r;
    };

    auto signalsText = [](const std::vector<Expected> &v) {
        QStringList out;
        for (const Expected &e : v)
            out << QStringLiteral("%1%2").arg(QLatin1Char(e.type)).arg(e.name);
        return out.join(QLatin1Char(' '));
    };

    int counts[8] = {};
    for (int step = 0; step < steps; ++step) {
        std::vector<Expected> expect;
        delivered.clear();
        const int n = int(rng() % kNames);
        const QString name = nameOf(n);
        ModelName &m = model[size_t(n)];
        int action = int(rng() % 100);
        if (action >= 35 && action < 60 && running == 0)
            action = 0; // nothing to complete: run instead

        if (action < 35) {
            const bool context = rng() % 2;
            Error::Kind refusal;
            std::shared_ptr<Run> r = startRun(n, context, expect, &refusal);
            trail.add(step,
                      QStringLiteral("run %1%2 -> %3")
                              .arg(name, context ? QStringLiteral(" (context)") : QString())
                              .arg(int(refusal)));
            Error err;
            if (r) {
                err = context ? map.run(name, [r](OperationContext &ctx) { return r->body(&ctx); })
                              : map.run(name, [r] { return r->body(nullptr); });
            } else {
                err = map.run(name, [] { return Error(QStringLiteral("must never run")); });
            }
            MODEL_CHECK(err.kind() == refusal,
                        QStringLiteral("run returned %1").arg(err.message()));
            if (err.isError()) {
                MODEL_CHECK(err.operationName() == name, "refusal names the operation");
                if (refusal == Error::Kind::ExponentialBackoff)
                    MODEL_CHECK(err.failureCount() == m.failures, "failure count in the refusal");
            }
            ++counts[0];
        } else if (action < 43) {
            // runOrJoin: joins a pending run, or starts one like run().
            trail.add(step, QStringLiteral("runOrJoin %1").arg(name));
            if (m.pending) {
                joined[m.runId].push_back(map.runOrJoin(
                        name, [] { return Error(QStringLiteral("must never run")); }));
            } else {
                Error::Kind refusal;
                std::shared_ptr<Run> r = startRun(n, false, expect, &refusal);
                QFuture<Error> f =
                        map.runOrJoin(name, [r] { return r ? r->body(nullptr) : Error(); });
                if (r) {
                    joined[r->id].push_back(f);
                } else {
                    MODEL_CHECK(f.isFinished(), "a refused runOrJoin returns a finished future");
                    MODEL_CHECK(
                            f.result().kind() == refusal,
                            QStringLiteral("runOrJoin refused with %1").arg(f.result().message()));
                }
            }
            ++counts[1];
        } else if (action < 60) {
            // Let one running operation end, in one of four ways.
            std::vector<int> candidates;
            for (int i = 0; i < kNames; ++i) {
                if (model[size_t(i)].started)
                    candidates.push_back(i);
            }
            const int target = candidates[rng() % candidates.size()];
            ModelName &t = model[size_t(target)];
            const std::shared_ptr<Run> r = runs.at(t.runId);
            const Run::Outcome how = Run::Outcome(1 + rng() % 4);
            trail.add(step,
                      QStringLiteral("complete %1 with %2%3")
                              .arg(nameOf(target))
                              .arg(int(how))
                              .arg(t.cancelRequested ? QStringLiteral(" (canceled)") : QString()));
            const bool cancelRequested = t.cancelRequested;
            const Error::Kind kind = cancelRequested ? Error::Kind::Canceled
                    : how == Run::Succeed            ? Error::Kind::None
                                                     : Error::Kind::OperationFailed;
            endRun(target, kind, expect);
            startNextQueued(expect);
            r->end(how);
            // A context operation saw the cancellation request (a plain one cannot ask); its
            // function has returned once its outcome signal arrives.
            if (r->context) {
                MODEL_CHECK(reliability::pumpUntil([&] {
                                for (const Expected &e : delivered) {
                                    if (e.name == target
                                        && (e.type == 'F' || e.type == 'X' || e.type == 'C'))
                                        return true;
                                }
                                return false;
                            }),
                            "no outcome signal");
                std::lock_guard lock(r->mutex);
                MODEL_CHECK(r->sawCancel == cancelRequested,
                            "isCancellationRequested() inside the operation");
            }
            ++counts[2];
        } else if (action < 75) {
            const bool expected = m.pending;
            trail.add(step,
                      QStringLiteral("cancel %1 (%2)")
                              .arg(name,
                                   m.pending ? (m.started ? QStringLiteral("running")
                                                          : QStringLiteral("queued"))
                                             : QStringLiteral("not pending")));
            if (m.pending && !m.started) {
                const int id = m.runId;
                poolQueue.erase(std::find(poolQueue.begin(), poolQueue.end(), id));
                const std::shared_ptr<Run> r = runs.at(id);
                endRun(n, Error::Kind::Canceled, expect);
                r->end(Run::Fail); // never runs; released in case the map ran it anyway
            } else if (m.pending) {
                m.cancelRequested = true;
            }
            MODEL_CHECK(map.cancel(name) == expected, "cancel() result");
            ++counts[3];
        } else if (action < 88) {
            const bool expected = m.failures > 0;
            trail.add(step, QStringLiteral("resetBackoff %1").arg(name));
            if (expected) {
                m.failures = 0;
                if (!m.pending) {
                    m.held = false;
                    expect.push_back({n, 'R'});
                }
            }
            MODEL_CHECK(map.resetBackoff(name) == expected, "resetBackoff() result");
            ++counts[4];
        } else if (action < 94) {
            trail.add(step, QStringLiteral("wait(0) and waitForCompletion(0)"));
            bool anyPending = false;
            bool anyHeld = false;
            for (const ModelName &x : model) {
                anyPending = anyPending || x.pending;
                anyHeld = anyHeld || x.held;
            }
            MODEL_CHECK(map.waitForCompletion(QDeadlineTimer(0)) == !anyPending,
                        "waitForCompletion(0)");
            MODEL_CHECK(map.wait(QDeadlineTimer(0)) == !anyHeld, "wait(0)");
            ++counts[5];
        } else {
            // "Advance time": a no-op for this model (windows never or always passed), but the
            // snapshot below is taken again at a later moment.
            trail.add(step, QStringLiteral("advance time"));
            ++counts[6];
        }

        // --- settle: every run the model says is running has entered its function; every
        // expected signal has arrived -------------------------------------------------------
        for (const ModelName &x : model) {
            if (x.started)
                MODEL_CHECK(runs.at(x.runId)->waitEntered(),
                            QStringLiteral("run %1 never started").arg(x.runId));
        }
        MODEL_CHECK(reliability::pumpUntil([&] { return delivered.size() >= expect.size(); }),
                    QStringLiteral("signals: expected %1, got %2")
                            .arg(signalsText(expect), signalsText(delivered)));
        reliability::flushEvents();
        // Same signals; per name in the same order (names interleave freely).
        for (int i = -1; i < kNames; ++i) {
            std::vector<char> e;
            std::vector<char> d;
            for (const Expected &x : expect)
                if (x.name == i)
                    e.push_back(x.type);
            for (const Expected &x : delivered)
                if (x.name == i)
                    d.push_back(x.type);
            MODEL_CHECK(e == d,
                        QStringLiteral("signals: expected %1, got %2")
                                .arg(signalsText(expect), signalsText(delivered)));
        }
        MODEL_CHECK(delivered.size() == expect.size(),
                    QStringLiteral("signals: expected %1, got %2")
                            .arg(signalsText(expect), signalsText(delivered)));

        // --- compare the whole observable state -------------------------------------------------
        int pending = 0;
        int held = 0;
        for (int i = 0; i < kNames; ++i) {
            const ModelName &x = model[size_t(i)];
            pending += x.pending ? 1 : 0;
            held += x.held ? 1 : 0;
            const OperationInfo info = map.operationInfo(nameOf(i));
            MODEL_CHECK(info.isValid() == x.held,
                        QStringLiteral("%1 held: %2, model %3")
                                .arg(nameOf(i))
                                .arg(info.isValid())
                                .arg(x.held));
            MODEL_CHECK(map.isOperationPending(nameOf(i)) == x.pending,
                        QStringLiteral("%1 pending").arg(nameOf(i)));
            if (!x.held)
                continue;
            const OperationInfo::State state = x.pending
                    ? (x.started ? OperationInfo::State::Running : OperationInfo::State::Queued)
                    : win == Window::Hour ? OperationInfo::State::BackingOff
                                          : OperationInfo::State::ReadyToRetry;
            MODEL_CHECK(info.state == state,
                        QStringLiteral("%1 state %2, model %3")
                                .arg(nameOf(i))
                                .arg(int(info.state))
                                .arg(int(state)));
            MODEL_CHECK(info.failureCount == x.failures,
                        QStringLiteral("%1 failures %2, model %3")
                                .arg(nameOf(i))
                                .arg(info.failureCount)
                                .arg(x.failures));
            MODEL_CHECK(info.cancellationRequested == (x.pending && x.cancelRequested),
                        QStringLiteral("%1 cancellation requested").arg(nameOf(i)));
        }
        MODEL_CHECK(
                map.pendingCount() == pending,
                QStringLiteral("pendingCount %1, model %2").arg(map.pendingCount()).arg(pending));
        MODEL_CHECK(map.count() == held,
                    QStringLiteral("count %1, model %2").arg(map.count()).arg(held));
        if (step % 16 == 0)
            MODEL_CHECK(map.operations().size() == held, "operations() size");
        // Futures of ended runs: finished, with the run's outcome.
        for (const auto &[f, kind] : finishedFutures) {
            // The promise is finished right after the outcome is recorded, outside the lock.
            MODEL_CHECK(reliability::pumpUntil([&f = f] { return f.isFinished(); }),
                        "a future of an ended run never finished");
            MODEL_CHECK(f.result().kind() == kind,
                        QStringLiteral("future result %1, model kind %2")
                                .arg(f.result().message())
                                .arg(int(kind)));
        }
        finishedFutures.clear();
    }
    qInfo("seed %u (base %u): %d steps (run %d, runOrJoin %d, complete %d, cancel %d, reset %d, "
          "wait %d, time %d)",
          seed, baseSeed, steps, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
          counts[6]);
}

QTEST_GUILESS_MAIN(tst_ModelBased)
#include "tst_model_based.moc"
