// SPDX-License-Identifier: Apache-2.0
#include "background.h"

#include <QtGlobal>

#if defined(Q_OS_LINUX) || defined(__linux__)
#  include <sys/resource.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

namespace goroutinemap::demo {

void makeCurrentThreadBackground()
{
#if defined(Q_OS_LINUX) || defined(__linux__)
    // Linux keeps a nice value per thread: PRIO_PROCESS with a thread id changes only it.
    thread_local bool done = false;
    if (done)
        return;
    done = true;
    const auto tid = id_t(::syscall(SYS_gettid));
    const int current = ::getpriority(PRIO_PROCESS, tid);
    if (current < 10)
        ::setpriority(PRIO_PROCESS, tid, 10);
#endif
}

} // namespace goroutinemap::demo
