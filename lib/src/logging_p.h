// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QLoggingCategory>
#include <QString>

#include <chrono>

namespace goroutinemap {

Q_DECLARE_LOGGING_CATEGORY(lcGoRoutineMap)

// A short translated duration such as "500 ms", "1.5 s" or "2 min 2 s".
QString formatDuration(std::chrono::milliseconds duration);

} // namespace goroutinemap
