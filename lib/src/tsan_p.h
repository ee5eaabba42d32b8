// SPDX-License-Identifier: Apache-2.0
#pragma once

// ThreadSanitizer cannot see the synchronisation inside Qt (not built with TSan), so the
// hand-off of a task through QThreadPool and of an event through the event loop would look
// like a race. These annotations tell TSan about the happens-before edge at exactly those
// points; they compile to nothing in other builds. Not installed: the library and the demo
// (its scanner-thread hand-offs) use them.
#if defined(GOROUTINEMAP_TSAN)
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#  define GOROUTINEMAP_HAPPENS_BEFORE(addr) \
    __tsan_release(const_cast<void *>(static_cast<const void *>(addr)))
#  define GOROUTINEMAP_HAPPENS_AFTER(addr) \
    __tsan_acquire(const_cast<void *>(static_cast<const void *>(addr)))
#else
#  define GOROUTINEMAP_HAPPENS_BEFORE(addr) static_cast<void>(addr)
#  define GOROUTINEMAP_HAPPENS_AFTER(addr) static_cast<void>(addr)
#endif
