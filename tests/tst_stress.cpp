// SPDX-License-Identifier: Apache-2.0
// Randomised stress: several threads call run(), runOrJoin(), isOperationPending(),
// wait(deadline), waitForCompletion(deadline), cancel(), resetBackoff() and the snapshot
// functions at random on a few dozen names, with operations that succeed, fail, throw (a
// std::exception or not) or run long, for a configurable time:
//
//     GOROUTINEMAP_STRESS_SECONDS=300 build/tests/tst_stress      (default 3 s in CI)
//
// Invariants checked throughout: a name never runs twice at once; every operation function runs
// at most once, and every accepted run either runs or is canceled before it starts; every run
// gets exactly one terminal signal, after its operationStarted if it ran; progress arrives only
// while its own run is running; signals arrive in the map's thread; the map's snapshots agree
// with each other and with the signals; nothing an operation captured is leaked at the end.
// Every few hundred milliseconds the callers pause so that exact counts can be compared.

#include <goroutinemap/goroutinemap.h>

#include "reliability_support.h"

#include <QElapsedTimer>
#include <QFuture>
#include <QLoggingCategory>
#include <QScopeGuard>
#include <QTest>
#include <QThread>

#include <array>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;
using reliability::kTimeoutMs;

namespace {

constexpr int kNames = 32;
constexpr int kCallers = 4;
constexpr int kMaxIds = 1 << 22;

QString nameOf(int i)
{
    return QStringLiteral("stress-%1").arg(i);
}

int indexOf(const QString &name)
{
    bool ok = false;
    const int i = name.mid(7).toInt(&ok);
    return ok && name.startsWith(QLatin1String("stress-")) && i >= 0 && i < kNames ? i : -1;
}

// What operations and callers record; shared with the operations so that nothing dangles.
struct Record
{
    std::array<std::atomic<int>, kNames> inside{}; // operations of the name inside their function
    std::array<std::atomic<int>, kNames>
            executedSeq{}; // runs of the name that entered their function
    std::vector<std::atomic<quint8>> executions = std::vector<std::atomic<quint8>>(kMaxIds);
    std::atomic<int> nextId{0};
    std::atomic<int> liveCaptures{0}; // captured state of operation functions still alive
    std::atomic<qint64> calls{0};
    std::atomic<qint64> acceptedByRun{0};

    std::mutex problemMutex;
    QStringList problems;
    void problem(const QString &what)
    {
        std::lock_guard lock(problemMutex);
        if (problems.size() < 50)
            problems << what;
    }
    bool hasProblems()
    {
        std::lock_guard lock(problemMutex);
        return !problems.isEmpty();
    }
};

// Captured by every operation function: counts how many function objects are still alive.
struct Capture
{
    explicit Capture(std::shared_ptr<Record> r) : record(std::move(r)) { ++record->liveCaptures; }
    ~Capture() { --record->liveCaptures; }
    Capture(const Capture &) = delete;
    Capture &operator=(const Capture &) = delete;
    std::shared_ptr<Record> record;
};

enum class Kind { Succeed, Fail, ThrowStd, ThrowInt, Long, Progress, KindCount };

// What every operation does on entry and exit.
class Inside
{
public:
    Inside(Record &r, int name, int id) : m_r(r), m_name(name)
    {
        if (m_r.inside[name].fetch_add(1) != 0)
            m_r.problem(QStringLiteral("%1 runs twice at once").arg(nameOf(name)));
        if (m_r.executions[id].fetch_add(1) != 0)
            m_r.problem(QStringLiteral("operation %1 executed twice").arg(id));
        seq = m_r.executedSeq[name].fetch_add(1);
    }
    ~Inside() { m_r.inside[m_name].fetch_sub(1); }
    int seq = 0;

private:
    Record &m_r;
    int m_name;
};

GoRoutineMap::ContextOperationFunc makeOperation(const std::shared_ptr<Record> &record, int name,
                                                 int id, Kind kind, int longMs)
{
    auto capture = std::make_shared<Capture>(record);
    return [capture, name, id, kind, longMs](OperationContext &ctx) -> Error {
        Record &r = *capture->record;
        Inside inside(r, name, id);
        switch (kind) {
        case Kind::Succeed:
            return Error();
        case Kind::Fail:
            return Error(QStringLiteral("failed on purpose"));
        case Kind::ThrowStd:
            throw std::runtime_error("thrown on purpose");
        case Kind::ThrowInt:
            throw id;
        case Kind::Long: {
            // Simulated work, a millisecond at a time, until done or canceled.
            ctx.setStatus(QStringLiteral("seq:%1").arg(inside.seq));
            QElapsedTimer t;
            t.start();
            while (t.elapsed() < longMs && !ctx.isCancellationRequested()) {
                ctx.setProgress(int(t.elapsed() * 100 / std::max(1, longMs)));
                std::this_thread::sleep_for(1ms);
            }
            return id % 2 ? Error() : Error(QStringLiteral("long and failed"));
        }
        case Kind::Progress:
            ctx.setStatus(QStringLiteral("seq:%1").arg(inside.seq));
            ctx.setProgress(id % 101);
            return Error();
        case Kind::KindCount:
            break;
        }
        return Error();
    };
}

// Plain-function form for runOrJoin().
GoRoutineMap::OperationFunc makePlainOperation(const std::shared_ptr<Record> &record, int name,
                                               int id, Kind kind)
{
    auto capture = std::make_shared<Capture>(record);
    return [capture, name, id, kind]() -> Error {
        Inside inside(*capture->record, name, id);
        if (kind == Kind::ThrowStd)
            throw std::logic_error("joined and thrown");
        return kind == Kind::Fail ? Error(QStringLiteral("joined and failed")) : Error();
    };
}

// The signals of one name, as the map's thread sees them.
struct NameSignals
{
    enum State { Idle, Queued, Started } state = Idle;
    qint64 queued = 0;
    qint64 started = 0;
    qint64 finished = 0;
    qint64 failed = 0;
    qint64 canceled = 0;
    qint64 canceledBeforeStart = 0;
    qint64 removed = 0;
    qint64 progress = 0;
    // A superset of "the map holds this name while it is idle": false only when the last
    // outcome certainly freed it (a canceled run may free a name whose history a concurrent
    // resetBackoff() cleared, without a signal saying so).
    bool mayBeHeld = false;
    qint64 terminal() const { return finished + failed + canceled; }
};

// Lets the test pause every caller at a known point, to compare exact counts.
class Pauser
{
public:
    void checkpoint()
    {
        if (!m_pause.load())
            return;
        std::unique_lock lock(m_mutex);
        ++m_parked;
        m_cond.notify_all();
        m_cond.wait(lock, [&] { return !m_pause.load(); });
        --m_parked;
    }
    bool pauseAll(int callers)
    {
        m_pause = true;
        std::unique_lock lock(m_mutex);
        return m_cond.wait_for(lock, std::chrono::milliseconds(kTimeoutMs),
                               [&] { return m_parked == callers; });
    }
    void resume()
    {
        {
            std::lock_guard lock(m_mutex);
            m_pause = false;
        }
        m_cond.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cond;
    std::atomic<bool> m_pause{false};
    int m_parked = 0;
};

} // namespace

class tst_Stress : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void stress_data();
    void stress();
    void backoffTurnedOffWhileFailing();

private:
    qint64 m_seconds = 3;
    quint32 m_seed = 0;
};

void tst_Stress::initTestCase()
{
    // Every failure is logged as a warning; thousands of them would drown the output.
    QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));
    m_seconds = std::max<qint64>(1, reliability::envInt("GOROUTINEMAP_STRESS_SECONDS", 3));
    m_seed = quint32(reliability::envInt("GOROUTINEMAP_STRESS_SEED", std::random_device{}()));
    qInfo("stress: %lld s in all, seed %u (GOROUTINEMAP_STRESS_SECONDS, GOROUTINEMAP_STRESS_SEED)",
          m_seconds, m_seed);
}

void tst_Stress::stress_data()
{
    QTest::addColumn<bool>("backoff");
    QTest::newRow("backoff off") << false;
    QTest::newRow("backoff on") << true;
}

void tst_Stress::stress()
{
    QFETCH(bool, backoff);
    const qint64 durationMs = m_seconds * 1000 / 2; // two rows share the time
    auto record = std::make_shared<Record>();
    auto map = std::make_unique<GoRoutineMap>(backoff);
    map->setMaxConcurrency(
            3); // fewer threads than names: runs queue, and cancel catches them queued
    BackoffPolicy policy;
    policy.setInitialDelay(1ms);
    policy.setMaximumDelay(8ms);
    QVERIFY(map->setBackoffPolicy(policy));

    // --- the map's thread: every signal checked as it arrives ----------------------------------
    std::array<NameSignals, kNames> sig{};
    QThread *const mapThread = QThread::currentThread();
    auto at = [&](const QString &name, const char *what) -> NameSignals * {
        if (QThread::currentThread() != mapThread)
            record->problem(QStringLiteral("%1 of %2 emitted in another thread")
                                    .arg(QLatin1String(what), name));
        const int i = indexOf(name);
        if (i < 0) {
            record->problem(
                    QStringLiteral("%1 for an unknown name %2").arg(QLatin1String(what), name));
            return nullptr;
        }
        return &sig[size_t(i)];
    };
    auto bad = [&](const QString &name, const char *what, const NameSignals &s) {
        record->problem(QStringLiteral("%1 of %2 in state %3")
                                .arg(QLatin1String(what), name)
                                .arg(int(s.state)));
    };
    QObject context;
    connect(map.get(), &GoRoutineMap::operationQueued, &context, [&](const QString &name) {
        if (NameSignals *s = at(name, "queued")) {
            if (s->state != NameSignals::Idle)
                bad(name, "queued", *s);
            s->state = NameSignals::Queued;
            ++s->queued;
        }
    });
    connect(map.get(), &GoRoutineMap::operationStarted, &context, [&](const QString &name) {
        if (NameSignals *s = at(name, "started")) {
            if (s->state != NameSignals::Queued)
                bad(name, "started", *s);
            s->state = NameSignals::Started;
            ++s->started;
        }
    });
    connect(map.get(), &GoRoutineMap::operationFinished, &context, [&](const QString &name) {
        if (NameSignals *s = at(name, "finished")) {
            if (s->state != NameSignals::Started)
                bad(name, "finished", *s);
            s->state = NameSignals::Idle;
            ++s->finished;
            s->mayBeHeld = false;
        }
    });
    connect(map.get(), &GoRoutineMap::operationFailed, &context,
            [&](const QString &name, const Error &err) {
                if (NameSignals *s = at(name, "failed")) {
                    if (s->state != NameSignals::Started)
                        bad(name, "failed", *s);
                    if (err.kind() != Error::Kind::OperationFailed || err.operationName() != name
                        || err.text().isEmpty())
                        record->problem(
                                QStringLiteral("bad failure of %1: %2").arg(name, err.message()));
                    s->state = NameSignals::Idle;
                    ++s->failed;
                    s->mayBeHeld = backoff;
                }
            });
    connect(map.get(), &GoRoutineMap::operationCanceled, &context, [&](const QString &name) {
        if (NameSignals *s = at(name, "canceled")) {
            if (s->state == NameSignals::Idle)
                bad(name, "canceled", *s);
            if (s->state == NameSignals::Queued)
                ++s->canceledBeforeStart;
            s->state = NameSignals::Idle;
            ++s->canceled;
        }
    });
    connect(map.get(), &GoRoutineMap::operationRemoved, &context, [&](const QString &name) {
        if (NameSignals *s = at(name, "removed")) {
            if (s->state != NameSignals::Idle || !s->mayBeHeld)
                bad(name, "removed", *s);
            s->mayBeHeld = false;
            ++s->removed;
        }
    });
    connect(map.get(), &GoRoutineMap::operationProgress, &context,
            [&](const QString &name, int percent, const QString &status) {
                if (NameSignals *s = at(name, "progress")) {
                    if (s->state != NameSignals::Started)
                        bad(name, "progress", *s);
                    // The values belong to the run that is running, the latest one started.
                    if (!status.isEmpty() && status != QStringLiteral("seq:%1").arg(s->started - 1))
                        record->problem(
                                QStringLiteral("progress of %1 carries %2 while run %3 runs")
                                        .arg(name, status)
                                        .arg(s->started - 1));
                    if (percent < -1 || percent > 100)
                        record->problem(QStringLiteral("progress %1 out of range").arg(percent));
                    ++s->progress;
                }
            });

    // --- the callers ---------------------------------------------------------------------------
    Pauser pauser;
    std::atomic<bool> stop{false};
    std::mutex futuresMutex;
    std::vector<QFuture<Error>> futures;
    auto caller = [&](int index) {
        std::mt19937 rng(m_seed + quint32(index) * 7919u);
        auto pick = [&rng](int n) { return int(rng() % quint32(n)); };
        std::vector<QFuture<Error>> mine;
        while (!stop.load()) {
            pauser.checkpoint();
            ++record->calls;
            const int n = pick(kNames);
            const QString name = nameOf(n);
            const int action = pick(100);
            if (action < 40) {
                const int id = record->nextId.fetch_add(1);
                if (id >= kMaxIds)
                    break;
                const Kind kind = Kind(pick(int(Kind::KindCount)));
                const Error err = map->run(name, makeOperation(record, n, id, kind, 2 + pick(20)));
                if (!err) {
                    ++record->acceptedByRun;
                } else if (err.kind() == Error::Kind::AlreadyExists
                           || (backoff && err.kind() == Error::Kind::ExponentialBackoff)) {
                    if (err.operationName() != name)
                        record->problem(QStringLiteral("refusal names %1, not %2")
                                                .arg(err.operationName(), name));
                } else {
                    record->problem(
                            QStringLiteral("run(%1) refused with %2").arg(name, err.message()));
                }
            } else if (action < 45) {
                const int id = record->nextId.fetch_add(1);
                if (id >= kMaxIds)
                    break;
                const Kind kind = pick(3) == 0 ? Kind::Fail
                        : pick(4) == 0         ? Kind::ThrowStd
                                               : Kind::Succeed;
                mine.push_back(map->runOrJoin(name, makePlainOperation(record, n, id, kind)));
            } else if (action < 55) {
                map->isOperationPending(name);
            } else if (action < 60) {
                const QDeadlineTimer deadline(pick(4));
                if (pick(2))
                    map->wait(deadline);
                else
                    map->waitForCompletion(deadline);
            } else if (action < 72) {
                map->cancel(name);
            } else if (action < 82) {
                const bool had = map->resetBackoff(name);
                if (had && !backoff)
                    record->problem(
                            QStringLiteral("resetBackoff(%1) found a history with backoff off")
                                    .arg(name));
            } else if (action < 92) {
                const QList<OperationInfo> infos = map->operations();
                std::set<QString> seen;
                if (infos.size() > kNames)
                    record->problem(QStringLiteral("snapshot of %1 names").arg(infos.size()));
                for (const OperationInfo &info : infos) {
                    if (!info.isValid() || indexOf(info.name) < 0 || !seen.insert(info.name).second)
                        record->problem(QStringLiteral("bad or duplicate snapshot entry %1")
                                                .arg(info.name));
                    if (!backoff && (info.failureCount != 0 || !info.isPending()))
                        record->problem(QStringLiteral("%1 held without backoff").arg(info.name));
                    if (backoff && !info.isPending() && info.failureCount <= 0)
                        record->problem(QStringLiteral("%1 held without pending or history")
                                                .arg(info.name));
                }
                const int pending = map->pendingCount();
                const int count = map->count();
                if (pending < 0 || pending > kNames || count < 0 || count > kNames)
                    record->problem(QStringLiteral("counts out of range: %1 pending, %2 held")
                                            .arg(pending)
                                            .arg(count));
            } else {
                const OperationInfo info = map->operationInfo(name);
                if (info.isValid() && info.name != name)
                    record->problem(
                            QStringLiteral("operationInfo(%1) named %2").arg(name, info.name));
            }
            if (pick(64) == 0)
                std::this_thread::yield();
        }
        std::lock_guard lock(futuresMutex);
        futures.insert(futures.end(), mine.begin(), mine.end());
    };

    // At a pause, with every caller parked: the map settles and the counts must agree exactly.
    auto checkQuiet = [&]() {
        QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
        QCOMPARE(map->pendingCount(), 0);
        // Every run's signals are delivered once its terminal signal is.
        QVERIFY2(reliability::pumpUntil([&] {
                     for (const NameSignals &s : sig) {
                         if (s.queued != s.terminal())
                             return false;
                     }
                     return true;
                 }),
                 "terminal signals missing");
        reliability::flushEvents();
        const QList<OperationInfo> infos = map->operations();
        QCOMPARE(int(infos.size()), map->count());
        std::set<QString> held;
        for (const OperationInfo &info : infos) {
            QVERIFY2(!info.isPending(), qPrintable(info.name));
            held.insert(info.name);
        }
        for (int i = 0; i < kNames; ++i) {
            const NameSignals &s = sig[size_t(i)];
            const QString name = nameOf(i);
            QVERIFY2(s.state == NameSignals::Idle, qPrintable(name));
            QCOMPARE(record->inside[size_t(i)].load(), 0);
            // Every run that entered its function was announced, and only those.
            QCOMPARE(s.started, qint64(record->executedSeq[size_t(i)].load()));
            // Every accepted run ran or was canceled before it started.
            QCOMPARE(s.queued, s.started + s.canceledBeforeStart);
            QVERIFY(!map->isOperationPending(name));
            const bool inSnapshot = held.count(name) > 0;
            QCOMPARE(map->operationInfo(name).isValid(), inSnapshot);
            if (inSnapshot)
                QVERIFY2(s.mayBeHeld,
                         qPrintable(name + QStringLiteral(" held after an outcome that frees it")));
        }
    };

    std::vector<std::thread> callers;
    for (int i = 0; i < kCallers; ++i)
        callers.emplace_back(caller, i);
    auto joinAll = qScopeGuard([&] {
        stop = true;
        pauser.resume();
        for (std::thread &t : callers) {
            if (t.joinable())
                t.join();
        }
    });

    QElapsedTimer elapsed;
    elapsed.start();
    int pauses = 0;
    while (elapsed.elapsed() < durationMs && !record->hasProblems()) {
        const qint64 nextPause = std::min(durationMs, elapsed.elapsed() + 250);
        reliability::pumpUntil(
                [&] { return elapsed.elapsed() >= nextPause || record->hasProblems(); },
                int(nextPause - elapsed.elapsed()) + 1000);
        QVERIFY(pauser.pauseAll(kCallers));
        checkQuiet();
        if (QTest::currentTestFailed())
            return;
        ++pauses;
        pauser.resume();
    }
    stop = true;
    pauser.resume();
    for (std::thread &t : callers)
        t.join();
    joinAll.dismiss();
    checkQuiet();
    if (QTest::currentTestFailed())
        return;

    // Joined futures all finished, each with an outcome of its run (or a refusal).
    for (const QFuture<Error> &f : futures) {
        QVERIFY(f.isFinished());
        const Error::Kind k = f.result().kind();
        QVERIFY2(k == Error::Kind::None || k == Error::Kind::OperationFailed
                         || k == Error::Kind::Canceled
                         || (backoff && k == Error::Kind::ExponentialBackoff),
                 qPrintable(f.result().message()));
    }

    qint64 queued = 0;
    qint64 started = 0;
    qint64 canceledBeforeStart = 0;
    for (const NameSignals &s : sig) {
        queued += s.queued;
        started += s.started;
        canceledBeforeStart += s.canceledBeforeStart;
    }
    QVERIFY(queued >= record->acceptedByRun.load());
    qInfo("%lld calls, %lld runs accepted (%lld by run()), %lld started, %lld canceled before "
          "start, %d pauses",
          qint64(record->calls.load()), queued, qint64(record->acceptedByRun.load()), started,
          canceledBeforeStart, pauses);

    map.reset();
    {
        std::lock_guard lock(record->problemMutex);
        QVERIFY2(record->problems.isEmpty(),
                 qPrintable(QStringLiteral("seed %1:\n").arg(m_seed)
                            + record->problems.join(QLatin1Char('\n'))));
    }
    QCOMPARE(record->liveCaptures.load(), 0); // every captured function object was released
    QVERIFY2(started > 0 && queued > started / 2, "the stress did not do much");
}

// Turning backoff off while operations are failing: afterwards no name may keep a failure
// history (a completion that had read the flag just before the setter ran used to record one,
// and run() then refused the name for the whole window although backoff was off).
void tst_Stress::backoffTurnedOffWhileFailing()
{
    GoRoutineMap map(true);
    BackoffPolicy policy;
    policy.setInitialDelay(std::chrono::hours(1));
    policy.setMaximumDelay(std::chrono::hours(2));
    QVERIFY(map.setBackoffPolicy(policy));
    map.setMaxConcurrency(2);
    const qint64 durationMs = std::max<qint64>(300, m_seconds * 1000 / 6);
    QElapsedTimer elapsed;
    elapsed.start();
    int rounds = 0;
    while (elapsed.elapsed() < durationMs) {
        map.setExponentialBackOffOnError(true);
        for (int i = 0; i < 64; ++i) {
            const Error err = map.run(QStringLiteral("off-%1").arg(i),
                                      [] { return Error(QStringLiteral("fails")); });
            QVERIFY2(!err,
                     qPrintable(QStringLiteral("round %1: %2").arg(rounds).arg(err.message())));
        }
        map.setExponentialBackOffOnError(false); // while they fail
        QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
        QVERIFY2(map.count() == 0,
                 qPrintable(QStringLiteral("round %1: %2 names kept a history with backoff off")
                                    .arg(rounds)
                                    .arg(map.count())));
        ++rounds;
    }
    qInfo("%d rounds", rounds);
}

QTEST_GUILESS_MAIN(tst_Stress)
#include "tst_stress.moc"
