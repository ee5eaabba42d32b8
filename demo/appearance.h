// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/operationinfo.h>

#include <QColor>
#include <QIcon>
#include <QString>

namespace goroutinemap::demo {

/*!
    Icons and colours of the demo, in one place so the table, the status bar and the
    event log agree. The icons are our own SVGs from resources/icons, compiled in
    under ":/icons/".

    GUI thread only (QIcon and QPixmap belong to the GUI thread).
*/
namespace appearance {

//! What an icon or colour stands for: the three live states and the outcomes of a run.
enum class Look {
    Queued,
    Running,
    BackingOff,
    Finished,
    Failed,
    Refused,
    Canceled,
    BackoffExpired
};

//! The application icon.
QIcon applicationIcon();
//! The icon of \a look.
QIcon icon(Look look);
//! The colour of \a look (progress bars, text accents).
QColor color(Look look);
//! The look of a live state; ReadyToRetry looks like an expired backoff.
Look lookOf(OperationInfo::State state);
//! A toolbar/menu icon by file name without extension, e.g. "action-run".
QIcon actionIcon(const char *name);

//! \a ms as short translated text: "850 ms", "1.5 s", "2 min 2 s". Any thread.
QString formatDuration(qint64 ms);

} // namespace appearance
} // namespace goroutinemap::demo
