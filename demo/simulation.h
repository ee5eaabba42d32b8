// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>

#include <QList>
#include <QObject>
#include <QPointer>
#include <QRandomGenerator>
#include <QString>

#include <chrono>

QT_BEGIN_NAMESPACE
class QTimer;
QT_END_NAMESPACE

namespace goroutinemap {
class GoRoutineMap;
class OperationContext;
} // namespace goroutinemap

namespace goroutinemap::demo {

//! One scripted operation: how long it works and how it ends.
struct SimulatedOperation
{
    enum class Outcome { Succeed, Fail, Throw };

    QString name;
    std::chrono::milliseconds duration{1000};
    Outcome outcome = Outcome::Succeed;
    //! Reports progress and status through the OperationContext while it works.
    bool reportProgress = true;
    //! How often the map reruns it by itself after a failure (RunOptions::maxRetries).
    int maxRetries = 0;
};

//! Many operations over a few names, so that refusals happen.
struct BurstSpec
{
    int count = 50; //!< Operations to submit.
    int names = 5; //!< Distinct names they share ("burst-1" …).
    int failurePercent = 30; //!< Chance of each to fail (a third of failures throw).
    std::chrono::milliseconds minDuration{100};
    std::chrono::milliseconds maxDuration{1500};
    std::chrono::milliseconds spread{2000}; //!< Submissions are spread over this long.
    QString prefix = QStringLiteral("burst");
};

/*!
    \brief Scripted, simulated operations: chosen durations and outcomes (succeed, fail,
    throw), bursts with a failure rate, and the looping scenario the demo starts with.

    A simulated operation sleeps in small steps on its pool thread, reports progress
    through its OperationContext and stops early when canceled.

    Threads: the object lives in and is called from the GUI thread (the map's thread);
    only the operation functions run on the map's pool, and they touch nothing of this
    object.
*/
class Simulation : public QObject
{
    Q_OBJECT
public:
    explicit Simulation(GoRoutineMap *map, QObject *parent = nullptr);
    ~Simulation() override;

    //! Submits \a op now; returns the map's answer. A refusal is also emitted as refused().
    Error run(const SimulatedOperation &op);

    //! Schedules a burst; its operations are submitted over BurstSpec::spread.
    void burst(const BurstSpec &spec);

    /*!
        Starts the demo scenario: long and short runs with progress, a flaky name that
        fails and retries, one that throws, repeated names that get refused and a small
        burst. Every state shows within two seconds. With \a loop it repeats every
        cycle for as long as the demo runs.
    */
    void startScenario(bool loop);

    //! Drops every submission not made yet and stops the scenario (running ones go on).
    void stop();

    //! True when nothing is scheduled any more (running operations are the map's business).
    bool isIdle() const;

    //! Seeds the random generator (bursts), for reproducible runs.
    void setSeed(quint32 seed) { m_random.seed(seed); }

    //! The function a simulated operation runs; public for tests. Any pool thread.
    static Error simulate(OperationContext &context, const SimulatedOperation &op);

Q_SIGNALS:
    //! A submission was refused (AlreadyExists or ExponentialBackoff).
    void refused(const goroutinemap::Error &error);
    //! Emitted when the last scheduled submission was made.
    void idle();

private:
    struct Scheduled
    {
        std::chrono::milliseconds at;
        SimulatedOperation op;
    };
    void schedule(QList<Scheduled> items);
    void submitDue();
    void runScenarioCycle();

    QPointer<GoRoutineMap> m_map;
    QRandomGenerator m_random;
    QTimer *m_timer;
    QTimer *m_scenarioTimer;
    //! Pending submissions, ordered by due time (monotonic milliseconds).
    QList<std::pair<qint64, SimulatedOperation>> m_queue;
    int m_cycle = 0;
};

} // namespace goroutinemap::demo
