// SPDX-License-Identifier: Apache-2.0
// Tests of goroutinemap::OperationsModel over a live GoRoutineMap.
#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/operationsmodel.h>

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QSemaphore>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTest>

#include <array>
#include <atomic>
#include <memory>
#include <thread>

#include <time.h>

using namespace goroutinemap;
using namespace std::chrono_literals;
using State = OperationInfo::State;
constexpr auto Fatal = QAbstractItemModelTester::FailureReportingMode::Fatal;

namespace {

// Generous: the tests run on a loaded 2-core machine.
constexpr int kTimeout = 20000;

// An operation that holds its pool thread until \a gate is released once (or the map cancels
// it, so that a failing test never hangs in the map's destructor). Waiting on the semaphore
// in slices is a blocking wait, not a sleep.
GoRoutineMap::ContextOperationFunc gated(QSemaphore &gate, Error result = Error())
{
    return [&gate, result](OperationContext &ctx) -> Error {
        while (!gate.tryAcquire(1, 20)) {
            if (ctx.isCancellationRequested())
                return Error();
        }
        return result;
    };
}

GoRoutineMap::OperationFunc failing(const QString &text)
{
    return [text] { return Error(text); };
}

QString S(const char *s)
{
    return QString::fromUtf8(s);
}

// The main thread's CPU time, for the busy-share figure.
double threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

} // namespace

class tst_OperationsModel : public QObject
{
    Q_OBJECT

private:
    static QVariant cell(const OperationsModel &model, const QString &name, int column,
                         int role = Qt::DisplayRole)
    {
        const int row = model.rowOf(name);
        if (row < 0)
            return QVariant();
        return model.data(model.index(row, column), role);
    }
    static int stateOf(const OperationsModel &model, const QString &name)
    {
        const QVariant v =
                cell(model, name, OperationsModel::NameColumn, OperationsModel::StateRole);
        return v.isValid() ? v.toInt() : -1;
    }
    static qint64 remainingOf(const OperationsModel &model, const QString &name)
    {
        const QVariant v =
                cell(model, name, OperationsModel::TimeColumn, OperationsModel::RemainingMsRole);
        return v.isValid() ? v.toLongLong() : -1;
    }
    static qint64 elapsedOf(const OperationsModel &model, const QString &name)
    {
        const QVariant v =
                cell(model, name, OperationsModel::TimeColumn, OperationsModel::ElapsedMsRole);
        return v.isValid() ? v.toLongLong() : -1;
    }
    // Every row's name is at the row rowOf() says, and rowOf() knows every row.
    static bool indexConsistent(const OperationsModel &model)
    {
        for (int row = 0; row < model.rowCount(); ++row) {
            const QString name =
                    model.data(model.index(row, OperationsModel::NameColumn)).toString();
            if (model.rowOf(name) != row)
                return false;
        }
        return true;
    }
    static QStringList names(const QAbstractItemModel &model)
    {
        QStringList result;
        for (int row = 0; row < model.rowCount(); ++row)
            result << model.data(model.index(row, OperationsModel::NameColumn)).toString();
        return result;
    }

private Q_SLOTS:
    void initTestCase()
    {
        // The map warns about every failure; thousands of deliberate ones would drown the log.
        QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));
        qRegisterMetaType<goroutinemap::Error>();
        qRegisterMetaType<goroutinemap::OperationInfo>();
    }

    void emptyModel()
    {
        OperationsModel model;
        QAbstractItemModelTester tester(&model, Fatal);
        QCOMPARE(model.map(), nullptr);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.columnCount(), int(OperationsModel::ColumnCount));
        QCOMPARE(model.updateInterval(), 100ms);
        QCOMPARE(model.updateIntervalMs(), 100);
        for (int column = 0; column < OperationsModel::ColumnCount; ++column) {
            QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
            QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole)
                             .toString()
                             .isEmpty());
        }
        QCOMPARE(model.headerData(OperationsModel::StateColumn, Qt::Horizontal).toString(),
                 S("State"));
        const QHash<int, QByteArray> roles = model.roleNames();
        QCOMPARE(roles.value(OperationsModel::ProgressRole), QByteArray("progress"));
        QCOMPARE(roles.value(OperationsModel::SortRole), QByteArray("sort"));
        QCOMPARE(roles.value(Qt::DisplayRole), QByteArray("display"));
        QCOMPARE(model.rowOf(S("x")), -1);
        model.flush();
        QCOMPARE(model.rowCount(), 0);

        QSignalSpy intervalSpy(&model, &OperationsModel::updateIntervalChanged);
        model.setUpdateInterval(0ms);
        QCOMPARE(model.updateInterval(), 1ms);
        model.setUpdateIntervalMs(250);
        QCOMPARE(model.property("updateInterval").toInt(), 250);
        model.setUpdateIntervalMs(250);
        QCOMPARE(intervalSpy.count(), 2);
    }

    // Queued and running names get rows; a finished name's row goes.
    void rowsFollowTheMap()
    {
        QSemaphore gateA, gateB;
        GoRoutineMap map;
        map.setMaxConcurrency(1);
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy started(&map, &GoRoutineMap::operationStarted);

        QVERIFY(!map.run(S("a"), gated(gateA)));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);
        QVERIFY(!map.run(S("b"), gated(gateB)));

        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 2, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(model, S("a")), int(State::Running), kTimeout);
        QCOMPARE(stateOf(model, S("b")), int(State::Queued)); // one thread: b waits
        QVERIFY(inserted.count() >= 1);
        QCOMPARE(reset.count(), 0);
        QVERIFY(indexConsistent(model));

        QCOMPARE(cell(model, S("a"), OperationsModel::StateColumn).toString(), S("Running"));
        QCOMPARE(cell(model, S("b"), OperationsModel::StateColumn).toString(), S("Queued"));
        QCOMPARE(cell(model, S("a"), OperationsModel::NameColumn).toString(), S("a"));
        QTRY_VERIFY_WITH_TIMEOUT(
                QRegularExpression(S("^\\d+[.,]\\d s$"))
                        .match(cell(model, S("a"), OperationsModel::TimeColumn).toString())
                        .hasMatch(),
                kTimeout);
        QVERIFY(elapsedOf(model, S("a")) >= 0);
        QCOMPARE(cell(model, S("a"), OperationsModel::TimeColumn, OperationsModel::ProgressRole)
                         .toInt(),
                 -1);
        QCOMPARE(cell(model, S("a"), OperationsModel::TimeColumn, OperationsModel::RemainingMsRole),
                 QVariant());
        QCOMPARE(cell(model, S("b"), OperationsModel::TimeColumn).toString(), QString());
        QCOMPARE(cell(model, S("b"), OperationsModel::TimeColumn, OperationsModel::ProgressRole),
                 QVariant());
        QCOMPARE(cell(model, S("b"), OperationsModel::TimeColumn, OperationsModel::SortRole)
                         .toLongLong(),
                 -1);
        QCOMPARE(cell(model, S("b"), OperationsModel::FailuresColumn).toString(), QString());
        QCOMPARE(cell(model, S("b"), OperationsModel::LastErrorColumn).toString(), QString());
        const OperationInfo info = cell(model, S("a"), OperationsModel::StateColumn,
                                        OperationsModel::OperationInfoRole)
                                           .value<OperationInfo>();
        QVERIFY(info.isValid());
        QCOMPARE(info.name, S("a"));
        QCOMPARE(info.state, State::Running);

        gateA.release();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowOf(S("a")), -1, kTimeout);
        QVERIFY(removed.count() >= 1);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(model, S("b")), int(State::Running), kTimeout);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.rowOf(S("b")), 0);

        gateB.release();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
        QCOMPARE(reset.count(), 0);

        // Nothing live, nothing changing: the model is idle and emits nothing.
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QVERIFY(!changed.wait(400));
    }

    // A canceled queued name leaves at once; so does a name resetBackoff() forgets.
    void canceledAndRemovedRowsLeave()
    {
        QSemaphore gate;
        GoRoutineMap map(true);
        BackoffPolicy policy;
        policy.setInitialDelay(10min);
        policy.setMaximumDelay(10min);
        QVERIFY(map.setBackoffPolicy(policy));
        map.setMaxConcurrency(1);
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy failed(&map, &GoRoutineMap::operationFailed);

        QVERIFY(!map.run(S("f"), failing(S("boom"))));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QVERIFY(!map.run(S("a"), gated(gate)));
        QVERIFY(!map.run(S("b"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, kTimeout);
        QCOMPARE(stateOf(model, S("f")), int(State::BackingOff));

        QVERIFY(map.cancel(S("b")));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowOf(S("b")), -1, kTimeout);
        QVERIFY(map.resetBackoff(S("f")));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowOf(S("f")), -1, kTimeout);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.rowOf(S("a")), 0);
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
    }

    // Without backoff a failed name leaves the map, and its row goes.
    void failedRowLeavesWithoutBackoff()
    {
        QSemaphore gate;
        GoRoutineMap map;
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
        QVERIFY(!map.run(S("f"), gated(gate, Error(S("boom")))));
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(model, S("f")), int(State::Running), kTimeout);
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
        QCOMPARE(map.count(), 0);
    }

    // A failed name backs off with a draining countdown; its row goes when the window ends.
    void backoffCountsDownAndExpires()
    {
        GoRoutineMap map(true);
        BackoffPolicy policy;
        policy.setInitialDelay(800ms);
        QVERIFY(map.setBackoffPolicy(policy));
        OperationsModel model(&map);
        model.setUpdateInterval(50ms);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
        QSignalSpy expired(&map, &GoRoutineMap::backoffExpired);

        QVERIFY(!map.run(S("f"), failing(S("boom"))));
        QVERIFY(failed.wait(kTimeout));
        model.flush();
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(stateOf(model, S("f")), int(State::BackingOff));
        QCOMPARE(cell(model, S("f"), OperationsModel::StateColumn).toString(), S("Backing off"));
        QCOMPARE(cell(model, S("f"), OperationsModel::FailuresColumn).toString(), S("1"));
        QCOMPARE(cell(model, S("f"), OperationsModel::FailuresColumn, OperationsModel::SortRole)
                         .toInt(),
                 1);
        QCOMPARE(cell(model, S("f"), OperationsModel::LastErrorColumn).toString(), S("boom"));
        QVERIFY(cell(model, S("f"), OperationsModel::LastErrorColumn, Qt::ToolTipRole)
                        .toString()
                        .contains(S("boom")));
        QCOMPARE(cell(model, S("f"), OperationsModel::TimeColumn, OperationsModel::ElapsedMsRole),
                 QVariant());

        const qint64 remaining1 = remainingOf(model, S("f"));
        const int progress1 =
                cell(model, S("f"), OperationsModel::TimeColumn, OperationsModel::ProgressRole)
                        .toInt();
        QVERIFY2(remaining1 > 0 && remaining1 <= 800, QByteArray::number(remaining1));
        QVERIFY2(progress1 > 0 && progress1 <= 100, QByteArray::number(progress1));
        QVERIFY(QRegularExpression(S("^0[.,]\\d s$"))
                        .match(cell(model, S("f"), OperationsModel::TimeColumn).toString())
                        .hasMatch());

        // The ticks drain it (the row may only be seen with a smaller, positive remainder).
        QTRY_VERIFY_WITH_TIMEOUT(remainingOf(model, S("f")) < remaining1, kTimeout);
        if (model.rowOf(S("f")) >= 0) {
            QVERIFY(cell(model, S("f"), OperationsModel::TimeColumn, OperationsModel::ProgressRole)
                            .toInt()
                    <= progress1);
        }

        // backoffExpired: the name is ReadyToRetry, still held by the map, but not shown.
        QTRY_COMPARE_WITH_TIMEOUT(expired.count(), 1, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(model.rowOf(S("f")), -1, kTimeout);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(map.count(), 1);
        QCOMPARE(map.operationInfo(S("f")).state, State::ReadyToRetry);

        OperationsModel fresh(&map);
        QCOMPARE(fresh.rowCount(), 0);

        // Run it again: failing a second time doubles the window and counts 2.
        failed.clear();
        QVERIFY(!map.run(S("f"), failing(S("boom again"))));
        QVERIFY(failed.wait(kTimeout));
        model.flush();
        QCOMPARE(stateOf(model, S("f")), int(State::BackingOff));
        QCOMPARE(cell(model, S("f"), OperationsModel::FailuresColumn).toString(), S("2"));
        QCOMPARE(cell(model, S("f"), OperationsModel::LastErrorColumn).toString(), S("boom again"));
        QVERIFY(remainingOf(model, S("f")) > 800);
    }

    // With nothing happening in the map, a tick changes the time column only, with one
    // ranged dataChanged over all rows, and never more often than the interval.
    void tickChangesOnlyTheTimeColumn()
    {
        QSemaphore gate;
        GoRoutineMap map(true);
        BackoffPolicy policy;
        policy.setInitialDelay(10min);
        policy.setMaximumDelay(10min);
        QVERIFY(map.setBackoffPolicy(policy));
        map.setMaxConcurrency(1);
        OperationsModel model(&map);
        const auto interval = 30ms;
        model.setUpdateInterval(interval);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
        QSignalSpy started(&map, &GoRoutineMap::operationStarted);

        QVERIFY(!map.run(S("f"), failing(S("boom"))));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QVERIFY(!map.run(S("r"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 2, kTimeout);
        QVERIFY(!map.run(S("q"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(model, S("r")), int(State::Running), kTimeout);
        QCOMPARE(stateOf(model, S("q")), int(State::Queued));
        QCOMPARE(stateOf(model, S("f")), int(State::BackingOff));
        model.flush(); // nothing left to apply: from here on the map is quiet

        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy layout(&model, &QAbstractItemModel::layoutChanged);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        const qint64 remaining1 = remainingOf(model, S("f"));
        const qint64 elapsed1 = elapsedOf(model, S("r"));
        QElapsedTimer clock;
        clock.start();
        QTRY_VERIFY_WITH_TIMEOUT(changed.count() >= 8, kTimeout);
        const qint64 ms = clock.elapsed();

        for (const QList<QVariant> &args : std::as_const(changed)) {
            const auto topLeft = args.at(0).value<QModelIndex>();
            const auto bottomRight = args.at(1).value<QModelIndex>();
            const auto roles = args.at(2).value<QList<int>>();
            QCOMPARE(topLeft.column(), int(OperationsModel::TimeColumn));
            QCOMPARE(bottomRight.column(), int(OperationsModel::TimeColumn));
            QCOMPARE(topLeft.row(), 0);
            QCOMPARE(bottomRight.row(), model.rowCount() - 1);
            QVERIFY(roles.contains(Qt::DisplayRole));
            QVERIFY(roles.contains(OperationsModel::RemainingMsRole));
            QVERIFY(roles.contains(OperationsModel::ElapsedMsRole));
            QVERIFY(roles.contains(OperationsModel::ProgressRole));
        }
        QCOMPARE(inserted.count(), 0);
        QCOMPARE(removed.count(), 0);
        QCOMPARE(layout.count(), 0);
        QCOMPARE(reset.count(), 0);
        // Never more often than the interval (coarse timers may fire up to 5% early).
        const qint64 allowed = ms / (interval.count() * 95 / 100) + 2;
        QVERIFY2(changed.count() <= allowed,
                 qPrintable(QStringLiteral("%1 ticks in %2 ms").arg(changed.count()).arg(ms)));
        // The countdown drained and the running time grew.
        QVERIFY(remainingOf(model, S("f")) < remaining1);
        QVERIFY(elapsedOf(model, S("r")) > elapsed1);

        // Let everything go; afterwards nothing is live and the ticks stop.
        QVERIFY(map.resetBackoff(S("f")));
        gate.release(2);
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
        QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeout)));
        QTRY_COMPARE_WITH_TIMEOUT(map.count(), 0, kTimeout);
        changed.clear();
        QVERIFY(!changed.wait(400));
    }

    // A flood of quick operations reaches the view as a few coalesced updates.
    void burstIsCoalesced()
    {
        constexpr int n = 5000;
        GoRoutineMap map;
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);

        QElapsedTimer clock;
        clock.start();
        // Each operation computes for 100 µs, so the burst lasts several ticks and rows show.
        const auto work = [] {
            const auto end = std::chrono::steady_clock::now() + 100us;
            while (std::chrono::steady_clock::now() < end) { }
            return Error();
        };
        for (int i = 0; i < n; ++i)
            QVERIFY(!map.run(QStringLiteral("op%1").arg(i), work));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), n, 60000);
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
        const qint64 ms = clock.elapsed();

        const qsizetype updates = inserted.count() + removed.count() + changed.count();
        qInfo("%d operations in %lld ms: %lld rowsInserted, %lld rowsRemoved, %lld dataChanged", n,
              ms, qlonglong(inserted.count()), qlonglong(removed.count()),
              qlonglong(changed.count()));
        QVERIFY(inserted.count() > 0); // the rows did show
        QVERIFY2(updates < n / 10, qPrintable(QString::number(updates)));
        // Per tick (one interval, coarse timers may fire 5% early) at most one insertion and a
        // handful of removals and changes: the burst reaches the view at the tick rate.
        const qint64 ticks = ms / 95 + 2;
        QVERIFY(inserted.count() <= ticks);
        QVERIFY2(updates <= 6 * ticks,
                 qPrintable(QStringLiteral("%1 updates, %2 ticks").arg(updates).arg(ticks)));
        QCOMPARE(reset.count(), 0);
    }

    // Removing scattered rows keeps every other row, in order, at the row rowOf() reports.
    void scatteredRemovals()
    {
        constexpr int n = 12;
        std::array<QSemaphore, n> gates;
        GoRoutineMap map;
        map.setMaxConcurrency(n);
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy started(&map, &GoRoutineMap::operationStarted);
        // rowOf() and data() agree at every step, also between the runs of one update.
        int inconsistent = 0;
        const auto check = [&] { inconsistent += !indexConsistent(model); };
        connect(&model, &QAbstractItemModel::rowsAboutToBeRemoved, this, check);
        connect(&model, &QAbstractItemModel::rowsRemoved, this, check);
        QStringList all;
        for (int i = 0; i < n; ++i) {
            all << QStringLiteral("op%1").arg(i, 2, 10, QLatin1Char('0'));
            QVERIFY(!map.run(all.last(), gated(gates[size_t(i)])));
        }
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), n, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), n, kTimeout);
        QVERIFY(indexConsistent(model));
        QStringList shown = names(model);
        std::sort(shown.begin(), shown.end());
        QCOMPARE(shown, all);
        const QStringList order = names(model);

        // Remove every other row in one go: the model must apply them in one update.
        QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
        for (int i = 0; i < n; i += 2)
            gates[size_t(i)].release();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), n / 2, kTimeout);
        model.flush();
        QCOMPARE(model.rowCount(), n / 2);
        QVERIFY(indexConsistent(model));
        QStringList expected;
        for (const QString &name : order) {
            if (name.mid(2).toInt() % 2 == 1)
                expected << name;
        }
        QCOMPARE(names(model), expected);

        // Then a mixed set: the first, one in the middle and the last remaining row.
        finished.clear();
        const QStringList nowShown = names(model);
        for (const QString &name : {nowShown.first(), nowShown.at(2), nowShown.last()})
            gates[size_t(name.mid(2).toInt())].release();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 3, kTimeout);
        model.flush();
        QCOMPARE(names(model), (QStringList{nowShown.at(1), nowShown.at(3), nowShown.at(4)}));
        QVERIFY(indexConsistent(model));

        for (auto &gate : gates)
            gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
        QCOMPARE(inconsistent, 0);
    }

    // SortRole sorts names, states and times naturally through a proxy.
    void sortingWithProxy()
    {
        QSemaphore gate;
        GoRoutineMap map;
        map.setMaxConcurrency(1);
        OperationsModel model(&map);
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setSortRole(OperationsModel::SortRole);
        QAbstractItemModelTester tester(&proxy, Fatal);
        QSignalSpy started(&map, &GoRoutineMap::operationStarted);

        QVERIFY(!map.run(S("m"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);
        for (const char *name : {"z", "a", "k"})
            QVERIFY(!map.run(S(name), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 4, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(stateOf(model, S("m")), int(State::Running), kTimeout);

        proxy.sort(OperationsModel::NameColumn, Qt::AscendingOrder);
        QCOMPARE(names(proxy), (QStringList{S("a"), S("k"), S("m"), S("z")}));
        proxy.sort(OperationsModel::NameColumn, Qt::DescendingOrder);
        QCOMPARE(names(proxy), (QStringList{S("z"), S("m"), S("k"), S("a")}));
        proxy.sort(OperationsModel::StateColumn, Qt::DescendingOrder);
        QCOMPARE(names(proxy).first(), S("m")); // Running sorts after Queued
        proxy.sort(OperationsModel::TimeColumn, Qt::DescendingOrder);
        QCOMPARE(names(proxy).first(), S("m")); // elapsed >= 0, queued -1

        // Sorted by name, a new row lands in its place.
        proxy.sort(OperationsModel::NameColumn, Qt::AscendingOrder);
        QVERIFY(!map.run(S("b"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(proxy.rowCount(), 5, kTimeout);
        QCOMPARE(names(proxy), (QStringList{S("a"), S("b"), S("k"), S("m"), S("z")}));

        gate.release(5);
        QTRY_COMPARE_WITH_TIMEOUT(proxy.rowCount(), 0, kTimeout);
    }

    // Reported progress and status reach the time column.
    void progressAndStatus()
    {
        QSemaphore gate;
        GoRoutineMap map;
        OperationsModel model(&map);
        QAbstractItemModelTester tester(&model, Fatal);
        QVERIFY(!map.run(S("p"), [&gate](OperationContext &ctx) {
            ctx.setProgress(40);
            ctx.setStatus(S("hashing"));
            while (!gate.tryAcquire(1, 20)) {
                if (ctx.isCancellationRequested())
                    break;
            }
            return Error();
        }));
        QTRY_COMPARE_WITH_TIMEOUT(
                cell(model, S("p"), OperationsModel::TimeColumn, OperationsModel::ProgressRole)
                        .toInt(),
                40, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(
                cell(model, S("p"), OperationsModel::TimeColumn, Qt::ToolTipRole).toString(),
                S("hashing"), kTimeout);
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 0, kTimeout);
    }

    // setMap() loads at once with one reset; a destroyed map empties the model.
    void setMapAndMapDestroyed()
    {
        QSemaphore gate;
        auto map = std::make_unique<GoRoutineMap>();
        map->setMaxConcurrency(1);
        QSignalSpy started(map.get(), &GoRoutineMap::operationStarted);
        QVERIFY(!map->run(S("a"), gated(gate)));
        QVERIFY(!map->run(S("b"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);

        OperationsModel model;
        QAbstractItemModelTester tester(&model, Fatal);
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy mapChanged(&model, &OperationsModel::mapChanged);
        model.setMap(map.get());
        QCOMPARE(model.map(), map.get());
        QCOMPARE(model.property("map").value<GoRoutineMap *>(), map.get());
        QCOMPARE(reset.count(), 1);
        QCOMPARE(mapChanged.count(), 1);
        QCOMPARE(model.rowCount(), 2); // loaded at once, no tick needed
        QCOMPARE(stateOf(model, S("a")), int(State::Running));
        QCOMPARE(stateOf(model, S("b")), int(State::Queued));
        QVERIFY(indexConsistent(model));
        model.setMap(map.get()); // same map: nothing
        QCOMPARE(reset.count(), 1);

        QVERIFY(!map->run(S("c"), gated(gate)));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, kTimeout);

        // A second model on the same map, destroyed first: the map must not notice.
        {
            auto other = std::make_unique<OperationsModel>(map.get());
            QCOMPARE(other->rowCount(), 3);
        }

        // Destroying the map cancels its operations (the gated ones return) and the model empties.
        map.reset();
        QCOMPARE(model.map(), nullptr);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(reset.count(), 2);
        QCOMPARE(mapChanged.count(), 2);
        QCOMPARE(mapChanged.last().at(0).value<GoRoutineMap *>(), nullptr);
        model.flush();
        QCOMPARE(model.rowCount(), 0);

        // setMap(nullptr) clears a live map's rows too.
        GoRoutineMap map2;
        QVERIFY(!map2.run(S("x"), gated(gate)));
        model.setMap(&map2);
        QCOMPARE(model.rowCount(), 1);
        model.setMap(nullptr);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.map(), nullptr);
        gate.release();
    }

    // Issue 5, item 7: 10,000 rows and 20,000 operations per second churning reach the view
    // at most 30 times a second; the GUI thread's busy share is reported.
    void churnWithManyRows()
    {
        constexpr int rows = 10000;
        constexpr int rate = 20000; // operations per second
        constexpr int seconds = 2;
        GoRoutineMap map(true);
        BackoffPolicy policy;
        policy.setInitialDelay(10min);
        policy.setMaximumDelay(10min);
        QVERIFY(map.setBackoffPolicy(policy));
        QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
        for (int i = 0; i < rows; ++i)
            QVERIFY(!map.run(QStringLiteral("held%1").arg(i), failing(S("boom"))));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), rows, 60000);

        OperationsModel model(&map);
        QCOMPARE(model.rowCount(), rows);
        // Which updates reached the view: the emissions of one update happen in one go, before
        // the event loop turns again, so a queued call marks the end of an update.
        int updates = 0;
        qint64 emissions = 0;
        const auto inUpdate = std::make_shared<bool>(false);
        auto noteUpdate = [&updates, &emissions, inUpdate, this] {
            ++emissions;
            if (*inUpdate)
                return;
            *inUpdate = true;
            ++updates;
            QMetaObject::invokeMethod(
                    this, [inUpdate] { *inUpdate = false; }, Qt::QueuedConnection);
        };
        for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
            connect(&model, signal, this, noteUpdate);
        connect(&model, &QAbstractItemModel::dataChanged, this, noteUpdate);

        // The churn: operations that each take a few milliseconds (simulated work), on enough
        // threads for 20,000 a second, so that every tick sees rows come and go.
        map.setMaxConcurrency(128);
        const auto work = [] {
            std::this_thread::sleep_for(4ms);
            return Error();
        };
        std::atomic<bool> stop{false};
        std::atomic<int> submitted{0};
        std::thread producer([&] {
            // Paced submission from another thread (run() is thread-safe): a batch per millisecond.
            const auto start = std::chrono::steady_clock::now();
            int i = 0;
            for (qint64 ms = 1; !stop.load(); ++ms) {
                std::this_thread::sleep_until(start + std::chrono::milliseconds(ms));
                for (const qint64 due = ms * rate / 1000; i < due; ++i) {
                    if (!map.run(QStringLiteral("churn%1").arg(i % 4000), work))
                        submitted.fetch_add(1);
                }
            }
        });
        const double cpu0 = threadCpuSeconds();
        QElapsedTimer clock;
        clock.start();
        const int updates0 = updates;
        const qint64 emissions0 = emissions;
        QTest::qWait(seconds * 1000); // the measurement window: the event loop runs throughout
        const double wall = double(clock.elapsed()) / 1000.0;
        const double cpu = threadCpuSeconds() - cpu0;
        stop = true;
        producer.join();

        const int measuredUpdates = updates - updates0;
        const double perSecond = double(measuredUpdates) / wall;
        const double signalsPerUpdate =
                double(emissions - emissions0) / std::max(1, measuredUpdates);
        qInfo("churn: %d rows, %.0f ops/s accepted, %.1f view updates/s of %.1f model signals "
              "each, "
              "GUI thread busy %.0f%%",
              rows, double(submitted.load()) / wall, perSecond, signalsPerUpdate,
              100.0 * cpu / wall);
        QVERIFY(measuredUpdates > 0);
        QVERIFY2(perSecond <= 30.0, qPrintable(QString::number(perSecond)));
        // An update is a few ranged signals (one per run of removed rows at most), never one
        // per operation: a tick covers about 2,000 operations here.
        QVERIFY2(signalsPerUpdate <= 400.0, qPrintable(QString::number(signalsPerUpdate)));
#if !defined(GOROUTINEMAP_TSAN) && !defined(__SANITIZE_ADDRESS__)
        // The target of issue 5; sanitized builds are too slow to judge it.
        QVERIFY2(cpu / wall < 0.30, qPrintable(QString::number(cpu / wall)));
#endif
        QVERIFY(map.waitForCompletion(QDeadlineTimer(60000)));
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), rows, kTimeout);
        QVERIFY(indexConsistent(model));
    }
};

QTEST_GUILESS_MAIN(tst_OperationsModel)
#include "tst_operationsmodel.moc"
