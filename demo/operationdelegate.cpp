// SPDX-License-Identifier: Apache-2.0
#include "operationdelegate.h"

#include "appearance.h"

#include <goroutinemap/operationinfo.h>
#include <goroutinemap/operationsmodel.h>

#include <QApplication>
#include <QPainter>
#include <QStyle>
#include <QStyleOptionProgressBar>

namespace goroutinemap::demo {

OperationDelegate::OperationDelegate(QObject *parent) : QStyledItemDelegate(parent) { }

void OperationDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                              const QModelIndex &index) const
{
    const QVariant stateValue = index.data(OperationsModel::StateRole);
    const auto state = OperationInfo::State(stateValue.toInt());
    if (index.column() != OperationsModel::TimeColumn || !stateValue.isValid()
        || (state != OperationInfo::State::Running && state != OperationInfo::State::BackingOff)) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }

    QStyleOptionViewItem item = option;
    initStyleOption(&item, index);
    const QWidget *widget = item.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();

    // The cell's background and selection, without its text: the bar carries the text.
    const QString text = item.text;
    item.text.clear();
    item.icon = QIcon();
    style->drawControl(QStyle::CE_ItemViewItem, &item, painter, widget);

    QStyleOptionProgressBar bar;
    bar.rect = item.rect.adjusted(3, 2, -3, -2);
    bar.state = (item.state & QStyle::State_Enabled) | QStyle::State_Horizontal;
    bar.direction = item.direction;
    bar.fontMetrics = item.fontMetrics;
    bar.palette = item.palette;
    bar.text = text;
    bar.textVisible = true;
    bar.textAlignment = Qt::AlignCenter;
    bar.minimum = 0;
    const QVariant progressValue = index.data(OperationsModel::ProgressRole);
    const int progress = progressValue.isValid() ? progressValue.toInt() : -1;
    if (progress < 0) {
        bar.maximum = 0; // busy
        bar.progress = 0;
    } else {
        bar.maximum = 100;
        bar.progress = qBound(0, progress, 100);
    }
    const QColor color = appearance::color(appearance::lookOf(state));
    bar.palette.setColor(QPalette::Highlight, color);
    bar.palette.setColor(QPalette::HighlightedText, Qt::white);
    // Unselected text on the groove stays the normal text colour.
    bar.palette.setColor(QPalette::WindowText, item.palette.color(QPalette::Text));
    style->drawControl(QStyle::CE_ProgressBar, &bar, painter, widget);
}

QSize OperationDelegate::sizeHint(const QStyleOptionViewItem &option,
                                  const QModelIndex &index) const
{
    QSize size = QStyledItemDelegate::sizeHint(option, index);
    if (index.column() == OperationsModel::TimeColumn)
        size.setWidth(qMax(size.width(), 150));
    return size;
}

} // namespace goroutinemap::demo
