// SPDX-License-Identifier: Apache-2.0
#include "logging_p.h"

#include <QCoreApplication>

namespace goroutinemap {

Q_LOGGING_CATEGORY(lcGoRoutineMap, "goroutinemap")

QString formatDuration(std::chrono::milliseconds duration)
{
    using namespace std::chrono;
    const qint64 ms = duration.count();
    if (ms < 1000)
        return QCoreApplication::translate("goroutinemap::Duration", "%1 ms").arg(ms);
    if (ms < 60 * 1000) {
        // Whole seconds read better without a trailing ".0".
        const double s = double(ms) / 1000.0;
        return QCoreApplication::translate("goroutinemap::Duration", "%1 s")
                .arg(QString::number(s, 'g', ms % 1000 == 0 ? 3 : 4));
    }
    const qint64 minutes = ms / 60000;
    const qint64 seconds = (ms % 60000) / 1000;
    if (seconds == 0)
        return QCoreApplication::translate("goroutinemap::Duration", "%1 min").arg(minutes);
    return QCoreApplication::translate("goroutinemap::Duration", "%1 min %2 s")
            .arg(minutes)
            .arg(seconds);
}

} // namespace goroutinemap
