// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap_export.h>

#include <QAbstractTableModel>

#include <chrono>
#include <memory>

namespace goroutinemap {

class GoRoutineMap;
class OperationsModelPrivate;

/*!
    \class goroutinemap::OperationsModel
    \brief A table of the names a GoRoutineMap holds: queued, running and backing off.

    One row per name, inserted and removed as the map changes. Bursts of map signals are
    coalesced into at most one update per updateInterval(); the time column then changes
    with one ranged dataChanged() per tick and no other column is touched by a tick.
    Names that are ReadyToRetry (window over, history kept) are not shown.

    \threadsafe No: like every model, use it from the thread it lives in, which must be
    the map's thread.
*/
class GOROUTINEMAP_EXPORT OperationsModel : public QAbstractTableModel
{
    Q_OBJECT
    Q_PROPERTY(goroutinemap::GoRoutineMap *map READ map WRITE setMap NOTIFY mapChanged)
    Q_PROPERTY(int updateInterval READ updateIntervalMs WRITE setUpdateIntervalMs NOTIFY updateIntervalChanged)

public:
    enum Column {
        NameColumn, //!< The operation name.
        StateColumn, //!< Queued, Running, Backing off.
        TimeColumn, //!< Time running, or time left in backoff.
        FailuresColumn, //!< Consecutive failures.
        LastErrorColumn, //!< The last error's text.
        ColumnCount
    };
    Q_ENUM(Column)

    enum Role {
        SortRole = Qt::UserRole + 1, //!< A value that sorts naturally (numbers for time and failures).
        StateRole, //!< OperationInfo::State as int.
        ProgressRole, //!< Time column: 0..100 for a draining backoff or reported progress, -1 for busy.
        RemainingMsRole, //!< Time column: milliseconds left in backoff (qint64).
        ElapsedMsRole, //!< Time column: milliseconds running (qint64).
        OperationInfoRole, //!< The row's goroutinemap::OperationInfo.
    };
    Q_ENUM(Role)

    explicit OperationsModel(QObject *parent = nullptr);
    explicit OperationsModel(GoRoutineMap *map, QObject *parent = nullptr);
    ~OperationsModel() override;

    GoRoutineMap *map() const;
    //! Shows \a map (nullptr for none); the model does not own it.
    void setMap(GoRoutineMap *map);

    //! How often pending changes are applied and the time column ticks (100 ms by default).
    std::chrono::milliseconds updateInterval() const;
    void setUpdateInterval(std::chrono::milliseconds interval);
    int updateIntervalMs() const { return int(updateInterval().count()); }
    void setUpdateIntervalMs(int ms) { setUpdateInterval(std::chrono::milliseconds(ms)); }

    //! Applies the changes gathered since the last update now (tests, screenshots).
    void flush();

    //! The row of \a operationName, or -1.
    int rowOf(const QString &operationName) const;

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void mapChanged(goroutinemap::GoRoutineMap *map);
    void updateIntervalChanged(int ms);

private:
    std::unique_ptr<OperationsModelPrivate> d;
};

} // namespace goroutinemap
