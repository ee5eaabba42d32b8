// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the reliability tests (tst_stress, tst_model_based, tst_lifetime,
// tst_badinput).
//
// The synchronisation primitives here are built on std::mutex and std::condition_variable on
// purpose: ThreadSanitizer intercepts those, while QSemaphore and QMutex are futexes inside an
// uninstrumented Qt, so a test synchronising through them would make TSan report false races
// between the test and the operations it runs.

#pragma once

#include <QAbstractEventDispatcher>
#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QString>
#include <QThreadPool>
#include <QTimer>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace reliability {

// Generous: a loaded 2-core machine running a sanitizer build must still pass.
constexpr int kTimeoutMs = 30000;

// A counting semaphore TSan understands.
class Semaphore
{
public:
    void release(int n = 1)
    {
        {
            std::lock_guard lock(m_mutex);
            m_count += n;
        }
        m_cond.notify_all();
    }
    bool tryAcquire(int n = 1, int timeoutMs = kTimeoutMs)
    {
        std::unique_lock lock(m_mutex);
        if (!m_cond.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                             [&] { return m_count >= n; }))
            return false;
        m_count -= n;
        return true;
    }
    int available() const
    {
        std::lock_guard lock(m_mutex);
        return m_count;
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_cond;
    int m_count = 0;
};

// Starts \a task on \a pool in a way TSan can follow. QThreadPool hands a task to its thread
// under a mutex inside uninstrumented Qt, so TSan would report the thread's first read of
// what the task captured as a race with the test thread that wrote it. The release here and
// the acquire where the task starts order the two.
inline void startOnPool(QThreadPool &pool, std::function<void()> task)
{
    static std::atomic<unsigned> handOff{0};
    std::function<void()> run = [task = std::move(task)] {
        handOff.load(std::memory_order_acquire);
        task();
    };
    handOff.fetch_add(1, std::memory_order_release);
    pool.start(std::move(run));
}

// Holds operations inside their function until the test opens it. Shared with the operations;
// destroying the Gate opens it for good, so a failing test (which returns early) never leaves
// a map's destructor waiting on a blocked operation: declare the Gate after the map.
class Gate
{
    struct State
    {
        Semaphore entered;
        Semaphore released;
    };

public:
    Gate() : d(std::make_shared<State>()) { }
    ~Gate() { d->released.release(1 << 20); }
    Gate(const Gate &) = delete;
    Gate &operator=(const Gate &) = delete;

    // For use inside an operation: announce entry, then block until opened (bounded, so a
    // broken map cannot hang the test forever).
    std::function<void()> blocker() const
    {
        return [s = d] {
            s->entered.release();
            s->released.tryAcquire(1, 120000);
        };
    }
    bool waitEntered(int n = 1, int timeoutMs = kTimeoutMs)
    {
        return d->entered.tryAcquire(n, timeoutMs);
    }
    void open(int n = 1) { d->released.release(n); }

private:
    std::shared_ptr<State> d;
};

// Runs the event loop of the calling thread until \a done returns true or \a timeoutMs pass.
// Sleeps in the event dispatcher (woken by any posted event, e.g. a map's signal batch) and
// re-checks \a done at least every few milliseconds for conditions that no event announces.
inline bool pumpUntil(const std::function<bool()> &done, int timeoutMs = kTimeoutMs)
{
    if (done())
        return true;
    QDeadlineTimer deadline(timeoutMs);
    QTimer tick;
    tick.setInterval(2);
    tick.start();
    while (!done()) {
        if (deadline.hasExpired())
            return done();
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents);
    }
    return true;
}

// Delivers whatever is posted to the calling thread right now, without waiting for more.
inline void flushEvents()
{
    for (int i = 0; i < 3; ++i) {
        QCoreApplication::sendPostedEvents();
        QCoreApplication::processEvents();
    }
}

// Captures the warnings of the "goroutinemap" logging category (other categories go to the
// handler installed before the first capture). Thread-safe: operations log from pool threads.
// Captures nest: the innermost one alive gets the messages, so a test case may keep a quiet
// capture for its whole run and open narrower ones to look at what one scenario logged.
class LogCapture
{
public:
    LogCapture()
    {
        std::lock_guard lock(mutex());
        m_outer = current();
        current() = this;
        if (!installed()) {
            installed() = true;
            original() = qInstallMessageHandler(&LogCapture::handler);
        }
    }
    ~LogCapture()
    {
        std::lock_guard lock(mutex());
        current() = m_outer;
    }
    LogCapture(const LogCapture &) = delete;
    LogCapture &operator=(const LogCapture &) = delete;

    QStringList warnings() const
    {
        std::lock_guard lock(mutex());
        return m_warnings;
    }
    bool contains(const QString &needle) const
    {
        for (const QString &w : warnings()) {
            if (w.contains(needle))
                return true;
        }
        return false;
    }

private:
    static void handler(QtMsgType type, const QMessageLogContext &ctx, const QString &msg)
    {
        QtMessageHandler forward = nullptr;
        {
            std::lock_guard lock(mutex());
            if (current() && ctx.category && qstrcmp(ctx.category, "goroutinemap") == 0) {
                if (type != QtDebugMsg)
                    current()->m_warnings.append(msg);
                return;
            }
            forward = original();
        }
        if (forward)
            forward(type, ctx, msg);
    }
    static std::mutex &mutex()
    {
        static std::mutex m;
        return m;
    }
    static LogCapture *&current()
    {
        static LogCapture *c = nullptr;
        return c;
    }
    static bool &installed()
    {
        static bool i = false;
        return i;
    }
    static QtMessageHandler &original()
    {
        static QtMessageHandler p = nullptr;
        return p;
    }

    LogCapture *m_outer = nullptr;
    QStringList m_warnings;
};

// An integer from the environment, or \a fallback when unset or not a number.
inline qint64 envInt(const char *name, qint64 fallback)
{
    bool ok = false;
    const qint64 v = qEnvironmentVariable(name).toLongLong(&ok);
    return ok ? v : fallback;
}

} // namespace reliability
