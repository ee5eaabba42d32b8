// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#  include <immintrin.h>
#endif

namespace goroutinemap {

//! One step of a spin-wait: tells the core (and lets a sibling hyperthread run).
inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
    _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/*
    The map's queue of accepted runs waiting for a drainer (a pool task that runs them one after
    another, see GoRoutineMapPrivate::drain()). Intrusive, after Dmitry Vyukov's non-blocking
    multi-producer queue: a node is the run itself, so queueing allocates nothing.

    - push() is lock-free and wait-free: one atomic exchange and one store. Any thread may
      push; producers never touch the drainers' side.
    - pop() and isEmpty() are for drainers, one at a time: the caller holds popMutex(). A
      push that is half done (exchanged, not yet linked) makes pop() return nullptr although
      isEmpty() is false; the drainer tries again.
    - mayHaveWork() is a lock-free hint for a drainer that waits for work: it may say true
      when a racing drainer has just taken the last run, and it never stays false while a run
      waits.

    Empty means both ends are the stub node, which pop() puts back whenever it takes the last
    real node.
*/
class OperationQueue
{
public:
    struct Link
    {
        std::atomic<Link *> queueNext{nullptr};
    };

    OperationQueue() = default;
    OperationQueue(const OperationQueue &) = delete;
    OperationQueue &operator=(const OperationQueue &) = delete;

    //! Appends \a link. Any thread. Sequentially consistent, so that a producer that pushes
    //! and then reads the drainer count pairs with a drainer that stops and then checks
    //! isEmpty(): one of the two sees the other.
    void push(Link *link) noexcept
    {
        link->queueNext.store(nullptr, std::memory_order_relaxed);
        Link *previous = m_back.exchange(link, std::memory_order_seq_cst);
        previous->queueNext.store(link, std::memory_order_release);
    }

    //! Takes the oldest link, or nullptr. popMutex() held. With \a more, says whether
    //! another link waits behind it.
    Link *pop(bool *more = nullptr) noexcept
    {
        Link *front = m_front.load(std::memory_order_relaxed);
        Link *next = front->queueNext.load(std::memory_order_acquire);
        if (front == &m_stub) {
            if (!next)
                return nullptr;
            front = next;
            m_front.store(front, std::memory_order_relaxed);
            next = front->queueNext.load(std::memory_order_acquire);
        }
        if (!next) {
            if (m_back.load(std::memory_order_acquire) != front)
                return nullptr; // a push is half done behind front
            push(&m_stub);
            next = front->queueNext.load(std::memory_order_acquire);
            if (!next)
                return nullptr; // a push raced in before the stub and is half done
        }
        m_front.store(next, std::memory_order_relaxed);
        if (more)
            *more = next != &m_stub || m_back.load(std::memory_order_relaxed) != &m_stub;
        return front;
    }

    //! Nothing pushed is still waiting. popMutex() held.
    bool isEmpty() const noexcept
    {
        return m_front.load(std::memory_order_relaxed) == &m_stub
                && m_back.load(std::memory_order_seq_cst) == &m_stub;
    }

    //! A hint, without the lock: see the class comment.
    bool mayHaveWork() const noexcept
    {
        return m_back.load(std::memory_order_acquire) != &m_stub
                || m_front.load(std::memory_order_relaxed) != &m_stub;
    }

    std::mutex &popMutex() noexcept { return m_popMutex; }

private:
    // Producers write m_back; drainers m_front: apart, so that pushing does not pull the
    // drainers' cache line to the producer's core.
    alignas(64) std::atomic<Link *> m_back{&m_stub};

    Link m_stub;
    alignas(64) std::atomic<Link *> m_front{&m_stub};
    std::mutex m_popMutex;
};

} // namespace goroutinemap
