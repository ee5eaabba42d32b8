// SPDX-License-Identifier: Apache-2.0
#include "operationsproxymodel.h"

#include "appearance.h"

#include <goroutinemap/operationinfo.h>
#include <goroutinemap/operationsmodel.h>

namespace goroutinemap::demo {

OperationsProxyModel::OperationsProxyModel(QObject *parent) : QSortFilterProxyModel(parent)
{
    setSortRole(OperationsModel::SortRole);
    setFilterKeyColumn(OperationsModel::NameColumn);
    setFilterCaseSensitivity(Qt::CaseInsensitive);
    setSortCaseSensitivity(Qt::CaseInsensitive);
    setDynamicSortFilter(true);
}

void OperationsProxyModel::setNameFilter(const QString &text)
{
    setFilterFixedString(text);
}

QVariant OperationsProxyModel::data(const QModelIndex &index, int role) const
{
    QVariant value = QSortFilterProxyModel::data(index, role);
    if (value.isValid() || !index.isValid())
        return value;
    if (role == Qt::DecorationRole && index.column() == OperationsModel::StateColumn) {
        const QVariant state = QSortFilterProxyModel::data(index, OperationsModel::StateRole);
        if (state.isValid())
            return appearance::icon(appearance::lookOf(OperationInfo::State(state.toInt())));
    }
    if (role == Qt::ToolTipRole
        && (index.column() == OperationsModel::NameColumn
            || index.column() == OperationsModel::LastErrorColumn))
        return QSortFilterProxyModel::data(index, Qt::DisplayRole);
    return value;
}

} // namespace goroutinemap::demo
