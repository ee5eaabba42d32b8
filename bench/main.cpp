// SPDX-License-Identifier: Apache-2.0
//
// goroutinemap-bench: the figures of issue 5, each speed printed as a ratio to a baseline
// measured in the same run (bare QThreadPool::start of the same no-op lambda for cycles,
// a std::mutex-guarded QHash::contains for refusals). `--smoke` is the few-second CI size.
// See bench/README.md for what each figure measures and for the profiles.

#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/operationsmodel.h>

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QEventLoop>
#include <QHash>
#include <QLoggingCategory>
#include <QSemaphore>
#include <QSysInfo>
#include <QThread>
#include <QThreadPool>
#include <QTimer>

#include <malloc.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace goroutinemap;
using SteadyClock = std::chrono::steady_clock;

namespace {

// --- configuration ----------------------------------------------------------------------

struct Config
{
    bool smoke = false;
    int reps = 5;
    qsizetype cycleOps = 1'000'000; // figures 1, 6
    qsizetype refusals = 2'000'000; // figures 2, 3 (per measurement)
    qsizetype flatSmall = 1'000; // figure 4
    qsizetype flatLarge = 1'000'000;
    qsizetype flatCycleOps = 200'000;
    qsizetype backoffSmall = 100'000; // figure 5
    qsizetype backoffLarge = 1'000'000;
    int modelRows = 10'000; // figure 7
    int modelOpsPerSecond = 20'000;
    double modelSeconds = 3.0;
    qsizetype memoryOps = 10'000'000; // figure 8
    qsizetype memoryBatch = 100'000;
    qsizetype memoryWarmup = 2'000'000;
    std::set<int> only;

    bool wants(int figure) const { return only.empty() || only.count(figure) > 0; }

    void makeSmoke()
    {
        smoke = true;
        reps = 3;
        cycleOps = 20'000;
        refusals = 50'000;
        flatSmall = 100;
        flatLarge = 10'000;
        flatCycleOps = 10'000;
        backoffSmall = 2'000;
        backoffLarge = 20'000;
        modelRows = 1'000;
        modelOpsPerSecond = 5'000;
        modelSeconds = 0.6;
        memoryOps = 400'000;
        memoryBatch = 20'000;
        memoryWarmup = 100'000;
    }
};

Config cfg;

// --- measuring --------------------------------------------------------------------------

double wallNs()
{
    return std::chrono::duration<double, std::nano>(SteadyClock::now().time_since_epoch()).count();
}

// CPU time of the calling thread: immune to being preempted by the pool's threads on 2 cores.
double threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

qint64 rssBytes()
{
    std::ifstream statm("/proc/self/statm");
    long size = 0;
    long resident = 0;
    statm >> size >> resident;
    return qint64(resident) * sysconf(_SC_PAGESIZE);
}

// RSS of live data: hand the allocator's free pages back before reading it.
qint64 trimmedRssBytes()
{
    malloc_trim(0);
    return rssBytes();
}

// Bytes the allocator has handed out and not got back (all arenas).
qint64 heapInUseBytes()
{
    const struct mallinfo2 info = mallinfo2();
    return qint64(info.uordblks + info.hblkhd);
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <typename T>
void keep(const T &value)
{
    asm volatile("" : : "g"(&value) : "memory");
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    return buffer;
}

void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    std::vfprintf(stderr, fmt, args);
    va_end(args);
    std::fputc('\n', stderr);
}

int failures = 0;
void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "BENCH CHECK FAILED: %s\n", what);
        ++failures;
    }
}

// --- the results table ------------------------------------------------------------------

enum class Verdict { Met, NotMet, Info };

struct Row
{
    std::string figure;
    std::string what;
    std::string map;
    std::string baseline;
    std::string ratio;
    std::string target;
    Verdict verdict;
};

std::vector<Row> table;

void addRow(std::string figure, std::string what, std::string map, std::string baseline,
            std::string ratio, std::string target, Verdict verdict)
{
    table.push_back({std::move(figure), std::move(what), std::move(map), std::move(baseline),
                     std::move(ratio), std::move(target), verdict});
    const Row &r = table.back();
    progress("  -> %s %s: %s | %s | %s | %s", r.figure.c_str(), r.what.c_str(), r.map.c_str(),
             r.baseline.c_str(), r.ratio.c_str(), r.target.c_str());
}

Verdict verdictOf(bool met)
{
    return met ? Verdict::Met : Verdict::NotMet;
}

std::string ns(double v)
{
    return v >= 100 ? format("%.0f ns", v) : format("%.1f ns", v);
}

std::string perSecond(double v)
{
    if (v >= 1e6)
        return format("%.2f M/s", v / 1e6);
    if (v >= 1e3)
        return format("%.1f k/s", v / 1e3);
    return format("%.1f /s", v);
}

// 1000 -> "1k", 1000000 -> "1M", 100 -> "100".
std::string count(qsizetype n)
{
    if (n >= 1'000'000 && n % 1'000'000 == 0)
        return format("%lldM", (long long)(n / 1'000'000));
    if (n >= 1'000 && n % 1'000 == 0)
        return format("%lldk", (long long)(n / 1'000));
    return format("%lld", (long long)n);
}

std::string times(double v)
{
    return format("%.2fx", v);
}

// --- operations and names ---------------------------------------------------------------

const auto noop = [] { return Error(); };
const auto fail = [] { return Error(QStringLiteral("boom")); };

std::vector<QString> makeNames(const char *prefix, qsizetype n)
{
    std::vector<QString> names;
    names.reserve(size_t(n));
    const QString p = QString::fromLatin1(prefix);
    for (qsizetype i = 0; i < n; ++i)
        names.push_back(p + QString::number(i));
    return names;
}

// A name's characters in a fresh copy, so threads do not share one QString's refcount.
QString deepCopy(const QString &s)
{
    return QString(s.constData(), s.size());
}

// Delivers every queued signal of the maps. A map delivers in batches that yield to other events
// after a few milliseconds, so one pass may leave some queued: repeat until a pass handles
// nothing. (Timers due meanwhile fire too; the figures keep their backoff windows longer.)
void drainPostedEvents()
{
    QEventLoop loop;
    for (int pass = 0; pass < 1'000'000 && loop.processEvents(QEventLoop::ExcludeUserInputEvents);
         ++pass) { }
}

// Occupies the map's (single) pool thread so that every later run stays queued, i.e. pending.
class PoolBlocker
{
public:
    explicit PoolBlocker(GoRoutineMap &map, const QString &name = QStringLiteral("blocker"))
        : m_map(map)
    {
        m_previousConcurrency = map.maxConcurrency();
        map.setMaxConcurrency(1);
        QSemaphore *started = &m_started;
        QSemaphore *release = &m_release;
        const Error err = map.run(name, [started, release] {
            started->release();
            release->acquire();
            return Error();
        });
        check(!err, "blocker accepted");
        m_started.acquire();
    }
    ~PoolBlocker()
    {
        m_release.release();
        m_map.waitForCompletion();
        m_map.setMaxConcurrency(m_previousConcurrency);
    }

private:
    GoRoutineMap &m_map;
    QSemaphore m_started;
    QSemaphore m_release;
    int m_previousConcurrency = 1;
};

// Runs body(i) on `threads` std::threads started together; returns the wall time.
double onThreads(int threads, const std::function<void(int)> &body)
{
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            body(t);
        });
    }
    while (ready.load() < threads)
        std::this_thread::yield();
    const double t0 = wallNs();
    go.store(true, std::memory_order_release);
    for (std::thread &t : pool)
        t.join();
    return wallNs() - t0;
}

// --- cycle measurements -----------------------------------------------------------------

// Context switches of the whole process so far (voluntary ones are futex sleeps, mostly).
double contextSwitches()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_nvcsw + usage.ru_nivcsw);
}

// One full cycle, per task: wall time, the caller's CPU time while submitting, and the
// process's context switches.
struct CycleSample
{
    double wallNs;
    double callerCpuNs;
    double switches;
};

template <typename Submit, typename Wait>
CycleSample measureCycle(qsizetype n, Submit submit, Wait wait)
{
    const double s0 = contextSwitches();
    const double t0 = wallNs();
    const double c0 = threadCpuNs();
    for (qsizetype i = 0; i < n; ++i)
        submit(i);
    const double c = threadCpuNs() - c0;
    wait();
    const double t = wallNs() - t0;
    const double switches = contextSwitches() - s0;
    return {t / double(n), c / double(n), switches / double(n)};
}

// QThreadPool::start of the no-op lambda n times, then waitForDone().
CycleSample bareCycle(QThreadPool &pool, qsizetype n)
{
    return measureCycle(
            n, [&](qsizetype) { pool.start([] { keep(noop()); }); }, [&] { pool.waitForDone(); });
}

// Wall ns per task of bareCycle().
double bareCycleNs(QThreadPool &pool, qsizetype n)
{
    return bareCycle(pool, n).wallNs;
}

// run() of n distinct names, then waitForCompletion().
CycleSample mapCycle(GoRoutineMap &map, const std::vector<QString> &names, qsizetype n)
{
    qsizetype refused = 0;
    const CycleSample sample = measureCycle(
            n, [&](qsizetype i) { refused += map.run(names[size_t(i)], noop).isError() ? 1 : 0; },
            [&] { map.waitForCompletion(); });
    check(refused == 0, "full cycle: every run accepted");
    return sample;
}

// Wall ns per operation of mapCycle().
double mapCycleNs(GoRoutineMap &map, const std::vector<QString> &names, qsizetype n)
{
    return mapCycle(map, names, n).wallNs;
}

struct CycleRatio
{
    double mapNs;
    double bareNs;
    double ratio;
};

// Interleaved repetitions; the ratio of the medians.
CycleRatio cycleRatio(GoRoutineMap &map, QThreadPool &bare, const std::vector<QString> &names,
                      qsizetype n, int reps)
{
    std::vector<double> m, b;
    for (int r = 0; r < reps; ++r) {
        b.push_back(bareCycleNs(bare, n));
        m.push_back(mapCycleNs(map, names, n));
        drainPostedEvents();
    }
    const double mm = median(m);
    const double bb = median(b);
    return {mm, bb, mm / bb};
}

// --- refusal measurements ---------------------------------------------------------------

// Thread-CPU ns per refused run() of one pending name.
double refusalNs(GoRoutineMap &map, const QString &name, qsizetype n)
{
    qsizetype refused = 0;
    const double t0 = threadCpuNs();
    for (qsizetype i = 0; i < n; ++i)
        refused += isAlreadyExists(map.run(name, noop)) ? 1 : 0;
    const double t = threadCpuNs() - t0;
    check(refused == n, "refusal: every run refused with AlreadyExists");
    return t / double(n);
}

// Thread-CPU ns per refused run(), cycling through pending names.
double rotatingRefusalNs(GoRoutineMap &map, const std::vector<QString> &names, qsizetype n)
{
    qsizetype refused = 0;
    const size_t count = names.size();
    size_t k = 0;
    const double t0 = threadCpuNs();
    for (qsizetype i = 0; i < n; ++i) {
        refused += isAlreadyExists(map.run(names[k], noop)) ? 1 : 0;
        if (++k == count)
            k = 0;
    }
    const double t = threadCpuNs() - t0;
    check(refused == n, "rotating refusal: every run refused with AlreadyExists");
    return t / double(n);
}

// The baseline: a std::mutex-guarded QHash::contains of the same name.
struct LockedHash
{
    std::mutex mutex;
    QHash<QString, int> hash;

    bool contains(const QString &name)
    {
        std::lock_guard lock(mutex);
        return hash.contains(name);
    }
};

// The "straightforward design", the same run's second baseline: one mutex, a QHash of
// pending names, one pool task per operation that removes its name when done.
struct StraightforwardMap
{
    explicit StraightforwardMap(QThreadPool &pool) : pool(pool) { }

    bool run(const QString &name)
    {
        {
            std::lock_guard lock(mutex);
            if (pending.contains(name))
                return false;
            pending.insert(name, true);
        }
        pool.start([this, name] {
            keep(noop());
            std::lock_guard lock(mutex);
            pending.remove(name);
        });
        return true;
    }

    QThreadPool &pool;
    std::mutex mutex;
    QHash<QString, bool> pending;
};

CycleSample straightforwardCycle(StraightforwardMap &m, const std::vector<QString> &names,
                                 qsizetype n)
{
    qsizetype refused = 0;
    const CycleSample sample = measureCycle(
            n, [&](qsizetype i) { refused += m.run(names[size_t(i)]) ? 0 : 1; },
            [&] { m.pool.waitForDone(); });
    check(refused == 0 && m.pending.isEmpty(), "straightforward design: every run accepted");
    return sample;
}

double lookupNs(LockedHash &h, const QString &name, qsizetype n)
{
    qsizetype found = 0;
    const double t0 = threadCpuNs();
    for (qsizetype i = 0; i < n; ++i) {
        found += h.contains(name) ? 1 : 0;
        keep(found);
    }
    const double t = threadCpuNs() - t0;
    check(found == n, "baseline lookup found");
    return t / double(n);
}

double rotatingLookupNs(LockedHash &h, const std::vector<QString> &names, qsizetype n)
{
    qsizetype found = 0;
    const size_t count = names.size();
    size_t k = 0;
    const double t0 = threadCpuNs();
    for (qsizetype i = 0; i < n; ++i) {
        found += h.contains(names[k]) ? 1 : 0;
        keep(found);
        if (++k == count)
            k = 0;
    }
    const double t = threadCpuNs() - t0;
    check(found == n, "baseline rotating lookup found");
    return t / double(n);
}

// --- the figures ------------------------------------------------------------------------

void figure1(QThreadPool &bare)
{
    progress("[1] full cycle: %lld no-op operations on distinct names, then waitForCompletion",
             (long long)cfg.cycleOps);
    GoRoutineMap map;
    bare.setMaxThreadCount(map.maxConcurrency());
    const std::vector<QString> names = makeNames("cycle/", cfg.cycleOps);
    mapCycleNs(map, names,
               std::min<qsizetype>(cfg.cycleOps, 50'000)); // warm-up: threads, allocator
    bareCycleNs(bare, std::min<qsizetype>(cfg.cycleOps, 50'000));
    const int reps = std::max(3, cfg.reps - 2);
    const CycleRatio r = cycleRatio(map, bare, names, cfg.cycleOps, reps);
    addRow("1", "full cycle, " + count(cfg.cycleOps) + " ops (ns/op)", ns(r.mapNs),
           ns(r.bareNs) + " bare QThreadPool::start", times(r.ratio), "<= 1.30x",
           verdictOf(r.ratio <= 1.3));

    // Where the time goes, from the same repetitions: the submitting thread's CPU time, the
    // context switches (pool threads woken), and the "straightforward design" (one
    // mutex, a QHash of pending names, one pool task per operation) on the same names.
    std::vector<CycleSample> plain, mapped, simple;
    StraightforwardMap straightforward(bare);
    for (int rep = 0; rep < reps; ++rep) {
        plain.push_back(bareCycle(bare, cfg.cycleOps));
        mapped.push_back(mapCycle(map, names, cfg.cycleOps));
        simple.push_back(straightforwardCycle(straightforward, names, cfg.cycleOps));
        drainPostedEvents();
    }
    const auto med = [](const std::vector<CycleSample> &v, double CycleSample::*field) {
        std::vector<double> x;
        for (const CycleSample &c : v)
            x.push_back(c.*field);
        return median(x);
    };
    const auto ratio = [](const std::vector<CycleSample> &a, const std::vector<CycleSample> &b,
                          double CycleSample::*field) {
        std::vector<double> x;
        for (size_t i = 0; i < a.size(); ++i)
            x.push_back(a[i].*field / b[i].*field);
        return median(x);
    };
    addRow("1", "... caller-thread CPU per task in those cycles",
           ns(med(mapped, &CycleSample::callerCpuNs)),
           ns(med(plain, &CycleSample::callerCpuNs)) + " bare",
           times(ratio(mapped, plain, &CycleSample::callerCpuNs)), "info", Verdict::Info);
    addRow("1", "... the straightforward design (one mutex, a QHash, the pool), same names",
           ns(med(simple, &CycleSample::wallNs))
                   + format(" (%.2fx bare)", ratio(simple, plain, &CycleSample::wallNs)),
           ns(med(mapped, &CycleSample::wallNs)) + " GoRoutineMap",
           times(ratio(mapped, simple, &CycleSample::wallNs)) + " map / straightforward", "info",
           Verdict::Info);
    addRow("1", "... context switches per 1,000 tasks in those cycles",
           format("%.0f", 1000 * med(mapped, &CycleSample::switches)),
           format("%.0f bare; %.0f straightforward", 1000 * med(plain, &CycleSample::switches),
                  1000 * med(simple, &CycleSample::switches)),
           "-", "info", Verdict::Info);
}

double figure2(double *baselineOut)
{
    progress("[2] refusal of a pending name: one thread, two threads");
    GoRoutineMap map;
    const int ideal = map.maxConcurrency();
    const QString hot = QStringLiteral("volume/pvc-0f3c2a71");
    const QString hotB = QStringLiteral("volume/pvc-9b81d4e6");
    const std::vector<QString> others = makeNames("volume/pvc-other-", 1000);

    LockedHash h;
    for (const QString &n : others)
        h.hash.insert(n, 1);
    h.hash.insert(hot, 1);
    h.hash.insert(hotB, 1);

    double refusal = 0;
    double baseline = 0;
    {
        PoolBlocker block(map);
        check(!map.run(hot, noop), "hot name queued");
        check(!map.run(hotB, noop), "second hot name queued");
        for (const QString &n : others)
            map.run(n, noop);
        check(map.isOperationPending(hot), "hot name pending");

        std::vector<double> m, b;
        refusalNs(map, hot, cfg.refusals / 10);
        lookupNs(h, hot, cfg.refusals / 10);
        for (int r = 0; r < cfg.reps; ++r) {
            b.push_back(lookupNs(h, hot, cfg.refusals));
            m.push_back(refusalNs(map, hot, cfg.refusals));
        }
        refusal = median(m);
        baseline = median(b);
        addRow("2", "refusal, 1 thread (ns/refusal)", ns(refusal),
               ns(baseline) + " mutex+QHash::contains", times(refusal / baseline), "<= 1.50x",
               verdictOf(refusal / baseline <= 1.5));

        // Two threads: the same name, and two different names.
        const qsizetype perThread = cfg.refusals;
        // Wall-clock throughput needs two free cores, which a shared machine may not give; so
        // each thread's CPU time is measured too. Contention (the cache line of a lock both
        // threads write) shows as CPU time per refusal growing with two threads; "on two free
        // cores" is 2 x (1-thread CPU cost / 2-thread CPU cost) times the 1-thread throughput.
        struct Scaling
        {
            double throughput; // refusals per wall second, all threads
            double cpuNs; // thread CPU per refusal
            double parallelism; // sum of thread CPU / wall: 2 when both ran all the time
        };
        auto scaling = [&](int threads, bool sameName, bool useMap) {
            std::vector<double> tp, cpu, par;
            for (int r = 0; r < cfg.reps; ++r) {
                std::vector<double> cpuOf(size_t(threads), 0.0);
                const double wall = onThreads(threads, [&](int t) {
                    const QString name = deepCopy(sameName || t == 0 ? hot : hotB);
                    qsizetype ok = 0;
                    const double c0 = threadCpuNs();
                    if (useMap) {
                        for (qsizetype i = 0; i < perThread; ++i)
                            ok += isAlreadyExists(map.run(name, noop)) ? 1 : 0;
                    } else {
                        for (qsizetype i = 0; i < perThread; ++i)
                            ok += h.contains(name) ? 1 : 0;
                    }
                    cpuOf[size_t(t)] = threadCpuNs() - c0;
                    check(ok == perThread, "threaded refusals");
                });
                const double cpuSum = std::accumulate(cpuOf.begin(), cpuOf.end(), 0.0);
                tp.push_back(double(perThread) * threads / wall * 1e9);
                cpu.push_back(cpuSum / double(perThread * threads));
                par.push_back(cpuSum / wall);
            }
            return Scaling{median(tp), median(cpu), median(par)};
        };
        const Scaling one = scaling(1, true, true);
        const Scaling same = scaling(2, true, true);
        const Scaling two = scaling(2, false, true);
        const Scaling baseOne = scaling(1, true, false);
        const Scaling baseSame = scaling(2, true, false);
        auto describe = [](const Scaling &s, const Scaling &single) {
            return format("%s (CPU %s/refusal, parallelism %.1f; 1 thread: %s, %s)",
                          perSecond(s.throughput).c_str(), ns(s.cpuNs).c_str(), s.parallelism,
                          perSecond(single.throughput).c_str(), ns(single.cpuNs).c_str());
        };
        const double sameFree = 2 * one.cpuNs / same.cpuNs;
        const double twoFree = 2 * one.cpuNs / two.cpuNs;
        addRow("2", "refusal, 2 threads, same name (throughput)", describe(same, one),
               describe(baseSame, baseOne),
               times(same.throughput / one.throughput)
                       + format(" measured, %.2fx on two free cores", sameFree),
               "> 1.00x (grows)", verdictOf(sameFree > 1.0));
        addRow("2", "refusal, 2 threads, two names (throughput)", describe(two, one), "-",
               times(two.throughput / one.throughput)
                       + format(" measured, %.2fx on two free cores", twoFree),
               "> 1.00x (grows)", verdictOf(twoFree > 1.0));

        // A backoff refusal builds its Error's details but not its text either.
        (void)ideal;
    }
    *baselineOut = baseline;
    return refusal;
}

void figure2Backoff(double baseline)
{
    GoRoutineMap map(true);
    BackoffPolicy policy;
    policy.setInitialDelay(std::chrono::hours(1));
    policy.setMaximumDelay(std::chrono::hours(2));
    map.setBackoffPolicy(policy);
    const QString name = QStringLiteral("volume/pvc-backing-off");
    map.run(name, fail);
    map.waitForCompletion();
    drainPostedEvents();
    auto once = [&](qsizetype n) {
        qsizetype refused = 0;
        const double t0 = threadCpuNs();
        for (qsizetype i = 0; i < n; ++i)
            refused += isExponentialBackoff(map.run(name, noop)) ? 1 : 0;
        const double t = threadCpuNs() - t0;
        check(refused == n, "backoff refusal");
        return t / double(n);
    };
    once(cfg.refusals / 10);
    std::vector<double> v;
    for (int r = 0; r < cfg.reps; ++r)
        v.push_back(once(cfg.refusals / 2));
    const double m = median(v);
    addRow("2", "refusal of a backing-off name, 1 thread", ns(m),
           ns(baseline) + " mutex+QHash::contains", times(m / baseline), "info (no target)",
           Verdict::Info);
}

void figure3(double unloadedRefusal)
{
    progress("[3] isOperationPending while another thread runs operations at full speed");
    GoRoutineMap map;
    const int ideal = map.maxConcurrency();
    map.setMaxConcurrency(ideal + 1); // one thread holds the probe; the load keeps the rest
    const QString probe = QStringLiteral("volume/pvc-probe");
    const QString absent = QStringLiteral("volume/pvc-absent");
    QSemaphore started, release;
    check(!map.run(probe,
                   [&] {
                       started.release();
                       release.acquire();
                       return Error();
                   }),
          "probe accepted");
    started.acquire();

    const std::vector<QString> names = makeNames("load/", 100'000);
    std::atomic<bool> stop{false};
    std::atomic<qint64> driven{0};
    std::thread driver([&] {
        size_t i = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (int k = 0; k < 1000; ++k) {
                map.run(names[i], noop);
                if (++i == names.size())
                    i = 0;
            }
            driven.fetch_add(1000, std::memory_order_relaxed);
            while (map.pendingCount() > 2000 && !stop.load(std::memory_order_relaxed))
                std::this_thread::yield();
        }
    });
    while (driven.load() < 20'000)
        std::this_thread::yield();

    auto pendingNs = [&](const QString &name, bool expected, qsizetype n) {
        qsizetype hits = 0;
        const double t0 = threadCpuNs();
        for (qsizetype i = 0; i < n; ++i)
            hits += map.isOperationPending(name) == expected ? 1 : 0;
        const double t = threadCpuNs() - t0;
        check(hits == n, "isOperationPending answers");
        return t / double(n);
    };
    std::vector<double> p, a, r;
    const double d0 = wallNs();
    const qint64 driven0 = driven.load();
    for (int k = 0; k < cfg.reps; ++k) {
        p.push_back(pendingNs(probe, true, cfg.refusals));
        a.push_back(pendingNs(absent, false, cfg.refusals));
        r.push_back(refusalNs(map, probe, cfg.refusals));
    }
    const double loadRate = double(driven.load() - driven0) / (wallNs() - d0) * 1e9;
    stop.store(true);
    driver.join();
    release.release();
    map.waitForCompletion();
    drainPostedEvents();

    const double pm = median(p);
    const double am = median(a);
    const double rm = median(r);
    addRow("3", "isOperationPending under load (ns/call)",
           ns(pm) + format(" (absent name: %s)", ns(am).c_str()),
           ns(rm) + " refusal, same load" + format(" (%s unloaded)", ns(unloadedRefusal).c_str()),
           times(std::max(pm, am) / rm), "<= 1.00x", verdictOf(std::max(pm, am) <= rm * 1.0));
    addRow("3", "  load meanwhile (runs/s on the other thread)", perSecond(loadRate), "-", "-",
           "info", Verdict::Info);
}

// A map with `backgroundNames` names backing off for an hour, and a mutex+QHash holding the
// same names, for figure 4.
struct FlatSubject
{
    explicit FlatSubject(qsizetype backgroundNames) : map(true)
    {
        BackoffPolicy policy;
        policy.setInitialDelay(std::chrono::hours(1));
        policy.setMaximumDelay(std::chrono::hours(2));
        map.setBackoffPolicy(policy);
        const std::vector<QString> background = makeNames("flat/backing-off/", backgroundNames);
        for (const QString &n : background) {
            map.run(n, fail);
            hash.hash.insert(n, 1);
        }
        map.waitForCompletion();
        drainPostedEvents();
        check(map.count() == backgroundNames, "background names backing off");
    }

    GoRoutineMap map;
    LockedHash hash;
};

// Bytes of old slot arrays a map holding n names has (all but a few thousand of them are old):
// 16 shards, each a power of two of 8-byte slots at most 4/5 full (lib/src/nametable_p.h).
size_t slotArrayBytes(qsizetype n)
{
    const double perShard = std::ceil(double(n) / 16 / 0.8);
    size_t capacity = 16;
    while (double(capacity) < perShard)
        capacity *= 2;
    return 16 * capacity * 8;
}

// Bytes of the old arrays' Bloom filters: 4 bits per old slot.
size_t filterBytes(qsizetype n)
{
    return slotArrayBytes(n) / 16;
}

// ns per dependent read of a random cache line in an array of \a bytes: what one cache miss
// into a table of that size costs on this machine (a pointer chase, so nothing overlaps).
double randomReadNs(size_t bytes)
{
    constexpr size_t Line = 64 / sizeof(size_t);
    const size_t lines = std::max<size_t>(2, bytes / 64);
    std::vector<size_t> next(lines * Line);
    std::vector<size_t> order(lines);
    std::iota(order.begin(), order.end(), size_t(0));
    std::mt19937_64 random(42);
    for (size_t i = lines - 1; i > 0; --i) // Sattolo: one cycle through every line
        std::swap(order[i], order[std::uniform_int_distribution<size_t>(0, i - 1)(random)]);
    for (size_t i = 0; i < lines; ++i)
        next[order[i] * Line] = order[(i + 1) % lines] * Line;
    const size_t reads = std::max<size_t>(lines * 4, 1'000'000);
    size_t at = 0;
    const double t0 = threadCpuNs();
    for (size_t i = 0; i < reads; ++i)
        at = next[at];
    const double t = threadCpuNs() - t0;
    keep(at);
    return t / double(reads);
}

void figure4(QThreadPool &bare)
{
    progress("[4] flat with size: %lld vs %lld names backing off in the map",
             (long long)cfg.flatSmall, (long long)cfg.flatLarge);
    FlatSubject small(cfg.flatSmall);
    FlatSubject large(cfg.flatLarge);
    bare.setMaxThreadCount(small.map.maxConcurrency());
    const std::string sizes = count(cfg.flatLarge) + " vs " + count(cfg.flatSmall);

    // Both sizes alternate within one stretch of time (ABBA, so that neither always runs
    // right after the other warmed the cycle's names), and the ratio is the median of the
    // repetitions' own ratios: measured one after the other, a cycle's own swings (2-4x bare
    // between runs) made this ratio land anywhere between 1.0x and 1.9x. Ten pairs: with
    // four, the median still moved by ±0.1x between runs.
    const std::vector<QString> cycleNames = makeNames("flat/cycle/", cfg.flatCycleOps);
    mapCycleNs(small.map, cycleNames, cfg.flatCycleOps); // warm-up
    mapCycleNs(large.map, cycleNames, cfg.flatCycleOps);
    // The same growth for a mutex+QHash of the same sizes, in thread CPU time: each name of a
    // cycle inserted, then each removed.
    const auto insertRemoveNs = [&cycleNames](LockedHash &h) {
        const double t0 = threadCpuNs();
        for (const QString &name : cycleNames) {
            std::lock_guard lock(h.mutex);
            h.hash.insert(name, 1);
        }
        for (const QString &name : cycleNames) {
            std::lock_guard lock(h.mutex);
            h.hash.remove(name);
        }
        return (threadCpuNs() - t0) / double(cycleNames.size());
    };
    std::vector<double> b, cs, cl, qs, ql, cycleRatios, hashRatios;
    for (int rep = 0; rep < 2 * std::max(4, cfg.reps); ++rep) {
        const bool smallFirst = rep % 2 == 0;
        b.push_back(bareCycleNs(bare, cfg.flatCycleOps));
        for (int k = 0; k < 2; ++k) {
            if ((k == 0) == smallFirst) {
                cs.push_back(mapCycleNs(small.map, cycleNames, cfg.flatCycleOps));
                qs.push_back(insertRemoveNs(small.hash));
            } else {
                cl.push_back(mapCycleNs(large.map, cycleNames, cfg.flatCycleOps));
                ql.push_back(insertRemoveNs(large.hash));
            }
        }
        cycleRatios.push_back(cl.back() / cs.back());
        hashRatios.push_back(ql.back() / qs.back());
        drainPostedEvents();
    }
    const double c = median(cycleRatios);
    addRow("4", "full cycle, " + sizes + " names (ns/op)",
           ns(median(cl)) + format(" (%.2fx bare)", median(cl) / median(b)),
           ns(median(cs)) + format(" (%.2fx bare)", median(cs) / median(b)), times(c), "<= 1.20x",
           verdictOf(c <= 1.2));
    // Whether the size costs the map what it costs a hash table: compare what each adds.
    addRow("4", "  what the size adds per name: map cycle vs mutex+QHash insert+remove",
           format("%+.0f ns", median(cl) - median(cs)),
           format("%+.0f ns (QHash: %s vs %s, %.2fx)", median(ql) - median(qs),
                  ns(median(ql)).c_str(), ns(median(qs)).c_str(), median(hashRatios)),
           "-", "info", Verdict::Info);
    // What bounds the size's cost: a new name reads one random line of the big map's old-array
    // filters (the small map has none: its names are all young), against a read in the small
    // map's slot arrays. And what it cost before the filter: a read in the old slot arrays.
    const size_t filtersBytes = filterBytes(cfg.flatLarge);
    const size_t largeBytes = slotArrayBytes(cfg.flatLarge);
    const size_t smallBytes = slotArrayBytes(cfg.flatSmall);
    std::vector<double> readFilters, readLarge, readSmall;
    for (int rep = 0; rep < 3; ++rep) {
        readFilters.push_back(randomReadNs(filtersBytes));
        readLarge.push_back(randomReadNs(largeBytes));
        readSmall.push_back(randomReadNs(smallBytes));
    }
    const auto size = [](size_t bytes) {
        return bytes >= (1 << 20) ? format("%.0f MiB", double(bytes) / (1 << 20))
                                  : format("%.0f KiB", double(bytes) / 1024);
    };
    addRow("4",
           "  one dependent random read in " + size(filtersBytes) + " (the big map's filters) vs "
                   + size(smallBytes) + " (the small map's slots)",
           ns(median(readFilters))
                   + format(" (in its %s of old slots: %s)", size(largeBytes).c_str(),
                            ns(median(readLarge)).c_str()),
           ns(median(readSmall)), format("%+.0f ns", median(readFilters) - median(readSmall)),
           "info", Verdict::Info);

    const std::vector<QString> hotNames = makeNames("flat/hot/", 1000);
    for (FlatSubject *subject : {&small, &large}) {
        for (const QString &n : hotNames)
            subject->hash.hash.insert(n, 1);
    }
    PoolBlocker blockSmall(small.map);
    PoolBlocker blockLarge(large.map);
    for (const QString &n : hotNames) {
        small.map.run(n, noop);
        large.map.run(n, noop);
    }
    refusalNs(small.map, hotNames[0], cfg.refusals / 10); // warm-up
    refusalNs(large.map, hotNames[0], cfg.refusals / 10);
    // Many short alternations: a neighbour's burst on the shared host then spoils a few
    // samples of both sizes rather than one size's whole measurement.
    const qsizetype n = cfg.refusals / 8;
    std::vector<double> hs, hl, rs, rl, ls, ll;
    for (int r = 0; r < 4 * cfg.reps; ++r) {
        hs.push_back(refusalNs(small.map, hotNames[0], n));
        hl.push_back(refusalNs(large.map, hotNames[0], n));
        rs.push_back(rotatingRefusalNs(small.map, hotNames, n));
        rl.push_back(rotatingRefusalNs(large.map, hotNames, n));
        ls.push_back(rotatingLookupNs(small.hash, hotNames, n));
        ll.push_back(rotatingLookupNs(large.hash, hotNames, n));
    }
    // A repeated refusal of one name is answered from the thread's refusal cache, without the
    // table: flat by design. Cycling over 1,000 names does probe the table each time.
    const double hr = median(hl) / median(hs);
    addRow("4", "refusal of one pending name (per-thread cache), " + sizes + " names",
           ns(median(hl)), ns(median(hs)), times(hr), "<= 1.20x", verdictOf(hr <= 1.2));
    const double rr = median(rl) / median(rs);
    addRow("4", "refusal cycling 1000 pending names, " + sizes + " names", ns(median(rl)),
           ns(median(rs)) + format(" (QHash grows %.2fx)", median(ll) / median(ls)), times(rr),
           "<= 1.20x", verdictOf(rr <= 1.2));
}

struct BackoffFigures
{
    qsizetype n;
    double failPhaseMs;
    double scheduleNsPerItem;
    double bytesPerEntry;
    double heapPerEntry;
    double expiryNsPerItem;
    double expiryTotalMs;
    int timers;
    bool allBackingOff;
};

BackoffFigures backoffAt(qsizetype n, std::chrono::milliseconds delay)
{
    const std::vector<QString> names = makeNames("backoff/pvc-", n);
    BackoffFigures f{};
    f.n = n;
    qsizetype expired = 0;
    {
        GoRoutineMap map(true);
        BackoffPolicy policy;
        policy.setInitialDelay(delay);
        policy.setMaximumDelay(delay * 2);
        map.setBackoffPolicy(policy);
        QObject::connect(&map, &GoRoutineMap::backoffExpired, &map, [&expired] { ++expired; });
        // Warm-up: threads started, allocator arenas touched.
        for (int i = 0; i < 100; ++i)
            map.run(QStringLiteral("warm-up"), noop), map.waitForCompletion();
        drainPostedEvents();

        const qint64 rss0 = trimmedRssBytes();
        const qint64 heap0 = heapInUseBytes();
        const double t0 = wallNs();
        for (const QString &name : names)
            map.run(name, fail);
        map.waitForCompletion();
        f.failPhaseMs = (wallNs() - t0) / 1e6;
        const qint64 rssUndelivered = trimmedRssBytes();
        const double c0 = threadCpuNs();
        drainPostedEvents(); // delivers the failures; each schedules its deadline in the heap
        f.scheduleNsPerItem = (threadCpuNs() - c0) / double(n);
        const qint64 rss1 = trimmedRssBytes();
        // Names were built before rss0 and the map shares them; the error text is a literal:
        // so the difference holds no name or error characters.
        f.bytesPerEntry = double(rss1 - rss0) / double(n);
        progress("  %lld failures in %.0f ms (window %lld ms); RSS per entry %.0f B before the "
                 "failures were "
                 "delivered, %.0f B after (deadlines scheduled)",
                 (long long)n, f.failPhaseMs, (long long)delay.count(),
                 double(rssUndelivered - rss0) / double(n), f.bytesPerEntry);
        f.heapPerEntry = double(heapInUseBytes() - heap0) / double(n);
        progress("  heap in use per entry (mallinfo2): %.0f B", f.heapPerEntry);
        f.timers = int(map.findChildren<QTimer *>(Qt::FindDirectChildrenOnly).size());
        f.allBackingOff =
                map.operationInfo(names.front()).state == OperationInfo::State::BackingOff;
        check(map.count() == n, "every failed name held");
        check(expired == 0, "no expiry before the snapshot");

        const double e0 = threadCpuNs();
        const double w0 = wallNs();
        while (expired < n)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
        f.expiryNsPerItem = (threadCpuNs() - e0) / double(n);
        f.expiryTotalMs = (wallNs() - w0) / 1e6;
        (void)f.expiryTotalMs;
        f.expiryTotalMs = f.expiryNsPerItem * double(n) / 1e6;
    }
    check(expired == n, "every backoff expired");
    return f;
}

void figure5()
{
    progress("[5] backoff at scale: %lld and %lld names backing off at once",
             (long long)cfg.backoffSmall, (long long)cfg.backoffLarge);
    // The large run goes first, before other figures than 8 allocate (and free) memory that
    // would otherwise hide part of its RSS. Its window must outlast its
    // failure phase so that all names are backing off at once: a small run calibrates it.
    const auto smallDelay = std::chrono::milliseconds(cfg.smoke ? 200 : 1000);
    const qsizetype calibration = std::max<qsizetype>(1000, cfg.backoffSmall / 10);
    const BackoffFigures probe = backoffAt(calibration, std::chrono::milliseconds(100));
    const double scale = double(cfg.backoffLarge) / double(calibration);
    const auto largeDelay = std::chrono::milliseconds(
            std::max<qint64>(smallDelay.count(), qint64(probe.failPhaseMs * scale * 3 + 1000)));
    const BackoffFigures large = backoffAt(cfg.backoffLarge, largeDelay);
    const BackoffFigures small = backoffAt(cfg.backoffSmall, smallDelay);

    const std::string n = count(large.n);
    addRow("5", "timers for " + n + " names backing off", format("%d", large.timers),
           large.allBackingOff ? "all backing off at once"
                               : "NOT all backing off at the snapshot (window too short)",
           "-", "1", verdictOf(large.timers == 1));
    addRow("5", "memory per backing-off entry (" + n + ", RSS)",
           format("%.0f B (heap in use %.0f B)", large.bytesPerEntry, large.heapPerEntry),
           format("heap in use %.0f B at %s", small.heapPerEntry, count(small.n).c_str()), "-",
           "<= 160 B", verdictOf(large.bytesPerEntry <= 160));
    const double perItem = large.expiryNsPerItem / small.expiryNsPerItem;
    const double logRatio = std::log2(double(large.n)) / std::log2(double(small.n));
    addRow("5", "all expiries processed (" + n + ", map-thread CPU)",
           format("%.0f ms total, %s/expiry", large.expiryTotalMs,
                  ns(large.expiryNsPerItem).c_str()),
           format("%s/expiry at %s", ns(small.expiryNsPerItem).c_str(), count(small.n).c_str()),
           times(perItem) + format(" per item (n log n: %.2fx)", logRatio), "O(n log n): < 2x",
           verdictOf(perItem < 2.0));
    addRow("5", "  deadlines scheduled (failure delivery, per item)", ns(large.scheduleNsPerItem),
           ns(small.scheduleNsPerItem) + " at " + count(small.n),
           times(large.scheduleNsPerItem / small.scheduleNsPerItem), "info", Verdict::Info);
}

void figure6(QThreadPool &bare)
{
    progress("[6] signals: end-to-end rate with receivers in the map's thread; cost with nobody "
             "connected");
    const std::vector<QString> names = makeNames("signal/", cfg.cycleOps);
    std::vector<double> rates, costs, bares, unobserved, unobservedBare;
    for (int r = 0; r < std::max(3, cfg.reps - 2); ++r) {
        GoRoutineMap map;
        bare.setMaxThreadCount(map.maxConcurrency());
        qsizetype queued = 0, startedCount = 0, finished = 0;
        QObject::connect(&map, &GoRoutineMap::operationQueued, &map, [&] { ++queued; });
        QObject::connect(&map, &GoRoutineMap::operationStarted, &map, [&] { ++startedCount; });
        QObject::connect(&map, &GoRoutineMap::operationFinished, &map, [&] { ++finished; });
        bares.push_back(bareCycleNs(bare, cfg.cycleOps));
        const double t0 = wallNs();
        std::thread driver([&] {
            for (const QString &n : names)
                map.run(n, noop);
        });
        while (finished < cfg.cycleOps)
            QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
        const double t = wallNs() - t0;
        driver.join();
        check(queued == cfg.cycleOps && startedCount == cfg.cycleOps, "every signal delivered");
        rates.push_back(double(cfg.cycleOps) / t * 1e9);
        costs.push_back(t / double(cfg.cycleOps));

        // Nobody connected (after a connect and a disconnect): signals must cost nothing.
        GoRoutineMap quiet;
        const auto c = QObject::connect(&quiet, &GoRoutineMap::operationFinished, &quiet, [] {});
        QObject::disconnect(c);
        mapCycleNs(quiet, names, cfg.cycleOps / 10); // warm-up
        unobservedBare.push_back(bareCycleNs(bare, cfg.cycleOps));
        unobserved.push_back(mapCycleNs(quiet, names, cfg.cycleOps));
        drainPostedEvents();
    }
    const double rate = median(rates);
    const double cost = median(costs);
    const double b = median(bares);
    addRow("6", "end-to-end: finish signals delivered (3 receivers)",
           perSecond(rate) + format(" = %s/op", ns(cost).c_str()), ns(b) + " bare", times(cost / b),
           "reported", Verdict::Info);
    const double u = median(unobserved) / median(unobservedBare);
    addRow("6", "full cycle, nobody connected (after connect+disconnect)", ns(median(unobserved)),
           ns(median(unobservedBare)) + " bare", times(u), "<= 1.30x (as 1)", verdictOf(u <= 1.3));
}

// Stands in for a view: counts the model's signals and, like QWidget::update(), coalesces
// them into one repaint per event-loop turn that reads the visible cells.
class CountingView : public QObject
{
public:
    explicit CountingView(QAbstractItemModel *model) : m_model(model)
    {
        auto touch = [this] { schedule(); };
        connect(model, &QAbstractItemModel::rowsInserted, this, touch);
        connect(model, &QAbstractItemModel::rowsRemoved, this, touch);
        connect(model, &QAbstractItemModel::dataChanged, this, touch);
        connect(model, &QAbstractItemModel::modelReset, this, touch);
        connect(model, &QAbstractItemModel::layoutChanged, this, touch);
        connect(model, &QAbstractItemModel::rowsMoved, this, touch);
    }

    qint64 signalCount = 0;
    qint64 repaints = 0;

private:
    void schedule()
    {
        ++signalCount;
        if (m_scheduled)
            return;
        m_scheduled = true;
        QMetaObject::invokeMethod(
                this, [this] { paint(); }, Qt::QueuedConnection);
    }
    void paint()
    {
        m_scheduled = false;
        ++repaints;
        const int rows = std::min(40, m_model->rowCount());
        const int columns = m_model->columnCount();
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < columns; ++c)
                keep(m_model->data(m_model->index(r, c), Qt::DisplayRole));
    }

    QAbstractItemModel *m_model;
    bool m_scheduled = false;
};

void figure7()
{
    progress("[7] the model: %d rows, %d ops/s churn for %.1f s", cfg.modelRows,
             cfg.modelOpsPerSecond, cfg.modelSeconds);
    GoRoutineMap map(true);
    BackoffPolicy policy;
    policy.setInitialDelay(std::chrono::minutes(10));
    policy.setMaximumDelay(std::chrono::minutes(20));
    map.setBackoffPolicy(policy);
    const std::vector<QString> rowsNames = makeNames("model/backing-off/", cfg.modelRows);
    for (const QString &n : rowsNames)
        map.run(n, fail);
    map.waitForCompletion();
    drainPostedEvents();

    OperationsModel model(&map);
    model.flush();
    CountingView view(&model);
    const int rows0 = model.rowCount();
    check(rows0 == cfg.modelRows, "model shows every backing-off name");

    const std::vector<QString> churn = makeNames("model/churn/", 400'000);
    std::atomic<bool> stop{false};
    std::atomic<qint64> accepted{0};
    std::atomic<qint64> submitted{0};
    std::thread driver([&] {
        const int perMs = std::max(1, cfg.modelOpsPerSecond / 1000);
        auto next = SteadyClock::now();
        size_t i = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            for (int k = 0; k < perMs; ++k) {
                // One in fifty fails: a new row that backs off; the rest come and go.
                const bool failing = i % 50 == 49;
                const Error err = failing ? map.run(churn[i], fail) : map.run(churn[i], noop);
                if (!err)
                    accepted.fetch_add(1, std::memory_order_relaxed);
                submitted.fetch_add(1, std::memory_order_relaxed);
                if (++i == churn.size())
                    i = 0;
            }
            next += std::chrono::milliseconds(1);
            std::this_thread::sleep_until(next);
        }
    });
    // Let the churn settle, then measure a window.
    {
        QEventLoop loop;
        QTimer::singleShot(200, &loop, &QEventLoop::quit);
        loop.exec();
    }
    const qint64 signals0 = view.signalCount;
    const qint64 repaints0 = view.repaints;
    const qint64 accepted0 = accepted.load();
    const double c0 = threadCpuNs();
    const double w0 = wallNs();
    {
        QEventLoop loop;
        QTimer::singleShot(int(cfg.modelSeconds * 1000), &loop, &QEventLoop::quit);
        loop.exec();
    }
    const double wall = wallNs() - w0;
    const double cpu = threadCpuNs() - c0;
    const double acceptedRate = double(accepted.load() - accepted0) / wall * 1e9;
    stop.store(true);
    driver.join();
    map.waitForCompletion();

    const double seconds = wall / 1e9;
    const double updates = double(view.repaints - repaints0) / seconds;
    const double modelSignals = double(view.signalCount - signals0) / seconds;
    const double busy = cpu / wall;
    addRow("7", format("model updates reaching the view (%d rows)", rows0),
           format("%.1f /s (%.0f model signals/s)", updates, modelSignals), "-", "-", "<= 30 /s",
           verdictOf(updates <= 30));
    addRow("7", "GUI-thread busy share during churn", format("%.1f %%", busy * 100),
           format("churn %s accepted, %d rows at end", perSecond(acceptedRate).c_str(),
                  model.rowCount()),
           "-", "< 30 %", verdictOf(busy < 0.30));
}

void figure8()
{
    progress("[8] memory over %lld operations (receivers connected)", (long long)cfg.memoryOps);
    GoRoutineMap map(true);
    qsizetype finished = 0;
    QObject::connect(&map, &GoRoutineMap::operationFinished, &map, [&] { ++finished; });
    const std::vector<QString> names = makeNames("memory/", cfg.memoryBatch);
    std::vector<qint64> samples;
    qint64 afterWarmup = 0;
    qint64 heapAfterWarmup = 0;
    std::vector<qint64> heapSamples;
    qint64 trimmedAfterWarmup = 0;
    std::vector<qint64> trimmedSamples;
    qsizetype done = 0;
    const qsizetype sampleEvery = std::max<qsizetype>(cfg.memoryBatch, cfg.memoryOps / 20);
    while (done < cfg.memoryOps) {
        for (const QString &n : names)
            map.run(n, noop);
        map.waitForCompletion();
        drainPostedEvents();
        done += cfg.memoryBatch;
        if (done == cfg.memoryWarmup)
            afterWarmup = rssBytes(), heapAfterWarmup = heapInUseBytes(),
            trimmedAfterWarmup = trimmedRssBytes();
        if (done > cfg.memoryWarmup && done % sampleEvery == 0)
            samples.push_back(rssBytes()), heapSamples.push_back(heapInUseBytes()),
                    trimmedSamples.push_back(trimmedRssBytes());
    }
    check(finished == done, "every finish delivered");
    check(map.count() == 0, "map empty afterwards");
    std::string trace;
    for (const qint64 sample : samples)
        trace += format(" %+.0f", double(sample - afterWarmup) / 1024.0);
    progress("  RSS after warm-up (KiB, every %lld ops):%s", (long long)sampleEvery, trace.c_str());
    trace.clear();
    for (const qint64 sample : heapSamples)
        trace += format(" %+.0f", double(sample - heapAfterWarmup) / 1024.0);
    progress("  heap in use after warm-up (KiB):%s", trace.c_str());
    trace.clear();
    for (const qint64 sample : trimmedSamples)
        trace += format(" %+.0f", double(sample - trimmedAfterWarmup) / 1024.0);
    progress("  RSS after malloc_trim, after warm-up (KiB):%s", trace.c_str());
    // Growth = mean of the second half of the samples minus mean of the first half: the
    // allocator's state makes single samples swing by megabytes either way.
    auto halves = [](const std::vector<qint64> &v) {
        if (v.size() < 2)
            return 0.0;
        const size_t h = v.size() / 2;
        const double first = std::accumulate(v.begin(), v.begin() + qsizetype(h), 0.0) / double(h);
        const double second = std::accumulate(v.end() - qsizetype(h), v.end(), 0.0) / double(h);
        return (second - first) / 1024.0;
    };
    auto swing = [](const std::vector<qint64> &v) {
        if (v.empty())
            return 0.0;
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        return double(*hi - *lo) / 1048576.0;
    };
    const double heapGrowth = halves(heapSamples);
    const double rssGrowth = halves(trimmedSamples);
    const std::string span = "after " + count(cfg.memoryWarmup) + " warm-up ops, over "
            + count(cfg.memoryOps) + " ops";
    // The halves' means lie half the sampled operations apart. Heap in use moves in steps of
    // a few hundred KiB either way (queues' spines and the allocator's caches, reused, never
    // growing), so "flat" is judged at 1 MiB: a leak of a quarter byte per operation or more.
    const double opsBetweenHalves = double(cfg.memoryOps - cfg.memoryWarmup) / 2;
    addRow("8", "heap in use (mallinfo2), growth " + span,
           format("%+.0f KiB (%+.3f B/op)", heapGrowth, heapGrowth * 1024 / opsBetweenHalves),
           format("%.1f MiB at warm-up", double(heapAfterWarmup) / 1048576.0), "-",
           "flat (<= 1 MiB)", verdictOf(heapGrowth <= 1024));
    addRow("8", "RSS after malloc_trim, growth " + span,
           format("%+.0f KiB (samples swing %.1f MiB; untrimmed RSS swing %.1f MiB)", rssGrowth,
                  swing(trimmedSamples), swing(samples)),
           format("%.1f MiB at warm-up", double(trimmedAfterWarmup) / 1048576.0), "-",
           "flat (<= 2 MiB)", verdictOf(rssGrowth <= 2048));
}

void printTable()
{
    std::printf("\n| # | Figure | GoRoutineMap | Baseline (same run) | Ratio | Target | Met |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (const Row &r : table) {
        const char *v = r.verdict == Verdict::Met ? "yes"
                : r.verdict == Verdict::NotMet    ? "**no**"
                                                  : "-";
        std::printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.figure.c_str(), r.what.c_str(),
                    r.map.c_str(), r.baseline.c_str(), r.ratio.c_str(), r.target.c_str(), v);
    }
    std::fflush(stdout);
}

std::string cpuModel()
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    // The failures the benchmark provokes on purpose would otherwise print a million warnings.
    QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));

    const QStringList args = app.arguments();
    for (qsizetype i = 1; i < args.size(); ++i) {
        const QString &a = args.at(i);
        if (a == QLatin1String("--smoke")) {
            cfg.makeSmoke();
        } else if (a == QLatin1String("--only") && i + 1 < args.size()) {
            for (const QString &f : args.at(++i).split(QLatin1Char(',')))
                cfg.only.insert(f.toInt());
        } else if (a == QLatin1String("--reps") && i + 1 < args.size()) {
            cfg.reps = std::max(1, args.at(++i).toInt());
        } else {
            std::fprintf(stderr, "usage: %s [--smoke] [--only 1,2,...] [--reps N]\n", argv[0]);
            return 2;
        }
    }

    std::printf("goroutinemap-bench%s: %d cores (QThread::idealThreadCount), CPU %s, Qt %s, %s\n",
                cfg.smoke ? " --smoke" : "", QThread::idealThreadCount(), cpuModel().c_str(),
                qVersion(),
#ifdef GOROUTINEMAP_BENCH_UNOPTIMIZED
                "UNOPTIMIZED build (figures meaningless; smoke only)"
#else
                "optimized build"
#endif
    );
    std::fflush(stdout);

    QThreadPool bare;
    double baseline = 0;
    double refusal = 0;
    // The memory figures first: RSS means most in a process that has not churned memory yet.
    // (After figure 4's two million-name maps, trimmed RSS swung by 20 MiB in figure 8; after
    // figure 5 by 6-9 MiB. Figure 5's million entries are far less sensitive to figure 8's.)
    if (cfg.wants(8))
        figure8();
    if (cfg.wants(5))
        figure5();
    if (cfg.wants(1))
        figure1(bare);
    if (cfg.wants(2) || cfg.wants(3)) {
        refusal = figure2(&baseline);
        if (cfg.wants(2))
            figure2Backoff(baseline);
    }
    if (cfg.wants(3))
        figure3(refusal);
    if (cfg.wants(4))
        figure4(bare);
    if (cfg.wants(6))
        figure6(bare);
    if (cfg.wants(7))
        figure7();

    printTable();
    if (failures > 0) {
        std::fprintf(stderr, "%d benchmark checks failed\n", failures);
        return 1;
    }
    return 0;
}
