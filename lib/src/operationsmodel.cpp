// SPDX-License-Identifier: Apache-2.0
#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/operationsmodel.h>

#include "logging_p.h"

#include <QCoreApplication>
#include <QHash>
#include <QList>
#include <QLocale>
#include <QPointer>
#include <QScopedValueRollback>
#include <QSet>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace goroutinemap {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using State = OperationInfo::State;

// A row is shown for a name that is queued, running or backing off; a name that is
// ReadyToRetry (or that the map no longer holds) has no row.
bool isShown(const OperationInfo &info) noexcept
{
    return info.isValid() && info.state != State::ReadyToRetry;
}

// A live row's time column changes by itself, so it needs the periodic tick.
bool isLive(const OperationInfo &info) noexcept
{
    return info.state == State::Running || info.state == State::BackingOff;
}

constexpr unsigned columnBit(int column) noexcept
{
    return 1u << unsigned(column);
}

// Which shown cells differ between two snapshots of one name.
unsigned changedColumns(const OperationInfo &a, const OperationInfo &b)
{
    unsigned mask = 0;
    if (a.state != b.state || a.cancellationRequested != b.cancellationRequested)
        mask |= columnBit(OperationsModel::StateColumn);
    if (a.state != b.state || a.startTime != b.startTime || a.backoffDeadline != b.backoffDeadline
        || a.durationBeforeRetry != b.durationBeforeRetry || a.progress != b.progress
        || a.status != b.status)
        mask |= columnBit(OperationsModel::TimeColumn);
    if (a.failureCount != b.failureCount)
        mask |= columnBit(OperationsModel::FailuresColumn);
    if (a.lastError != b.lastError)
        mask |= columnBit(OperationsModel::LastErrorColumn);
    return mask;
}

qint64 elapsedMs(const OperationInfo &info, Clock::time_point now)
{
    return std::max<qint64>(0, duration_cast<milliseconds>(now - info.startTime).count());
}

qint64 remainingMs(const OperationInfo &info, Clock::time_point now)
{
    return std::max<qint64>(0, duration_cast<milliseconds>(info.backoffDeadline - now).count());
}

// Percent of the backoff window left, draining from 100 to 0.
int backoffPercentLeft(const OperationInfo &info, Clock::time_point now)
{
    const qint64 window = info.durationBeforeRetry.count();
    if (window <= 0)
        return 0;
    const qint64 left = std::min(remainingMs(info, now), window);
    return int((left * 100 + window - 1) / window); // rounded up: 0 only when the window is over
}

// A ticking duration with a steady shape: "0.4 s", "12.3 s", "2 min 02 s", "1 h 05 min".
// A countdown rounds up (it shows 0.0 s only when over), elapsed time rounds down.
QString formatTime(qint64 ms, bool roundUp)
{
    const QLocale locale;
    if (ms < 60 * 1000) {
        const qint64 tenths = roundUp ? (ms + 99) / 100 : ms / 100;
        if (tenths < 600)
            return QCoreApplication::translate("goroutinemap::OperationsModel", "%1 s")
                    .arg(locale.toString(double(tenths) / 10.0, 'f', 1));
    }
    const qint64 seconds = roundUp ? (ms + 999) / 1000 : ms / 1000;
    if (seconds < 3600) {
        return QCoreApplication::translate("goroutinemap::OperationsModel", "%1 min %2 s")
                .arg(locale.toString(seconds / 60))
                .arg(seconds % 60, 2, 10, QLatin1Char('0'));
    }
    const qint64 minutes = seconds / 60;
    return QCoreApplication::translate("goroutinemap::OperationsModel", "%1 h %2 min")
            .arg(locale.toString(minutes / 60))
            .arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

QString stateText(State state)
{
    switch (state) {
    case State::Queued:
        return QCoreApplication::translate("goroutinemap::OperationsModel", "Queued");
    case State::Running:
        return QCoreApplication::translate("goroutinemap::OperationsModel", "Running");
    case State::BackingOff:
        return QCoreApplication::translate("goroutinemap::OperationsModel", "Backing off");
    case State::ReadyToRetry:
        return QCoreApplication::translate("goroutinemap::OperationsModel", "Ready to retry");
    }
    return QString();
}

} // namespace

class OperationsModelPrivate
{
public:
    explicit OperationsModelPrivate(OperationsModel *q) : q(q), timer(new QTimer(q))
    {
        timer->setInterval(interval);
        QObject::connect(timer, &QTimer::timeout, q, [this] { apply(); });
    }

    int count() const noexcept { return int(rows.size()) - gapSize; }
    // Logical row -> storage. Outside removeRows() the gap is empty, so this is the identity.
    const OperationInfo &at(int row) const
    {
        return rows[size_t(row < gapPos ? row : row + gapSize)];
    }

    void markDirty(const QString &name)
    {
        const auto before = dirty.size();
        dirty.insert(name);
        if (dirty.size() != before) {
            dirtyOrder.append(name);
            if (!timer->isActive())
                timer->start(); // the first update comes one interval after the first change
        }
    }

    void connectMap();
    void disconnectMap();
    void clear();
    void load();
    void apply();
    void emitChanges(std::vector<std::pair<int, unsigned>> &changes);
    void removeRows(std::vector<int> &removals);
    void closeGapUpTo(int end);
    void insertRows(std::vector<OperationInfo> &inserts);
    void updateTimer();
    void mapDestroyed();

    OperationsModel *const q;
    QTimer *const timer;
    milliseconds interval{100};
    QPointer<GoRoutineMap> map;
    QList<QMetaObject::Connection> connections;

    // The rows, in display order. During removals in apply() a gap of removed rows
    // [gapPos, gapPos + gapSize) moves through the storage so that every row is moved at
    // most once per update however many runs are removed (see removeRows()).
    std::vector<OperationInfo> rows;
    int gapPos = 0;
    int gapSize = 0;
    // name -> storage index; while a gap exists, rows behind it still have their old index.
    QHash<QString, int> index;
    bool applying = false;
    int liveRows = 0; // rows that are Running or BackingOff
    Clock::time_point now = Clock::now(); // the instant every time cell shows

    // Names whose signals arrived since the last update, once each, in arrival order.
    QSet<QString> dirty;
    QList<QString> dirtyOrder;
};

void OperationsModelPrivate::connectMap()
{
    GoRoutineMap *m = map.data();
    const auto dirtyName = [this](const QString &name) { markDirty(name); };
    connections = {
            QObject::connect(m, &GoRoutineMap::operationQueued, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationStarted, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationFinished, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationFailed, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationCanceled, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationProgress, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::backoffExpired, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::operationRemoved, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::cancellationRequested, q, dirtyName),
            QObject::connect(m, &GoRoutineMap::backoffReset, q, dirtyName),
            QObject::connect(m, &QObject::destroyed, q, [this] { mapDestroyed(); }),
    };
}

void OperationsModelPrivate::disconnectMap()
{
    for (const QMetaObject::Connection &c : std::as_const(connections))
        QObject::disconnect(c);
    connections.clear();
}

void OperationsModelPrivate::clear()
{
    rows.clear();
    rows.shrink_to_fit();
    index.clear();
    index.squeeze();
    gapPos = gapSize = 0;
    liveRows = 0;
    dirty.clear();
    dirtyOrder.clear();
}

void OperationsModelPrivate::load()
{
    QList<OperationInfo> infos = map->operations();
    // operations() has no order; show the oldest first, as if the rows had been appended.
    std::sort(infos.begin(), infos.end(), [](const OperationInfo &a, const OperationInfo &b) {
        return a.startTime != b.startTime ? a.startTime < b.startTime : a.name < b.name;
    });
    rows.reserve(size_t(infos.size()));
    index.reserve(infos.size());
    for (OperationInfo &info : infos) {
        if (!isShown(info) || index.contains(info.name))
            continue;
        index.insert(info.name, int(rows.size()));
        liveRows += isLive(info);
        rows.push_back(std::move(info));
    }
    now = Clock::now();
}

void OperationsModelPrivate::apply()
{
    // A receiver of our signals that spins a nested event loop must not start a second update
    // in the middle of this one; what it missed is applied on the next tick.
    if (applying)
        return;
    const QScopedValueRollback<bool> guard(applying, true);

    std::vector<std::pair<int, unsigned>> changes; // (row, changed columns)
    std::vector<int> removals;
    std::vector<OperationInfo> inserts;

    if (!dirtyOrder.isEmpty()) {
        const QList<QString> names = std::exchange(dirtyOrder, {});
        dirty.clear();
        if (map) {
            for (const QString &name : names) {
                OperationInfo info = map->operationInfo(name);
                const int row = index.value(name, -1);
                if (row < 0) {
                    if (isShown(info))
                        inserts.push_back(std::move(info));
                    continue;
                }
                if (!isShown(info)) {
                    removals.push_back(row);
                    continue;
                }
                OperationInfo &old = rows[size_t(row)];
                const unsigned mask = changedColumns(old, info);
                liveRows += int(isLive(info)) - int(isLive(old));
                old = std::move(info);
                if (mask)
                    changes.emplace_back(row, mask);
            }
        }
    }
    // Sampled after the snapshots, so that no row started after "now".
    now = Clock::now();

    // Changes first, while the row numbers they were taken with are still valid.
    emitChanges(changes);
    removeRows(removals);
    insertRows(inserts);

    if (liveRows > 0 && count() > 0) {
        static const QList<int> timeRoles = {
                Qt::DisplayRole, OperationsModel::ProgressRole, OperationsModel::RemainingMsRole,
                OperationsModel::ElapsedMsRole, OperationsModel::SortRole};
        Q_EMIT q->dataChanged(q->index(0, OperationsModel::TimeColumn),
                              q->index(count() - 1, OperationsModel::TimeColumn), timeRoles);
    }
    updateTimer();
}

// One dataChanged() per run of adjacent rows with the same changed columns, per
// contiguous range of those columns.
void OperationsModelPrivate::emitChanges(std::vector<std::pair<int, unsigned>> &changes)
{
    if (changes.empty())
        return;
    std::sort(changes.begin(), changes.end());
    size_t i = 0;
    while (i < changes.size()) {
        const int first = changes[i].first;
        const unsigned mask = changes[i].second;
        int last = first;
        while (i + 1 < changes.size() && changes[i + 1].first == last + 1
               && changes[i + 1].second == mask) {
            ++i;
            ++last;
        }
        ++i;
        int column = 0;
        while (column < OperationsModel::ColumnCount) {
            if (!(mask & columnBit(column))) {
                ++column;
                continue;
            }
            int lastColumn = column;
            while (lastColumn + 1 < OperationsModel::ColumnCount
                   && (mask & columnBit(lastColumn + 1)))
                ++lastColumn;
            Q_EMIT q->dataChanged(q->index(first, column), q->index(last, lastColumn));
            column = lastColumn + 1;
        }
    }
}

/*
    Removes the rows \a removals (storage indexes, any order) with one beginRemoveRows() per
    contiguous run, in ascending order. Rather than erasing each run (which would move every
    later row once per run), the removed rows become a gap that travels up the storage: before
    each run, only the rows between the gap and the run are moved down, so every row after the
    first removed one moves exactly once, its index entry updated as it moves. Between runs the
    model is consistent through the gap mapping of at() and rowOf(): O(rows after the first
    removal) per update, nothing when none was removed.
*/
void OperationsModelPrivate::removeRows(std::vector<int> &removals)
{
    if (removals.empty())
        return;
    std::sort(removals.begin(), removals.end());
    gapPos = removals.front();
    gapSize = 0;
    size_t i = 0;
    while (i < removals.size()) {
        const int first = removals[i];
        int last = first;
        while (i + 1 < removals.size() && removals[i + 1] == last + 1) {
            ++i;
            ++last;
        }
        ++i;
        closeGapUpTo(first); // the logical rows do not change

        q->beginRemoveRows(QModelIndex(), gapPos, gapPos + (last - first));
        for (int s = first; s <= last; ++s) {
            OperationInfo &gone = rows[size_t(s)];
            liveRows -= isLive(gone);
            index.remove(gone.name);
            gone = OperationInfo();
        }
        gapSize += last - first + 1;
        q->endRemoveRows();
    }
    // Close the gap for good: the tail moves down once.
    closeGapUpTo(int(rows.size()));
    rows.resize(rows.size() - size_t(gapSize));
    gapPos = gapSize = 0;
}

// Moves the rows between the gap and storage index \a end in front of the gap.
void OperationsModelPrivate::closeGapUpTo(int end)
{
    for (int from = gapPos + gapSize; from < end; ++from, ++gapPos) {
        OperationInfo &moved = rows[size_t(gapPos)];
        moved = std::move(rows[size_t(from)]);
        *index.find(moved.name) = gapPos;
    }
}

void OperationsModelPrivate::insertRows(std::vector<OperationInfo> &inserts)
{
    if (inserts.empty())
        return;
    const int first = count();
    q->beginInsertRows(QModelIndex(), first, first + int(inserts.size()) - 1);
    rows.reserve(rows.size() + inserts.size());
    for (OperationInfo &info : inserts) {
        index.insert(info.name, int(rows.size()));
        liveRows += isLive(info);
        rows.push_back(std::move(info));
    }
    q->endInsertRows();
}

// Ticks only while there is something to apply or a live time to show.
void OperationsModelPrivate::updateTimer()
{
    if (dirtyOrder.isEmpty() && liveRows == 0)
        timer->stop();
    else if (!timer->isActive())
        timer->start();
}

void OperationsModelPrivate::mapDestroyed()
{
    // The map is gone (QPointer already null or about to be): never touch it again.
    connections.clear();
    q->beginResetModel();
    map = nullptr;
    clear();
    q->endResetModel();
    timer->stop();
    Q_EMIT q->mapChanged(nullptr);
}

OperationsModel::OperationsModel(QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<OperationsModelPrivate>(this))
{ }

OperationsModel::OperationsModel(GoRoutineMap *map, QObject *parent) : OperationsModel(parent)
{
    setMap(map);
}

OperationsModel::~OperationsModel()
{
    d->timer->stop();
    d->disconnectMap();
}

GoRoutineMap *OperationsModel::map() const
{
    return d->map.data();
}

void OperationsModel::setMap(GoRoutineMap *map)
{
    if (map == d->map.data())
        return;
    if (map && map->thread() != thread()) {
        qCWarning(lcGoRoutineMap,
                  "OperationsModel::setMap: the map lives in another thread than the model; "
                  "its signals and the model's updates would race");
    }
    beginResetModel();
    d->disconnectMap();
    d->clear();
    d->map = map;
    if (map) {
        // Connect before taking the snapshot: every change after it is then signalled.
        d->connectMap();
        d->load();
    }
    endResetModel();
    d->updateTimer();
    Q_EMIT mapChanged(map);
}

std::chrono::milliseconds OperationsModel::updateInterval() const
{
    return d->interval;
}

void OperationsModel::setUpdateInterval(std::chrono::milliseconds interval)
{
    interval = std::max(interval, milliseconds(1));
    if (interval == d->interval)
        return;
    d->interval = interval;
    d->timer->setInterval(interval); // an active timer restarts with the new interval
    Q_EMIT updateIntervalChanged(int(interval.count()));
}

void OperationsModel::flush()
{
    d->apply();
}

int OperationsModel::rowOf(const QString &operationName) const
{
    const int row = d->index.value(operationName, -1);
    // Correct also between the runs of a removal, for receivers of rowsRemoved().
    return row >= d->gapPos && d->gapSize > 0 ? row - d->gapSize : row;
}

int OperationsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : d->count();
}

int OperationsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(ColumnCount);
}

QVariant OperationsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return QVariant();
    const OperationInfo &info = d->at(index.row());
    const Clock::time_point now = d->now;
    const int column = index.column();

    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case NameColumn:
            return info.name;
        case StateColumn:
            return stateText(info.state);
        case TimeColumn:
            if (info.state == State::Running)
                return formatTime(elapsedMs(info, now), false);
            if (info.state == State::BackingOff)
                return formatTime(remainingMs(info, now), true);
            return QString();
        case FailuresColumn:
            return info.failureCount > 0 ? QLocale().toString(info.failureCount) : QString();
        case LastErrorColumn:
            if (!info.lastError.isError())
                return QString();
            return info.lastError.text().isEmpty() ? info.lastError.message()
                                                   : info.lastError.text();
        }
        break;
    case Qt::ToolTipRole:
        switch (column) {
        case NameColumn:
            return info.name;
        case StateColumn:
            if (info.cancellationRequested)
                return tr("%1, cancellation requested").arg(stateText(info.state));
            return stateText(info.state);
        case TimeColumn:
            return info.status.isEmpty() ? QVariant() : QVariant(info.status);
        case LastErrorColumn:
            return info.lastError.isError() ? QVariant(info.lastError.message()) : QVariant();
        }
        break;
    case Qt::TextAlignmentRole:
        if (column == TimeColumn || column == FailuresColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case SortRole:
        switch (column) {
        case NameColumn:
            return info.name;
        case StateColumn:
            return int(info.state);
        case TimeColumn:
            if (info.state == State::Running)
                return elapsedMs(info, now);
            if (info.state == State::BackingOff)
                return remainingMs(info, now);
            return qint64(-1);
        case FailuresColumn:
            return info.failureCount;
        case LastErrorColumn:
            return info.lastError.isError() ? info.lastError.text() : QString();
        }
        break;
    case StateRole:
        return int(info.state);
    case ProgressRole:
        if (column != TimeColumn)
            break;
        if (info.state == State::BackingOff)
            return backoffPercentLeft(info, now);
        if (info.state == State::Running)
            return info.progress >= 0 ? std::min(info.progress, 100) : -1;
        break;
    case RemainingMsRole:
        if (column == TimeColumn && info.state == State::BackingOff)
            return remainingMs(info, now);
        break;
    case ElapsedMsRole:
        if (column == TimeColumn && info.state == State::Running)
            return elapsedMs(info, now);
        break;
    case OperationInfoRole:
        return QVariant::fromValue(info);
    default:
        break;
    }
    return QVariant();
}

QVariant OperationsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case NameColumn:
            return tr("Name");
        case StateColumn:
            return tr("State");
        case TimeColumn:
            return tr("Time");
        case FailuresColumn:
            return tr("Failures");
        case LastErrorColumn:
            return tr("Last error");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case NameColumn:
            return tr("The operation's name");
        case StateColumn:
            return tr("Queued: waiting for a thread; Running: executing; Backing off: failed, "
                      "retries refused for a while");
        case TimeColumn:
            return tr("How long a running operation has run, or how long until a failed one may be "
                      "retried");
        case FailuresColumn:
            return tr("Consecutive failures");
        case LastErrorColumn:
            return tr("What the last failure said");
        }
    } else if (role == Qt::TextAlignmentRole) {
        if (section == TimeColumn || section == FailuresColumn)
            return int(Qt::AlignRight | Qt::AlignVCenter);
    }
    return QAbstractTableModel::headerData(section, orientation, role);
}

QHash<int, QByteArray> OperationsModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    names.insert(SortRole, QByteArrayLiteral("sort"));
    names.insert(StateRole, QByteArrayLiteral("state"));
    names.insert(ProgressRole, QByteArrayLiteral("progress"));
    names.insert(RemainingMsRole, QByteArrayLiteral("remainingMs"));
    names.insert(ElapsedMsRole, QByteArrayLiteral("elapsedMs"));
    names.insert(OperationInfoRole, QByteArrayLiteral("operationInfo"));
    return names;
}

} // namespace goroutinemap
