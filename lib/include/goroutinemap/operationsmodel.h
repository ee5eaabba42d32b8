// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap_export.h>

#include <QAbstractTableModel>

#include <chrono>
#include <memory>

Q_MOC_INCLUDE(<goroutinemap / goroutinemap.h>)

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

    How it works: the model listens to the map's signals and only records which names
    changed. On each tick it asks the map for those names (GoRoutineMap::operationInfo()),
    appends new rows at the end with one beginInsertRows(), removes gone rows with one
    beginRemoveRows() per contiguous run, and emits dataChanged() only for the cells whose
    value changed. The ticks stop while nothing changes and no row is running or backing
    off, so an idle model costs no CPU. New rows are appended in the order their names
    first changed; sort with a QSortFilterProxyModel and SortRole.

    The time column shows, for a running name, how long it has run ("1.2 s") and, for a
    backing-off name, how long until a retry is permitted ("0.4 s"); it is empty for a
    queued name. Times are measured with goroutinemap::Clock once per tick, so every cell
    of a tick shows the same instant.

    Not thread-safe: like every model, use it only from the thread it lives in, which must
    be the map's thread (the map's signals are emitted there). Every member function below
    is for that thread only.
*/
class GOROUTINEMAP_EXPORT OperationsModel : public QAbstractTableModel
{
    Q_OBJECT
    Q_PROPERTY(goroutinemap::GoRoutineMap *map READ map WRITE setMap NOTIFY mapChanged)
    Q_PROPERTY(int updateInterval READ updateIntervalMs WRITE setUpdateIntervalMs NOTIFY
                       updateIntervalChanged)

public:
    //! The columns, left to right.
    enum Column {
        NameColumn, //!< The operation name.
        StateColumn, //!< Queued, Running, Backing off.
        TimeColumn, //!< Time running, or time left in backoff.
        FailuresColumn, //!< Consecutive failures.
        LastErrorColumn, //!< The last error's text (tool tip: the whole message).
        ColumnCount
    };
    Q_ENUM(Column)

    //! The model's own item data roles, besides Qt::DisplayRole and Qt::ToolTipRole.
    enum Role {
        /*!
            A value that sorts naturally, any column: the name, the state as int, the time
            in ms (elapsed when running, left when backing off, -1 when queued), the failure
            count, the last error's text.
        */
        SortRole = Qt::UserRole + 1,
        StateRole, //!< Any column: OperationInfo::State as int.
        /*!
            Time column: 0..100 for a draining backoff (percent of the window left) or for the
            progress a running operation reported, -1 for a running operation that reported
            none (busy); invalid for a queued one.
        */
        ProgressRole,
        RemainingMsRole, //!< Time column: milliseconds left in backoff (qint64); invalid otherwise.
        ElapsedMsRole, //!< Time column: milliseconds running (qint64); invalid otherwise.
        /*!
            Any column: the row's goroutinemap::OperationInfo as of the last update. It is
            refreshed with the row, but dataChanged() names only the cells whose shown value
            changed.
        */
        OperationInfoRole,
    };
    Q_ENUM(Role)

    //! An empty model; call setMap() to show a map. Create it in the map's thread.
    explicit OperationsModel(QObject *parent = nullptr);
    //! A model showing \a map, which must live in the thread the model is created in.
    explicit OperationsModel(GoRoutineMap *map, QObject *parent = nullptr);
    //! Call from the model's thread.
    ~OperationsModel() override;

    //! The map shown, or nullptr (also after the map was destroyed). Model's thread only.
    GoRoutineMap *map() const;
    /*!
        Shows \a map (nullptr for none) with one model reset; the model does not own it.
        The rows are loaded at once from GoRoutineMap::operations(). When the map is
        destroyed, the model empties itself (a reset) and emits mapChanged(nullptr).
        Call from the model's thread; \a map must live in that thread too.
    */
    void setMap(GoRoutineMap *map);

    //! How often pending changes are applied and the time column ticks (100 ms by default). Model's thread only.
    std::chrono::milliseconds updateInterval() const;
    //! Sets the update interval; values below 1 ms are raised to 1 ms. Model's thread only.
    void setUpdateInterval(std::chrono::milliseconds interval);
    //! updateInterval() in milliseconds (for the property). Model's thread only.
    int updateIntervalMs() const { return int(updateInterval().count()); }
    //! setUpdateInterval() in milliseconds (for the property). Model's thread only.
    void setUpdateIntervalMs(int ms) { setUpdateInterval(std::chrono::milliseconds(ms)); }

    /*!
        Applies the changes gathered since the last update now (tests, screenshots).
        Signals of the map not yet delivered by the event loop are not seen; the state the
        map reports for each changed name is. Model's thread only.
    */
    void flush();

    //! The row of \a operationName, or -1. Model's thread only.
    int rowOf(const QString &operationName) const;

    //! Model's thread only, as are the rest of QAbstractItemModel's functions.
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    //! ColumnCount for the root, 0 for any other \a parent.
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    //! The cell \a index for \a role: display, tool tip, text alignment and the roles in Role.
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    //! Translated column titles (Qt::DisplayRole) and their explanations (Qt::ToolTipRole).
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    //! The default role names plus sort, state, progress, remainingMs, elapsedMs, operationInfo.
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    //! Emitted when the shown map changes, nullptr included (also when the map is destroyed).
    void mapChanged(goroutinemap::GoRoutineMap *map);
    //! Emitted when setUpdateInterval() changed the interval to \a ms milliseconds.
    void updateIntervalChanged(int ms);

private:
    friend class OperationsModelPrivate;
    std::unique_ptr<OperationsModelPrivate> d;
};

} // namespace goroutinemap
