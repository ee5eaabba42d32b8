// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "simulation.h"

#include <QMainWindow>
#include <QPointer>
#include <QThreadPool>

QT_BEGIN_NAMESPACE
class QAction;
class QLabel;
class QLineEdit;
class QMenu;
class QTableView;
class QTimer;
class QToolBar;
QT_END_NAMESPACE

namespace goroutinemap {
class GoRoutineMap;
class OperationsModel;
} // namespace goroutinemap

namespace goroutinemap::demo {

class EventLog;
class EventLogDock;
class FolderHasher;
class OperationsProxyModel;
class CountLabel;

/*!
    \brief The demo's main window: the live operations table of one GoRoutineMap, the
    actions that give it work and a status bar with live counts.

    Owns the map (running on the window's own thread pool), its OperationsModel (sorted and filtered
   by an OperationsProxyModel, the time column drawn by an OperationDelegate), the two workloads
   (FolderHasher on real files, Simulation of scripted operations), the EventLog and its dock.

    Threads: a widget, so GUI thread only. The map lives here too, so every map signal
    and every model change arrives in the GUI thread; only the operations themselves
    (and the folder scanner) run elsewhere.
*/
class MainWindow : public QMainWindow
{
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    //! Cancels everything, then destroys the map (waiting for running operations).
    ~MainWindow() override;

    //! The size the window opens with and screenshots have.
    static QSize defaultSize() { return QSize(1200, 760); }

    //! How many operations run at once (the size of the demo's pool).
    int maxConcurrency() const { return m_pool.maxThreadCount(); }
    void setMaxConcurrency(int threads) { m_pool.setMaxThreadCount(qMax(1, threads)); }

    GoRoutineMap *map() const { return m_map; }
    OperationsModel *model() const { return m_model; }
    OperationsProxyModel *proxyModel() const { return m_proxy; }
    QTableView *view() const { return m_view; }
    EventLog *eventLog() const { return m_eventLog; }
    EventLogDock *eventLogDock() const { return m_eventLogDock; }
    FolderHasher *hasher() const { return m_hasher; }
    Simulation *simulation() const { return m_simulation; }

    //! Names in each live state right now, counted from the model.
    struct LiveCounts
    {
        int queued = 0;
        int running = 0;
        int backingOff = 0;
    };
    LiveCounts liveCounts() const;

    /*!
        True when the work given so far is done: nothing scheduled or scanned any more,
        nothing pending and no name backing off.
    */
    bool isIdle() const;

public Q_SLOTS:
    //! Hashes every file under \a folder and watches it for changes.
    void watchFolder(const QString &folder);
    //! Runs one simulated operation; a refusal is logged.
    void runOperation(const goroutinemap::demo::SimulatedOperation &op);
    //! Schedules a burst of simulated operations.
    void startBurst(const goroutinemap::demo::BurstSpec &spec);
    //! Starts the demo scenario (see Simulation::startScenario()).
    void startScenario(bool loop);
    //! Requests cancellation of the selected rows' operations.
    void cancelSelected();
    //! Requests cancellation of every pending operation and drops what waits to be submitted.
    void cancelAll();
    //! Forgets failure histories (backing-off rows go) and empties the log and totals.
    void clear();
    void setBackoffEnabled(bool on);

    void showRunDialog();
    void showBurstDialog();
    void showWatchDialog();
    void showBackoffPolicyDialog();

Q_SIGNALS:
    //! The status bar counts were refreshed (every 250 ms while something changes).
    void statusRefreshed();

protected:
    void changeEvent(QEvent *event) override;

private:
    void createActions();
    void createMenusAndToolBar();
    void createStatusBar();
    void retranslate();
    void refreshStatus();
    void updateActions();
    void showContextMenu(const QPoint &pos);
    QStringList selectedNames() const;

    /*
        The pool the map runs operations on. Every operation of the demo first lowers its
        pool thread's priority (makeCurrentThreadBackground()), so hashing on every core
        does not take the CPU from the GUI thread. Declared before the map, so it
        outlives it.
    */
    QThreadPool m_pool;
    GoRoutineMap *m_map;
    OperationsModel *m_model;
    OperationsProxyModel *m_proxy;
    QTableView *m_view;
    EventLog *m_eventLog;
    EventLogDock *m_eventLogDock;
    FolderHasher *m_hasher;
    Simulation *m_simulation;
    QTimer *m_statusTimer;

    QAction *m_runAction;
    QAction *m_burstAction;
    QAction *m_watchAction;
    QAction *m_backoffAction;
    QAction *m_policyAction;
    QAction *m_cancelAction;
    QAction *m_cancelAllAction;
    QAction *m_clearAction;
    QAction *m_retryNowAction;
    QAction *m_copyNameAction;
    QAction *m_quitAction;
    QAction *m_aboutAction;
    QAction *m_aboutQtAction;
    QMenu *m_fileMenu = nullptr;
    QMenu *m_operationsMenu = nullptr;
    QMenu *m_backoffMenu = nullptr;
    QMenu *m_viewMenu = nullptr;
    QMenu *m_helpMenu = nullptr;
    QToolBar *m_toolBar = nullptr;
    QLineEdit *m_filter = nullptr;

    CountLabel *m_queuedLabel = nullptr;
    CountLabel *m_runningLabel = nullptr;
    CountLabel *m_backingOffLabel = nullptr;
    CountLabel *m_finishedLabel = nullptr;
    CountLabel *m_failedLabel = nullptr;
    CountLabel *m_refusedLabel = nullptr;
    QLabel *m_workLabel = nullptr;

    SimulatedOperation m_lastRun;
    BurstSpec m_lastBurst;
    int m_runCounter = 0;
};

} // namespace goroutinemap::demo
