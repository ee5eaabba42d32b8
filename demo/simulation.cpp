// SPDX-License-Identifier: Apache-2.0
#include "simulation.h"

#include "background.h"

#include <goroutinemap/goroutinemap.h>

#include <QCoreApplication>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <stdexcept>

namespace goroutinemap::demo {

namespace {
qint64 nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
            .count();
}
} // namespace

Simulation::Simulation(GoRoutineMap *map, QObject *parent)
    : QObject(parent),
      m_map(map),
      m_random(QRandomGenerator::securelySeeded()),
      m_timer(new QTimer(this)),
      m_scenarioTimer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &Simulation::submitDue);
    connect(m_scenarioTimer, &QTimer::timeout, this, &Simulation::runScenarioCycle);
}

Simulation::~Simulation() = default;

Error Simulation::simulate(OperationContext &context, const SimulatedOperation &op)
{
    makeCurrentThreadBackground();
    using namespace std::chrono;
    const auto start = Clock::now();
    const auto end = start + op.duration;
    const auto step = milliseconds(25);
    int lastPercent = -1;
    if (op.reportProgress)
        context.setStatus(QCoreApplication::translate("goroutinemap::demo::Simulation", "working"));
    for (auto now = start; now < end; now = Clock::now()) {
        if (context.isCancellationRequested())
            return Error(QCoreApplication::translate("goroutinemap::demo::Simulation",
                                                     "canceled after %1 ms")
                                 .arg(duration_cast<milliseconds>(now - start).count()));
        QThread::msleep(
                std::min<qint64>(step.count(), duration_cast<milliseconds>(end - now).count() + 1));
        if (op.reportProgress) {
            const auto done = duration_cast<milliseconds>(Clock::now() - start).count();
            const int percent = int(
                    std::min<qint64>(100, done * 100 / std::max<qint64>(1, op.duration.count())));
            if (percent != lastPercent) {
                context.setProgress(percent);
                lastPercent = percent;
            }
        }
    }
    switch (op.outcome) {
    case SimulatedOperation::Outcome::Succeed:
        return Error();
    case SimulatedOperation::Outcome::Fail:
        return Error(QCoreApplication::translate("goroutinemap::demo::Simulation",
                                                 "simulated failure after %1 ms")
                             .arg(op.duration.count()));
    case SimulatedOperation::Outcome::Throw:
        // The map catches it and reports a failure with what() as its text.
        throw std::runtime_error("simulated exception");
    }
    return Error();
}

Error Simulation::run(const SimulatedOperation &op)
{
    if (!m_map)
        return Error::make(Error::Kind::InvalidArgument, op.name);
    RunOptions options;
    options.maxRetries = op.maxRetries;
    const Error err = m_map->run(
            op.name, [op](OperationContext &context) { return simulate(context, op); }, options);
    if (isAlreadyExists(err) || isExponentialBackoff(err))
        Q_EMIT refused(err);
    return err;
}

void Simulation::burst(const BurstSpec &spec)
{
    QList<Scheduled> items;
    items.reserve(spec.count);
    const int names = std::max(1, spec.names);
    const qint64 minMs = std::max<qint64>(0, spec.minDuration.count());
    const qint64 maxMs = std::max<qint64>(minMs + 1, spec.maxDuration.count());
    for (int i = 0; i < spec.count; ++i) {
        Scheduled s;
        s.at = std::chrono::milliseconds(
                spec.spread.count() > 0 ? qint64(m_random.bounded(quint32(spec.spread.count())))
                                        : 0);
        s.op.name = QStringLiteral("%1-%2")
                            .arg(spec.prefix)
                            .arg(1 + int(m_random.bounded(quint32(names))));
        s.op.duration =
                std::chrono::milliseconds(minMs + qint64(m_random.bounded(quint32(maxMs - minMs))));
        const int roll = int(m_random.bounded(100u));
        if (roll < spec.failurePercent)
            s.op.outcome = roll * 3 < spec.failurePercent ? SimulatedOperation::Outcome::Throw
                                                          : SimulatedOperation::Outcome::Fail;
        items.append(s);
    }
    schedule(std::move(items));
}

void Simulation::schedule(QList<Scheduled> items)
{
    const qint64 now = nowMs();
    for (Scheduled &s : items)
        m_queue.append({now + s.at.count(), std::move(s.op)});
    std::stable_sort(m_queue.begin(), m_queue.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    submitDue();
}

void Simulation::submitDue()
{
    const qint64 now = nowMs();
    int submitted = 0;
    while (!m_queue.isEmpty() && m_queue.constFirst().first <= now) {
        const SimulatedOperation op = m_queue.takeFirst().second;
        run(op);
        ++submitted;
    }
    if (!m_queue.isEmpty()) {
        m_timer->start(int(std::max<qint64>(0, m_queue.constFirst().first - now)));
    } else if (submitted > 0 && !m_scenarioTimer->isActive()) {
        Q_EMIT idle();
    }
}

void Simulation::startScenario(bool loop)
{
    m_cycle = 0;
    runScenarioCycle();
    if (loop)
        m_scenarioTimer->start(15000);
}

void Simulation::runScenarioCycle()
{
    using namespace std::chrono_literals;
    using Outcome = SimulatedOperation::Outcome;
    ++m_cycle;
    auto op = [](QString name, std::chrono::milliseconds d, Outcome o = Outcome::Succeed,
                 int retries = 0) {
        SimulatedOperation s;
        s.name = std::move(name);
        s.duration = d;
        s.outcome = o;
        s.maxRetries = retries;
        return s;
    };
    QList<Scheduled> items = {
            // Long runs with progress: busy/partial bars.
            {0ms, op(QStringLiteral("sim/download-installer"), 9000ms)},
            {0ms, op(QStringLiteral("sim/sync-calendar"), 2500ms)},
            // Fails and is retried by the map each time its window ends: 0.5 s, 1 s, 2 s, 4 s.
            {50ms, op(QStringLiteral("sim/flaky-remote-api"), 300ms, Outcome::Fail, 4)},
            // Throws: a failure like any other, the process goes on.
            {100ms, op(QStringLiteral("sim/crashing-plugin"), 600ms, Outcome::Throw, 2)},
            {150ms, op(QStringLiteral("sim/render-thumbnails"), 3500ms)},
            {200ms, op(QStringLiteral("sim/index-mailbox"), 5000ms)},
            {250ms, op(QStringLiteral("sim/compress-logs"), 4000ms)},
            {300ms, op(QStringLiteral("sim/upload-report"), 1200ms, Outcome::Fail)},
            // The same names again while pending or backing off: refused.
            {1000ms, op(QStringLiteral("sim/sync-calendar"), 1000ms)},
            {1600ms, op(QStringLiteral("sim/upload-report"), 1000ms)},
            {2200ms, op(QStringLiteral("sim/upload-report"), 800ms)},
    };
    // More work than the pool has threads, so that some of it waits (Queued) early on.
    const int threads = m_map ? m_map->maxConcurrency() : 8;
    for (int i = 1; i <= qMax(0, threads - 6) + 3; ++i)
        items.append({400ms + std::chrono::milliseconds(20 * i),
                      op(QStringLiteral("sim/render-page-%1").arg(i), 1500ms + 100ms * (i % 8))});
    schedule(std::move(items));

    BurstSpec spec;
    spec.count = 16;
    spec.names = 4;
    spec.failurePercent = 35;
    spec.minDuration = 300ms;
    spec.maxDuration = 2500ms;
    spec.spread = 3000ms;
    spec.prefix = QStringLiteral("sim/burst");
    burst(spec);
}

void Simulation::stop()
{
    m_queue.clear();
    m_timer->stop();
    m_scenarioTimer->stop();
}

bool Simulation::isIdle() const
{
    return m_queue.isEmpty() && !m_scenarioTimer->isActive();
}

} // namespace goroutinemap::demo
