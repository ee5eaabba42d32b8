// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the core test suites: a gate that holds operations running, ready-made
// operations and policies, and a retry-until-accepted loop for QTRY_*.
#pragma once

#include <goroutinemap/goroutinemap.h>

#include <QDeadlineTimer>
#include <QMutex>
#include <QStringList>
#include <QSemaphore>
#include <QString>
#include <QThread>

#include "reliability_support.h"

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace coretest {

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;

constexpr int kTimeoutMs = 10000; // generous: a loaded 2-core machine must still pass
inline const QString kName = QStringLiteral("operation-name");

// The reliability tests' Gate (std::-based, so ThreadSanitizer sees it), with the core
// suites' timeout and a ready-made blocking operation. Declare it after the map.
class Gate : public reliability::Gate
{
public:
    // An operation that blocks on the gate, then returns \a result.
    GoRoutineMap::OperationFunc operation(const Error &result = Error()) const
    {
        return [b = blocker(), result] {
            b();
            return result;
        };
    }
    bool waitEntered(int n = 1, int timeoutMs = kTimeoutMs)
    {
        return reliability::Gate::waitEntered(n, timeoutMs);
    }
};

inline GoRoutineMap::OperationFunc noop()
{
    return [] { return Error(); };
}

inline GoRoutineMap::OperationFunc failing(const QString &text = QStringLiteral("testing failure"))
{
    return [text] { return Error(text); };
}

// A short window, so tests that wait one out stay fast.
inline BackoffPolicy fastPolicy(std::chrono::milliseconds initial = 20ms,
                                std::chrono::milliseconds maximum = 80ms)
{
    BackoffPolicy p;
    p.setInitialDelay(initial);
    p.setMaximumDelay(maximum);
    return p;
}

// A window no test outlives: refusals are then certain even on a slow machine.
inline BackoffPolicy longPolicy()
{
    return fastPolicy(60000ms, 120000ms);
}

// Calls run() until it is accepted, like Kubernetes' retryWithExponentialBackOff. Idempotent once
// accepted, because QTRY_* evaluates its expression once more after the loop.
struct RunUntilAccepted
{
    GoRoutineMap &map;
    QString name;
    GoRoutineMap::OperationFunc func;
    Error last = Error(QStringLiteral("never tried"));
    bool accepted = false;
    int attempts = 0;

    bool operator()()
    {
        if (!accepted) {
            ++attempts;
            last = map.run(name, func);
            accepted = !last.isError();
        }
        return accepted;
    }
};

inline std::unique_ptr<QThread> startThread(std::function<void()> fn)
{
    std::unique_ptr<QThread> t(QThread::create(std::move(fn)));
    t->start();
    return t;
}

inline // Blocks a context operation until cancellation is requested (bounded, polling the flag).
        bool
        waitForCancellation(OperationContext &ctx, int timeoutMs = 30000)
{
    QDeadlineTimer deadline(timeoutMs);
    QSemaphore never;
    while (!ctx.isCancellationRequested() && !deadline.hasExpired())
        never.tryAcquire(1, 1);
    return ctx.isCancellationRequested();
}

// The map logs every failure to the "goroutinemap" category; most tests fail operations on
// purpose, so these messages are kept out of the test output. A LogCapture records them for
// the tests that assert the log; other categories go to Qt Test's handler as usual.
class LogCapture
{
public:
    struct Entry
    {
        QtMsgType type;
        QString text;
    };

    LogCapture()
    {
        QMutexLocker lock(&s_mutex);
        s_current = this;
    }
    ~LogCapture()
    {
        QMutexLocker lock(&s_mutex);
        s_current = nullptr;
    }
    static void installQuietHandler()
    {
        QMutexLocker lock(&s_mutex);
        if (!s_previous)
            s_previous = qInstallMessageHandler(&LogCapture::handler);
    }
    std::vector<Entry> entries() const
    {
        QMutexLocker lock(&s_mutex);
        return m_entries;
    }
    // True when a message above debug level contains every needle.
    bool contains(const QStringList &needles) const
    {
        for (const Entry &e : entries()) {
            if (e.type == QtDebugMsg)
                continue;
            bool all = true;
            for (const QString &n : needles)
                all = all && e.text.contains(n);
            if (all)
                return true;
        }
        return false;
    }
    // Every message above debug level.
    QStringList warnings() const
    {
        QStringList texts;
        for (const Entry &e : entries()) {
            if (e.type != QtDebugMsg)
                texts << e.text;
        }
        return texts;
    }
    // True when a message above debug level contains needle, in any case.
    bool contains(const QString &needle) const
    {
        for (const QString &w : warnings()) {
            if (w.contains(needle, Qt::CaseInsensitive))
                return true;
        }
        return false;
    }
    QString dump() const
    {
        QStringList lines;
        for (const Entry &e : entries())
            lines << QString::number(int(e.type)) + QLatin1Char(' ') + e.text;
        return lines.join(QLatin1Char('\n'));
    }

private:
    static void handler(QtMsgType type, const QMessageLogContext &ctx, const QString &msg)
    {
        QtMessageHandler previous = nullptr;
        {
            QMutexLocker lock(&s_mutex);
            if (ctx.category && qstrcmp(ctx.category, "goroutinemap") == 0 && type != QtFatalMsg) {
                if (s_current)
                    s_current->m_entries.push_back({type, msg});
                return;
            }
            previous = s_previous;
        }
        if (previous)
            previous(type, ctx, msg);
    }

    static inline QMutex s_mutex;
    static inline LogCapture *s_current = nullptr;
    static inline QtMessageHandler s_previous = nullptr;
    std::vector<Entry> m_entries;
};

} // namespace coretest
