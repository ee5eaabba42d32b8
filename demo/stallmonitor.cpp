// SPDX-License-Identifier: Apache-2.0
#include "stallmonitor.h"

#include <QFile>
#include <QJsonArray>

#include <algorithm>

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
    QJsonArray worst;
    for (const auto &[gap, at] : m_worst)
        worst.append(QStringLiteral("%1ms@%2").arg(double(gap) / 1e6, 0, 'f', 1).arg(at));
    o.insert(QStringLiteral("longestGaps"), worst);
    QJsonObject memory = m_memory;
    memory.insert(QStringLiteral("exitKiB"), residentKiB());
    memory.insert(QStringLiteral("peakKiB"), peakResidentKiB());
    o.insert(QStringLiteral("rssKiB"), memory);
    return o;
}

} // namespace goroutinemap::demo
