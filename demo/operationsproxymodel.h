// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QSortFilterProxyModel>

namespace goroutinemap::demo {

/*!
    \brief Sorts the operations table by goroutinemap::OperationsModel::SortRole, filters
    it by name (case-insensitive substring) and adds an icon per state.

    GUI thread, like the model it wraps.
*/
class OperationsProxyModel : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit OperationsProxyModel(QObject *parent = nullptr);

    //! Shows only names containing \a text (all for an empty one).
    void setNameFilter(const QString &text);

    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
};

} // namespace goroutinemap::demo
