// SPDX-License-Identifier: Apache-2.0
#include "stallmonitor.h"

#include <QFile>
#include <QJsonArray>

#include <algorithm>

#include <ctime>

#include <unistd.h>

namespace goroutinemap::demo {

namespace {
qint64 statusField(const char *field)
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly | QIODevice::Text))
        return 0;
    const QByteArray key = QByteArray(field) + ':';
    const QList<QByteArray> lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(key))
            return line.mid(key.size()).trimmed().split(' ').value(0).toLongLong();
    }
    return 0;
}
// Clock ticks all CPUs spent busy (everything but idle and iowait), from /proc/stat.
qint64 systemBusyTicks()
{
    QFile stat(QStringLiteral("/proc/stat"));
    if (!stat.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    const QList<QByteArray> fields = stat.readLine().simplified().split(' ');
    if (fields.size() < 6 || fields.first() != "cpu")
        return -1;
    qint64 busy = 0;
    for (int i = 1; i < fields.size(); ++i) {
        if (i != 4 && i != 5) // idle, iowait
            busy += fields.at(i).toLongLong();
    }
    return busy;
}

// Clock ticks this process used (user + system), from /proc/self/stat.
qint64 selfTicks()
{
    QFile stat(QStringLiteral("/proc/self/stat"));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = stat.readAll();
    // The command name may contain spaces; the fields after it are space-separated.
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    return fields.at(11).toLongLong() + fields.at(12).toLongLong(); // utime, stime
}

// CPU time the calling thread has used, in nanoseconds; -1 where unknown.
qint64 threadCpuNs()
{
#if defined(CLOCK_THREAD_CPUTIME_ID)
    timespec ts{};
    if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        return qint64(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
#endif
    return -1;
}

} // namespace

StallMonitor::StallMonitor(std::chrono::milliseconds interval, QObject *parent)
    : QObject(parent), m_interval(interval)
{
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setInterval(m_interval);
    connect(&m_timer, &QTimer::timeout, this, &StallMonitor::tick);
}

void StallMonitor::start()
{
    m_clock.start();
    m_lastNs = 0;
    m_maxGapNs = 0;
    m_over50 = 0;
    m_ticks = 0;
    m_worst.clear();
    m_lastCpuNs = threadCpuNs();
    m_maxBusyNs = m_lastCpuNs < 0 ? -1 : 0;
    m_systemBusyAtStart = systemBusyTicks();
    m_selfAtStart = selfTicks();
    m_timer.start();
}

void StallMonitor::stop()
{
    m_timer.stop();
}

void StallMonitor::tick()
{
    const qint64 now = m_clock.nsecsElapsed();
    const qint64 gap = now - m_lastNs;
    m_lastNs = now;
    ++m_ticks;
    if (m_maxBusyNs >= 0) {
        const qint64 cpu = threadCpuNs();
        m_maxBusyNs = qMax(m_maxBusyNs, cpu - m_lastCpuNs);
        m_lastCpuNs = cpu;
    }
    if (gap > m_maxGapNs) {
        m_maxGapNs = gap;
        m_maxGapAtMs = now / 1000000;
    }
    if (gap > 50 * 1000000LL)
        ++m_over50;
    constexpr std::size_t keep = 5;
    if (m_worst.size() < keep || gap > m_worst.back().first) {
        if (m_worst.size() == keep)
            m_worst.pop_back();
        const auto at = std::find_if(m_worst.begin(), m_worst.end(),
                                     [gap](const auto &w) { return w.first < gap; });
        m_worst.insert(at, {gap, now / 1000000});
    }
}

qint64 StallMonitor::residentKiB()
{
    return statusField("VmRSS");
}

qint64 StallMonitor::peakResidentKiB()
{
    return statusField("VmHWM");
}

void StallMonitor::sampleMemory(const QString &label)
{
    m_memory.insert(label, residentKiB());
}

QJsonObject StallMonitor::report() const
{
    QJsonObject o;
    o.insert(QStringLiteral("tickIntervalMs"), qint64(m_interval.count()));
    o.insert(QStringLiteral("ticks"), m_ticks);
    o.insert(QStringLiteral("maxGapMs"), qRound(maxGapMs() * 10) / 10.0);
    o.insert(QStringLiteral("maxStallMs"),
             qMax(0.0, qRound((maxGapMs() - double(m_interval.count())) * 10) / 10.0));
    o.insert(QStringLiteral("maxGapAtMs"), m_maxGapAtMs);
    o.insert(QStringLiteral("gapsOver50Ms"), m_over50);
    o.insert(QStringLiteral("maxBusyMs"), maxBusyMs() < 0 ? -1.0 : qRound(maxBusyMs() * 10) / 10.0);
    QJsonArray worst;
    for (const auto &[gap, at] : m_worst)
        worst.append(QStringLiteral("%1ms@%2").arg(double(gap) / 1e6, 0, 'f', 1).arg(at));
    o.insert(QStringLiteral("longestGaps"), worst);
    QJsonObject memory = m_memory;
    memory.insert(QStringLiteral("exitKiB"), residentKiB());
    memory.insert(QStringLiteral("peakKiB"), peakResidentKiB());
    o.insert(QStringLiteral("rssKiB"), memory);
    double otherCpu = -1;
    const qint64 elapsedMs = m_clock.isValid() ? m_clock.elapsed() : 0;
    const qint64 busy = systemBusyTicks();
    const qint64 self = selfTicks();
    const long ticksPerSecond = ::sysconf(_SC_CLK_TCK);
    if (busy >= 0 && self >= 0 && m_systemBusyAtStart >= 0 && elapsedMs > 0 && ticksPerSecond > 0) {
        const double otherTicks = double((busy - m_systemBusyAtStart) - (self - m_selfAtStart));
        otherCpu = qMax(0.0, otherTicks / double(ticksPerSecond) / (double(elapsedMs) / 1000.0));
        otherCpu = qRound(otherCpu * 100) / 100.0;
    }
    o.insert(QStringLiteral("otherProcessesCpu"), otherCpu);
    return o;
}

} // namespace goroutinemap::demo
