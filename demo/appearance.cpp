// SPDX-License-Identifier: Apache-2.0
#include "appearance.h"

#include <QCoreApplication>
#include <QLocale>

namespace goroutinemap::demo::appearance {

namespace {
QIcon fromResource(const QString &baseName)
{
    return QIcon(QStringLiteral(":/icons/") + baseName + QStringLiteral(".svg"));
}

/*
    The SVG icon engine parses the file again for many size queries, which item views make
    on every paint of every row. Icons drawn in rows are therefore rendered once, at the
    sizes views use (and twice that for high-DPI screens), into a pixmap icon.
*/
QIcon prerendered(const QString &baseName)
{
    const QIcon svg = fromResource(baseName);
    QIcon icon;
    for (int size : {12, 16, 20, 22, 24, 32, 44, 48, 64})
        icon.addPixmap(svg.pixmap(QSize(size, size)));
    return icon;
}
} // namespace

QIcon applicationIcon()
{
    return fromResource(QStringLiteral("app"));
}

QIcon icon(Look look)
{
    // Made once: the views ask for them on every paint of every row.
    static const QIcon icons[] = {
            prerendered(QStringLiteral("state-queued")),
            prerendered(QStringLiteral("state-running")),
            prerendered(QStringLiteral("state-backing-off")),
            prerendered(QStringLiteral("state-finished")),
            prerendered(QStringLiteral("state-failed")),
            prerendered(QStringLiteral("state-refused")),
            prerendered(QStringLiteral("state-canceled")),
            prerendered(QStringLiteral("state-expired")),
    };
    return icons[int(look)];
}

QColor color(Look look)
{
    switch (look) {
    case Look::Queued:
        return QColor(0x7a, 0x88, 0x99);
    case Look::Running:
        return QColor(0x2f, 0x7f, 0xd1);
    case Look::BackingOff:
        return QColor(0xf0, 0x96, 0x2a);
    case Look::Finished:
        return QColor(0x3f, 0x9e, 0x4d);
    case Look::Failed:
        return QColor(0xd2, 0x3f, 0x3f);
    case Look::Refused:
        return QColor(0x8e, 0x44, 0xad);
    case Look::Canceled:
        return QColor(0x7a, 0x88, 0x99);
    case Look::BackoffExpired:
        return QColor(0x9a, 0x52, 0x00);
    }
    return {};
}

Look lookOf(OperationInfo::State state)
{
    switch (state) {
    case OperationInfo::State::Queued:
        return Look::Queued;
    case OperationInfo::State::Running:
        return Look::Running;
    case OperationInfo::State::BackingOff:
        return Look::BackingOff;
    case OperationInfo::State::ReadyToRetry:
        return Look::BackoffExpired;
    }
    return Look::Queued;
}

QIcon actionIcon(const char *name)
{
    return fromResource(QString::fromLatin1(name));
}

QString formatDuration(qint64 ms)
{
    const QLocale locale;
    if (ms < 1000)
        return QCoreApplication::translate("goroutinemap::demo::appearance", "%1 ms").arg(ms);
    if (ms < 60 * 1000)
        return QCoreApplication::translate("goroutinemap::demo::appearance", "%1 s")
                .arg(locale.toString(double(ms) / 1000.0, 'f', 1));
    const qint64 minutes = ms / 60000;
    const qint64 seconds = (ms % 60000) / 1000;
    return QCoreApplication::translate("goroutinemap::demo::appearance", "%1 min %2 s")
            .arg(minutes)
            .arg(seconds);
}

} // namespace goroutinemap::demo::appearance
