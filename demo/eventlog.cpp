// SPDX-License-Identifier: Apache-2.0
#include "eventlog.h"

#include "appearance.h"

#include <goroutinemap/goroutinemap.h>

#include <QEvent>
#include <QFile>
#include <QHeaderView>
#include <QJsonDocument>
#include <QMetaEnum>
#include <QScrollBar>
#include <QTableView>
#include <QTimeZone>

#include <cstdio>

namespace goroutinemap::demo {

namespace {

QString kindKey(Error::Kind kind)
{
    return QString::fromLatin1(QMetaEnum::fromType<Error::Kind>().valueToKey(int(kind)));
}

appearance::Look lookOf(Event::Type type)
{
    using appearance::Look;
    switch (type) {
    case Event::Type::Queued:
        return Look::Queued;
    case Event::Type::Started:
        return Look::Running;
    case Event::Type::Finished:
        return Look::Finished;
    case Event::Type::Failed:
        return Look::Failed;
    case Event::Type::Canceled:
    case Event::Type::Removed:
    case Event::Type::Info:
        return Look::Canceled;
    case Event::Type::Refused:
        return Look::Refused;
    case Event::Type::BackoffExpired:
        return Look::BackoffExpired;
    }
    return Look::Canceled;
}

} // namespace

// ---------------------------------------------------------------------------------------
// Event

QString Event::typeKey(Type type)
{
    switch (type) {
    case Type::Queued:
        return QStringLiteral("queued");
    case Type::Started:
        return QStringLiteral("started");
    case Type::Finished:
        return QStringLiteral("finished");
    case Type::Failed:
        return QStringLiteral("failed");
    case Type::Canceled:
        return QStringLiteral("canceled");
    case Type::Refused:
        return QStringLiteral("refused");
    case Type::BackoffExpired:
        return QStringLiteral("backoffExpired");
    case Type::Removed:
        return QStringLiteral("removed");
    case Type::Info:
        return QStringLiteral("info");
    }
    return QString();
}

QString Event::typeName(Type type)
{
    switch (type) {
    case Type::Queued:
        return EventLog::tr("queued");
    case Type::Started:
        return EventLog::tr("started");
    case Type::Finished:
        return EventLog::tr("finished");
    case Type::Failed:
        return EventLog::tr("failed");
    case Type::Canceled:
        return EventLog::tr("canceled");
    case Type::Refused:
        return EventLog::tr("refused");
    case Type::BackoffExpired:
        return EventLog::tr("backoff expired");
    case Type::Removed:
        return EventLog::tr("removed");
    case Type::Info:
        return EventLog::tr("note");
    }
    return QString();
}

QString Event::details() const
{
    QString result;
    switch (type) {
    case Type::Failed:
        result = error.message();
        if (retryDelayMs >= 0)
            result += QLatin1Char(' ')
                    + EventLog::tr("(failure %1, no retry for %2)")
                              .arg(failureCount)
                              .arg(appearance::formatDuration(retryDelayMs));
        break;
    case Type::Refused:
        result = error.message();
        break;
    case Type::Info:
        result = text;
        break;
    default:
        break;
    }
    for (auto it = extra.cbegin(); it != extra.cend(); ++it) {
        if (!result.isEmpty())
            result += QStringLiteral("; ");
        result += it.key() + QStringLiteral(": ") + it.value().toString();
    }
    return result;
}

// ---------------------------------------------------------------------------------------
// EventLog

EventLog::EventLog(GoRoutineMap *map, QObject *parent)
    : QObject(parent), m_map(map), m_model(new EventLogModel(this))
{
    m_clock.start();
    m_startMs = QDateTime::currentMSecsSinceEpoch();
    auto simple = [this](Event::Type type) {
        return [this, type](const QString &name) {
            Event event;
            event.type = type;
            event.name = name;
            record(std::move(event));
        };
    };
    connect(map, &GoRoutineMap::operationQueued, this, simple(Event::Type::Queued));
    connect(map, &GoRoutineMap::operationStarted, this, simple(Event::Type::Started));
    connect(map, &GoRoutineMap::operationCanceled, this, simple(Event::Type::Canceled));
    connect(map, &GoRoutineMap::backoffExpired, this, simple(Event::Type::BackoffExpired));
    connect(map, &GoRoutineMap::operationRemoved, this, simple(Event::Type::Removed));
    connect(map, &GoRoutineMap::operationFinished, this, [this](const QString &name) {
        Event event;
        event.type = Event::Type::Finished;
        event.name = name;
        if (m_detailProvider)
            event.extra = m_detailProvider(name);
        record(std::move(event));
    });
    connect(map, &GoRoutineMap::operationFailed, this,
            [this](const QString &name, const Error &error) {
                Event event;
                event.type = Event::Type::Failed;
                event.name = name;
                event.error = error;
                // The signal arrives through the event loop; the name's window has been set by
                // then.
                if (m_map) {
                    const OperationInfo info = m_map->operationInfo(name);
                    if (info.isValid() && info.state != OperationInfo::State::Queued
                        && info.state != OperationInfo::State::Running
                        && info.durationBeforeRetry.count() > 0) {
                        event.retryDelayMs = info.durationBeforeRetry.count();
                        event.failureCount = info.failureCount;
                    }
                }
                record(std::move(event));
            });
}

EventLog::~EventLog() = default;

void EventLog::recordRefusal(const Error &refusal)
{
    Event event;
    event.type = Event::Type::Refused;
    event.name = refusal.operationName();
    event.error = refusal;
    record(std::move(event));
}

void EventLog::recordInfo(const QString &text, const QString &name)
{
    Event event;
    event.type = Event::Type::Info;
    event.name = name;
    event.text = text;
    record(std::move(event));
}

void EventLog::setDetailProvider(std::function<QVariantMap(const QString &)> provider)
{
    m_detailProvider = std::move(provider);
}

void EventLog::clear()
{
    m_counts = Counts();
    m_model->clear();
    Q_EMIT cleared();
}

void EventLog::record(Event event)
{
    event.elapsedMs = m_clock.elapsed();
    event.timeMs = m_startMs + event.elapsedMs;
    switch (event.type) {
    case Event::Type::Queued:
        ++m_counts.queued;
        break;
    case Event::Type::Started:
        ++m_counts.started;
        break;
    case Event::Type::Finished:
        ++m_counts.finished;
        break;
    case Event::Type::Failed:
        ++m_counts.failed;
        break;
    case Event::Type::Canceled:
        ++m_counts.canceled;
        break;
    case Event::Type::Refused:
        ++m_counts.refused;
        break;
    case Event::Type::BackoffExpired:
        ++m_counts.expired;
        break;
    case Event::Type::Removed:
    case Event::Type::Info:
        break;
    }
    // Queued events would drown the dock (one per file); they still reach the writers.
    if (event.type != Event::Type::Queued)
        m_model->append(event);
    Q_EMIT eventRecorded(event);
}

// ---------------------------------------------------------------------------------------
// EventLogModel

EventLogModel::EventLogModel(QObject *parent) : QAbstractTableModel(parent)
{
    m_batchTimer.setInterval(100);
    m_batchTimer.setSingleShot(true);
    connect(&m_batchTimer, &QTimer::timeout, this, &EventLogModel::flush);
}

void EventLogModel::append(const Event &event)
{
    m_pending.push_back(event);
    if (!m_batchTimer.isActive())
        m_batchTimer.start();
}

void EventLogModel::flush()
{
    m_batchTimer.stop();
    if (m_pending.empty())
        return;
    // Only the newest capacity() events can be shown; skip older pending ones outright.
    std::size_t first = 0;
    if (m_pending.size() > std::size_t(m_capacity))
        first = m_pending.size() - std::size_t(m_capacity);
    const std::size_t adding = m_pending.size() - first;
    const std::size_t overflow = m_events.size() + adding > std::size_t(m_capacity)
            ? m_events.size() + adding - std::size_t(m_capacity)
            : 0;
    if (overflow > 0) {
        beginRemoveRows(QModelIndex(), 0, int(overflow) - 1);
        m_events.erase(m_events.begin(), m_events.begin() + std::ptrdiff_t(overflow));
        endRemoveRows();
    }
    beginInsertRows(QModelIndex(), int(m_events.size()), int(m_events.size() + adding) - 1);
    for (std::size_t i = first; i < m_pending.size(); ++i)
        m_events.push_back(std::move(m_pending[i]));
    endInsertRows();
    m_pending.clear();
}

void EventLogModel::clear()
{
    m_batchTimer.stop();
    m_pending.clear();
    beginResetModel();
    m_events.clear();
    endResetModel();
}

void EventLogModel::setCapacity(int capacity)
{
    m_capacity = qMax(1, capacity);
    if (m_events.size() > std::size_t(m_capacity)) {
        const int overflow = int(m_events.size()) - m_capacity;
        beginRemoveRows(QModelIndex(), 0, overflow - 1);
        m_events.erase(m_events.begin(), m_events.begin() + overflow);
        endRemoveRows();
    }
}

int EventLogModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_events.size());
}

int EventLogModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventLogModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return QVariant();
    const Event &e = m_events[std::size_t(index.row())];
    if (role == TypeRole)
        return int(e.type);
    switch (index.column()) {
    case TimeColumn:
        if (role == Qt::DisplayRole)
            return QDateTime::fromMSecsSinceEpoch(e.timeMs).toString(
                    QStringLiteral("HH:mm:ss.zzz"));
        break;
    case EventColumn:
        if (role == Qt::DisplayRole)
            return Event::typeName(e.type);
        if (role == Qt::DecorationRole)
            return appearance::icon(lookOf(e.type));
        break;
    case NameColumn:
        if (role == Qt::DisplayRole || role == Qt::ToolTipRole)
            return e.name;
        break;
    case DetailsColumn:
        if (role == Qt::DisplayRole || role == Qt::ToolTipRole)
            return e.details();
        if (role == Qt::ForegroundRole
            && (e.type == Event::Type::Failed || e.type == Event::Type::Refused))
            return appearance::color(lookOf(e.type)).darker(130);
        break;
    default:
        break;
    }
    return QVariant();
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case EventColumn:
        return tr("Event");
    case NameColumn:
        return tr("Name");
    case DetailsColumn:
        return tr("Details");
    default:
        return QVariant();
    }
}

// ---------------------------------------------------------------------------------------
// EventLogDock

EventLogDock::EventLogDock(EventLogModel *model, QWidget *parent)
    : QDockWidget(parent), m_view(new QTableView(this))
{
    setObjectName(QStringLiteral("eventLogDock"));
    m_view->setObjectName(QStringLiteral("eventLogView"));
    m_view->setModel(model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setAlternatingRowColors(true);
    m_view->verticalHeader()->hide();
    // Fixed row heights: the view never measures rows, however many arrive.
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->horizontalHeader()->resizeSection(EventLogModel::TimeColumn, 100);
    m_view->horizontalHeader()->resizeSection(EventLogModel::EventColumn, 140);
    m_view->horizontalHeader()->resizeSection(EventLogModel::NameColumn, 320);
    setWidget(m_view);

    // Follow the newest event unless the user scrolled up to read.
    auto *bar = m_view->verticalScrollBar();
    auto atEnd = std::make_shared<bool>(true);
    connect(model, &QAbstractItemModel::rowsAboutToBeInserted, this,
            [bar, atEnd] { *atEnd = bar->value() >= bar->maximum() - 2; });
    connect(model, &QAbstractItemModel::rowsInserted, this, [this, atEnd] {
        if (*atEnd)
            m_view->scrollToBottom();
    });
    retranslate();
}

void EventLogDock::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QDockWidget::changeEvent(event);
}

void EventLogDock::retranslate()
{
    setWindowTitle(tr("Event log"));
}

// ---------------------------------------------------------------------------------------
// EventWriter

EventWriter::EventWriter(Format format, QIODevice *device, QObject *parent)
    : QObject(parent), m_format(format), m_device(device)
{
    m_flushTimer.setSingleShot(true);
    m_flushTimer.setInterval(0);
    connect(&m_flushTimer, &QTimer::timeout, this, &EventWriter::flush);
}

EventWriter::EventWriter(Format format, QObject *parent) : EventWriter(format, nullptr, parent)
{
    m_stdout = std::make_unique<QFile>();
    std::fflush(stdout);
    m_stdout->open(stdout, QIODevice::WriteOnly, QFileDevice::DontCloseHandle);
    m_device = m_stdout.get();
}

EventWriter::~EventWriter()
{
    flush();
}

void EventWriter::flush()
{
    m_flushTimer.stop();
    if (!m_device || m_buffer.isEmpty())
        return;
    m_device->write(m_buffer);
    m_buffer.clear();
    if (auto *file = qobject_cast<QFileDevice *>(m_device))
        file->flush();
}

QJsonObject EventWriter::toJson(const Event &event)
{
    QJsonObject o;
    o.insert(QStringLiteral("event"), Event::typeKey(event.type));
    o.insert(QStringLiteral("time"),
             QDateTime::fromMSecsSinceEpoch(event.timeMs, QTimeZone::utc())
                     .toString(Qt::ISODateWithMs));
    o.insert(QStringLiteral("elapsedMs"), event.elapsedMs);
    if (event.type != Event::Type::Info || !event.name.isEmpty())
        o.insert(QStringLiteral("name"), event.name);
    if (event.error.isError()) {
        o.insert(QStringLiteral("kind"), kindKey(event.error.kind()));
        o.insert(QStringLiteral("error"), event.error.message());
        if (!event.error.text().isEmpty())
            o.insert(QStringLiteral("text"), event.error.text());
    }
    if (event.type == Event::Type::Failed) {
        // null when backoff is off: the name may run again at once.
        o.insert(QStringLiteral("retryDelayMs"),
                 event.retryDelayMs >= 0 ? QJsonValue(event.retryDelayMs)
                                         : QJsonValue(QJsonValue::Null));
        o.insert(QStringLiteral("failureCount"), event.failureCount);
    }
    if (event.type == Event::Type::Refused && isExponentialBackoff(event.error)) {
        o.insert(QStringLiteral("retryAfterMs"), qint64(event.error.retryAfter().count()));
        o.insert(QStringLiteral("durationBeforeRetryMs"),
                 qint64(event.error.durationBeforeRetry().count()));
    }
    if (event.type == Event::Type::Info)
        o.insert(QStringLiteral("text"), event.text);
    for (auto it = event.extra.cbegin(); it != event.extra.cend(); ++it)
        o.insert(it.key(), QJsonValue::fromVariant(it.value()));
    return o;
}

QString EventWriter::toText(const Event &event)
{
    const QString time = QStringLiteral("%1").arg(double(event.elapsedMs) / 1000.0, 9, 'f', 3);
    QString line = time + QStringLiteral("  ") + Event::typeName(event.type).leftJustified(16);
    if (!event.name.isEmpty())
        line += QLatin1Char(' ') + event.name;
    const QString details = event.details();
    if (!details.isEmpty())
        line += QStringLiteral(" — ") + details;
    return line;
}

void EventWriter::write(const Event &event)
{
    if (m_format == Format::JsonLines)
        writeLine(QJsonDocument(toJson(event)).toJson(QJsonDocument::Compact));
    else
        writeLine(toText(event).toUtf8());
}

void EventWriter::writeRecord(const QString &type, const QJsonObject &fields)
{
    if (m_format == Format::JsonLines) {
        QJsonObject o = fields;
        o.insert(QStringLiteral("event"), type);
        writeLine(QJsonDocument(o).toJson(QJsonDocument::Compact));
        return;
    }
    QString line = type + QLatin1Char(':');
    std::function<void(const QString &, const QJsonObject &)> add = [&](const QString &prefix,
                                                                        const QJsonObject &object) {
        for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
            if (it.value().isObject())
                add(prefix + it.key() + QLatin1Char('.'), it.value().toObject());
            else if (it.value().isArray())
                line += QLatin1Char(' ') + prefix + it.key() + QLatin1Char('=')
                        + it.value().toVariant().toStringList().join(QLatin1Char(','));
            else
                line += QLatin1Char(' ') + prefix + it.key() + QLatin1Char('=')
                        + it.value().toVariant().toString();
        }
    };
    add(QString(), fields);
    writeLine(line.toUtf8());
}

void EventWriter::writeLine(const QByteArray &line)
{
    m_buffer += line;
    m_buffer += '\n';
    if (m_buffer.size() > 1024 * 1024)
        flush();
    else if (!m_flushTimer.isActive())
        m_flushTimer.start();
}

} // namespace goroutinemap::demo
