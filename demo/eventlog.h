// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>

#include <QAbstractTableModel>
#include <QDateTime>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QPointer>
#include <QTimer>
#include <QVariantMap>

#include <deque>
#include <functional>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QFile;
class QIODevice;
class QTableView;
QT_END_NAMESPACE

namespace goroutinemap {
class GoRoutineMap;
}

namespace goroutinemap::demo {

/*!
    One thing that happened to a name: what the log dock lists and what --log-events
    writes. A value type, made in the GUI thread.
*/
struct Event
{
    enum class Type {
        Queued,
        Started,
        Finished,
        Failed,
        Canceled,
        Refused,
        BackoffExpired,
        Removed,
        Info
    };

    Type type = Type::Info;
    //! Wall clock in milliseconds since the epoch (UTC): converting to local time is left
    //! to display, because it costs a time-zone lookup per call.
    qint64 timeMs = 0;
    qint64 elapsedMs = 0; //!< Milliseconds since the log started (monotonic).
    QString name; //!< The operation name; empty for Info.
    Error error; //!< Failed: the failure. Refused: the refusal. No error otherwise.
    qint64 retryDelayMs = -1; //!< Failed: the backoff window now in force, -1 without backoff.
    int failureCount = 0; //!< Failed: consecutive failures so far.
    QString text; //!< Info: the message.
    QVariantMap extra; //!< Additional facts, e.g. {"sha256": "…"} for a hashed file.

    //! The stable, untranslated key of \a type used in JSON ("started", "backoffExpired", …).
    static QString typeKey(Type type);
    //! The translated name of \a type for display.
    static QString typeName(Type type);
    //! The translated one-line description of everything but the name.
    QString details() const;
};

class EventLogModel;

/*!
    \brief Records what the map does, what was refused and why.

    Listens to every signal of one GoRoutineMap and is told about refusals by whoever
    called run() (a refused run emits nothing). Keeps running totals for the status bar,
    feeds an EventLogModel for the dock and re-emits each event for writers.

    Lives in and is used from the map's thread, the GUI thread.
*/
class EventLog : public QObject
{
    Q_OBJECT
public:
    //! Totals since the start or the last clear().
    struct Counts
    {
        qint64 queued = 0;
        qint64 started = 0;
        qint64 finished = 0;
        qint64 failed = 0;
        qint64 canceled = 0;
        qint64 refused = 0;
        qint64 expired = 0;
    };

    explicit EventLog(GoRoutineMap *map, QObject *parent = nullptr);
    ~EventLog() override;

    //! Records a refusal returned by GoRoutineMap::run(). GUI thread.
    void recordRefusal(const goroutinemap::Error &refusal);
    //! Records a note that is not about one run (a scan finished, a folder is watched).
    void recordInfo(const QString &text, const QString &name = QString());

    /*!
        Sets a function asked for extra facts when a name finishes, called synchronously
        in the GUI thread from the operationFinished() handler.
    */
    void setDetailProvider(std::function<QVariantMap(const QString &name)> provider);

    Counts counts() const { return m_counts; }
    //! Forgets the totals and empties the list.
    void clear();

    EventLogModel *model() const { return m_model; }
    //! Milliseconds since this log was created.
    qint64 elapsedMs() const { return m_clock.elapsed(); }

Q_SIGNALS:
    //! Emitted for every event, in order, as it is recorded.
    void eventRecorded(const goroutinemap::demo::Event &event);
    void cleared();

private:
    void record(Event event);

    QPointer<GoRoutineMap> m_map;
    EventLogModel *m_model;
    QElapsedTimer m_clock;
    qint64 m_startMs = 0; //!< Wall clock at m_clock's start, ms since the epoch.
    Counts m_counts;
    std::function<QVariantMap(const QString &)> m_detailProvider;
};

/*!
    \brief The newest events as a table (time, event, name, details) for the log dock.

    Appends in batches, at most one insertion per updateInterval, and keeps the newest
    capacity() rows, so a flood of events costs the view little. GUI thread.
*/
class EventLogModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { TimeColumn, EventColumn, NameColumn, DetailsColumn, ColumnCount };
    enum Role { TypeRole = Qt::UserRole + 1 }; //!< Event::Type as int.

    explicit EventLogModel(QObject *parent = nullptr);

    void append(const Event &event);
    //! Inserts the events gathered since the last batch now.
    void flush();
    void clear();
    //! The event shown in \a row.
    const Event &event(int row) const { return m_events[std::size_t(row)]; }

    int capacity() const { return m_capacity; }
    void setCapacity(int capacity);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    std::deque<Event> m_events;
    std::vector<Event> m_pending;
    QTimer m_batchTimer;
    int m_capacity = 2000;
};

/*!
    \brief The event log dock: a table of the newest events that follows the end while
    the user has not scrolled away. GUI thread.
*/
class EventLogDock : public QDockWidget
{
    Q_OBJECT
public:
    explicit EventLogDock(EventLogModel *model, QWidget *parent = nullptr);
    QTableView *view() const { return m_view; }

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslate();
    QTableView *m_view;
};

/*!
    \brief Writes events to a device: one compact JSON object per line (--log-events) or
    one readable line each (the headless default).

    Connect EventLog::eventRecorded() to write(). Lines are gathered and written once the
    event loop turns (a burst of events costs one write), and at the latest when the
    writer is destroyed. GUI thread.
*/
class EventWriter : public QObject
{
    Q_OBJECT
public:
    enum class Format { JsonLines, Text };

    //! Writes to \a device, which must be open and outlive the writer.
    EventWriter(Format format, QIODevice *device, QObject *parent = nullptr);
    //! Writes to the process's standard output.
    explicit EventWriter(Format format, QObject *parent = nullptr);
    ~EventWriter() override;

    Format format() const { return m_format; }

    void write(const goroutinemap::demo::Event &event);
    //! Writes a free-form record: as JSON in JsonLines, as "key: value" pairs in Text.
    void writeRecord(const QString &type, const QJsonObject &fields);

    static QJsonObject toJson(const Event &event);
    static QString toText(const Event &event);

private:
    void writeLine(const QByteArray &line);
    void flush();

    Format m_format;
    std::unique_ptr<QFile> m_stdout;
    QIODevice *m_device;
    QByteArray m_buffer;
    QTimer m_flushTimer;
};

} // namespace goroutinemap::demo

Q_DECLARE_METATYPE(goroutinemap::demo::Event)
