// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <chrono>
#include <utility>
#include <vector>

namespace goroutinemap::demo {

/*!
    \brief Measures how responsive the event loop of its thread is: a precise timer
    ticks every interval() and the longest gap between two ticks is kept. A gap of
    interval() means the loop never stalled; anything above it is time the loop was
    busy elsewhere (a stall).

    Also samples the process's resident memory and notes how much CPU other processes used
    meanwhile (Linux /proc), for the end-of-run report: a gap is only the demo's doing when
    nothing else competed for the cores.

    Lives in and measures the thread it was created in (the GUI thread in the demo).
*/
class StallMonitor : public QObject
{
    Q_OBJECT
public:
    explicit StallMonitor(std::chrono::milliseconds interval = std::chrono::milliseconds(10),
                          QObject *parent = nullptr);

    void start();
    void stop();
    bool isActive() const { return m_timer.isActive(); }
    std::chrono::milliseconds interval() const { return m_interval; }

    //! The longest gap between two ticks, in milliseconds (interval() when nothing stalled).
    double maxGapMs() const { return double(m_maxGapNs) / 1e6; }
    //! When the longest gap ended, in milliseconds since start().
    qint64 maxGapAtMs() const { return m_maxGapAtMs; }
    //! How many gaps exceeded 50 ms.
    qint64 gapsOver50Ms() const { return m_over50; }
    /*!
        The most CPU time the measured thread used between two ticks, in milliseconds: the
        longest piece of work the event loop did. Unlike a gap it does not grow when other
        processes take the CPU away (Linux and other POSIX systems; -1 elsewhere).
    */
    double maxBusyMs() const { return m_maxBusyNs < 0 ? -1.0 : double(m_maxBusyNs) / 1e6; }
    qint64 ticks() const { return m_ticks; }

    //! The process's resident set size now, in KiB (0 where unknown).
    static qint64 residentKiB();
    //! The process's peak resident set size, in KiB (0 where unknown).
    static qint64 peakResidentKiB();

    /*!
        Notes the resident memory now as the baseline ("start") and, with \a label,
        as a named sample that report() lists.
    */
    void sampleMemory(const QString &label);

    /*!
        Everything measured: ticks, maxGapMs, maxStallMs, gapsOver50Ms, the five longest
        gaps with when they ended, maxBusyMs, memory samples in KiB, and otherProcessesCpu:
        how many cores other processes kept busy on average since start() (Linux; -1
        elsewhere).
    */
    QJsonObject report() const;

private:
    void tick();

    std::chrono::milliseconds m_interval;
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastNs = 0;
    qint64 m_maxGapNs = 0;
    qint64 m_maxGapAtMs = 0;
    qint64 m_over50 = 0;
    qint64 m_ticks = 0;
    qint64 m_lastCpuNs = 0;
    qint64 m_maxBusyNs = -1;
    qint64 m_systemBusyAtStart = 0; //!< Clock ticks all CPUs were busy, at start().
    qint64 m_selfAtStart = 0; //!< Clock ticks this process used, at start().
    //! The longest gaps, longest first: {gap ns, when it ended in ms}.
    std::vector<std::pair<qint64, qint64>> m_worst;
    QJsonObject m_memory;
};

} // namespace goroutinemap::demo
