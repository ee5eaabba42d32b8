// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace goroutinemap::demo {

/*!
    Lowers the scheduling priority of the calling thread for good, so that its work gives
    way to the GUI thread: on Linux the thread's nice value becomes 10, so an otherwise
    busy core still gives the GUI thread about ten times the share of each such thread,
    while the thread keeps progressing on a loaded machine (unlike SCHED_IDLE, which
    QThread::IdlePriority would choose). Elsewhere it does nothing.

    Called at the start of every operation the demo runs on its own pool (once per pool
    thread) and by the folder scanner thread. Any thread; cheap after the first call.
*/
void makeCurrentThreadBackground();

} // namespace goroutinemap::demo
