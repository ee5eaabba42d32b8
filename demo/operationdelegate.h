// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QStyledItemDelegate>

namespace goroutinemap::demo {

/*!
    \brief Draws the time column of the operations table as a progress bar, through the
    widget's style (QStyleOptionProgressBar and QStyle::drawControl()).

    A backing-off name gets a draining bar: the part of its window still left, in the
    backoff colour, with the countdown as its text. A running one gets its reported
    progress, or a busy bar when it reported none, with the time it has been running.
    Queued names and other columns are drawn as usual.

    GUI thread.
*/
class OperationDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    explicit OperationDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace goroutinemap::demo
