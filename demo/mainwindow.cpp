// SPDX-License-Identifier: Apache-2.0
#include "mainwindow.h"

#include "appearance.h"
#include "backoffpolicydialog.h"
#include "eventlog.h"
#include "folderhasher.h"
#include "operationdelegate.h"
#include "operationsproxymodel.h"
#include "rundialog.h"

#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/operationsmodel.h>
#include <goroutinemap/version.h>

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTableView>
#include <QThread>
#include <QTimer>
#include <QToolBar>

namespace goroutinemap::demo {

/*
    A status bar entry: a state icon and "Label: count". Its tooltip explains the state.
*/
class CountLabel : public QWidget
{
public:
    CountLabel(appearance::Look look, const QString &objectName, QWidget *parent)
        : QWidget(parent), m_icon(new QLabel(this)), m_text(new QLabel(this))
    {
        setObjectName(objectName);
        auto *layout = new QHBoxLayout(this);
        layout->setContentsMargins(4, 0, 4, 0);
        layout->setSpacing(4);
        const int size = fontMetrics().height();
        m_icon->setPixmap(appearance::icon(look).pixmap(QSize(size, size)));
        layout->addWidget(m_icon);
        layout->addWidget(m_text);
    }

    void setLabel(const QString &label, const QString &toolTip)
    {
        m_label = label;
        setToolTip(toolTip);
        setCount(m_count);
    }
    void setCount(qint64 count)
    {
        m_count = count;
        m_text->setText(QStringLiteral("%1: %2").arg(m_label, QLocale().toString(count)));
    }
    qint64 count() const { return m_count; }

private:
    QLabel *m_icon;
    QLabel *m_text;
    QString m_label;
    qint64 m_count = 0;
};

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent),
      m_map(new GoRoutineMap(true, this)),
      m_model(new OperationsModel(m_map, this)),
      m_proxy(new OperationsProxyModel(this)),
      m_view(new QTableView(this)),
      // The event log connects to the map before the hasher does, so that it takes a
      // finished file's digest before the hasher drops what is left.
      m_eventLog(new EventLog(m_map, this)),
      m_eventLogDock(new EventLogDock(m_eventLog->model(), this)),
      m_hasher(new FolderHasher(m_map, this)),
      m_simulation(new Simulation(m_map, this)),
      m_statusTimer(new QTimer(this))
{
    setObjectName(QStringLiteral("mainWindow"));
    setWindowIcon(appearance::applicationIcon());
    // Simulated operations mostly sleep on their pool threads; give them room next to
    // the hashing, which keeps the cores busy.
    m_pool.setObjectName(QStringLiteral("demo pool"));
    m_pool.setMaxThreadCount(qMax(8, 2 * QThread::idealThreadCount()));
    m_map->setThreadPool(&m_pool);

    m_proxy->setSourceModel(m_model);
    m_view->setObjectName(QStringLiteral("operationsView"));
    m_view->setModel(m_proxy);
    m_view->setItemDelegate(new OperationDelegate(m_view));
    m_view->setSortingEnabled(true);
    // Backing off first, then running, then queued: the interesting rows on top.
    m_view->sortByColumn(OperationsModel::StateColumn, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->verticalHeader()->hide();
    // Fixed row heights: the view never measures rows, however many there are.
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 10);
    QHeaderView *header = m_view->horizontalHeader();
    header->setStretchLastSection(true);
    header->resizeSection(OperationsModel::NameColumn, 430);
    header->resizeSection(OperationsModel::StateColumn, 130);
    header->resizeSection(OperationsModel::TimeColumn, 170);
    header->resizeSection(OperationsModel::FailuresColumn, 80);
    setCentralWidget(m_view);
    connect(m_view, &QWidget::customContextMenuRequested, this, &MainWindow::showContextMenu);

    addDockWidget(Qt::BottomDockWidgetArea, m_eventLogDock);
    resizeDocks({m_eventLogDock}, {230}, Qt::Vertical);

    m_eventLog->setDetailProvider(
            [this](const QString &name) { return m_hasher->takeDetails(name); });
    connect(m_hasher, &FolderHasher::refused, m_eventLog, &EventLog::recordRefusal);
    connect(m_hasher, &FolderHasher::info, m_eventLog,
            [this](const QString &text, const QString &name) {
                m_eventLog->recordInfo(text, name);
            });
    connect(m_simulation, &Simulation::refused, m_eventLog, &EventLog::recordRefusal);

    createActions();
    createMenusAndToolBar();
    createStatusBar();
    retranslate();

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &MainWindow::updateActions);
    connect(m_map, &GoRoutineMap::exponentialBackOffOnErrorChanged, m_backoffAction,
            &QAction::setChecked);
    m_statusTimer->setInterval(250);
    connect(m_statusTimer, &QTimer::timeout, this, &MainWindow::refreshStatus);
    m_statusTimer->start();
    connect(m_hasher, &FolderHasher::statsChanged, this, &MainWindow::refreshStatus);
    updateActions();
    resize(defaultSize());
}

MainWindow::~MainWindow()
{
    // Stop feeding work, cancel what runs, then let the map wait for its operations
    // while everything they might report to still exists.
    m_simulation->stop();
    m_hasher->stopFeeding();
    m_map->cancelAll();
    m_view->setModel(nullptr);
    m_model->setMap(nullptr);
    delete m_map;
    m_map = nullptr;
}

void MainWindow::createActions()
{
    auto make = [this](const char *objectName, const char *icon) {
        auto *action = new QAction(this);
        action->setObjectName(QString::fromLatin1(objectName));
        if (icon)
            action->setIcon(appearance::actionIcon(icon));
        return action;
    };
    m_runAction = make("actionRun", "action-run");
    m_runAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    connect(m_runAction, &QAction::triggered, this, &MainWindow::showRunDialog);

    m_burstAction = make("actionBurst", "action-burst");
    m_burstAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    connect(m_burstAction, &QAction::triggered, this, &MainWindow::showBurstDialog);

    m_watchAction = make("actionWatch", "action-watch");
    m_watchAction->setShortcut(QKeySequence::Open);
    connect(m_watchAction, &QAction::triggered, this, &MainWindow::showWatchDialog);

    m_backoffAction = make("actionBackoff", "action-backoff");
    m_backoffAction->setCheckable(true);
    m_backoffAction->setChecked(m_map->isExponentialBackOffOnError());
    connect(m_backoffAction, &QAction::toggled, this, &MainWindow::setBackoffEnabled);

    m_policyAction = make("actionBackoffPolicy", "action-policy");
    connect(m_policyAction, &QAction::triggered, this, &MainWindow::showBackoffPolicyDialog);

    m_cancelAction = make("actionCancel", "action-cancel");
    m_cancelAction->setShortcut(QKeySequence::Delete);
    connect(m_cancelAction, &QAction::triggered, this, &MainWindow::cancelSelected);

    m_cancelAllAction = make("actionCancelAll", "action-cancel-all");
    m_cancelAllAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Delete));
    connect(m_cancelAllAction, &QAction::triggered, this, &MainWindow::cancelAll);

    m_clearAction = make("actionClear", "action-clear");
    m_clearAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    connect(m_clearAction, &QAction::triggered, this, &MainWindow::clear);

    m_retryNowAction = make("actionRetryNow", "state-expired");
    connect(m_retryNowAction, &QAction::triggered, this, [this] {
        for (const QString &name : selectedNames())
            m_map->resetBackoff(name);
    });
    m_copyNameAction = make("actionCopyName", nullptr);
    m_copyNameAction->setShortcut(QKeySequence::Copy);
    connect(m_copyNameAction, &QAction::triggered, this, [this] {
        QApplication::clipboard()->setText(selectedNames().join(QLatin1Char('\n')));
    });
    m_view->addAction(m_copyNameAction);

    m_quitAction = make("actionQuit", nullptr);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_aboutAction = make("actionAbout", "app");
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, [this] {
        QMessageBox::about(
                this, tr("About GoRoutineMap Demo"),
                tr("<h3>GoRoutineMap %1</h3>"
                   "<p>Runs background operations by name, never two of one name at once, "
                   "and backs off names that fail: a Qt port of Kubernetes' goroutinemap.</p>"
                   "<p>The table shows what waits for a thread, what runs and what backs "
                   "off for how long; the log shows every start, finish, failure and "
                   "refusal.</p>")
                        .arg(QStringLiteral(GOROUTINEMAP_VERSION_STRING)));
    });
    m_aboutQtAction = make("actionAboutQt", nullptr);
    m_aboutQtAction->setMenuRole(QAction::AboutQtRole);
    connect(m_aboutQtAction, &QAction::triggered, qApp, &QApplication::aboutQt);
}

void MainWindow::createMenusAndToolBar()
{
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_watchAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);

    m_operationsMenu = menuBar()->addMenu(QString());
    m_operationsMenu->addAction(m_runAction);
    m_operationsMenu->addAction(m_burstAction);
    m_operationsMenu->addSeparator();
    m_operationsMenu->addAction(m_cancelAction);
    m_operationsMenu->addAction(m_cancelAllAction);
    m_operationsMenu->addAction(m_retryNowAction);
    m_operationsMenu->addSeparator();
    m_operationsMenu->addAction(m_clearAction);

    m_backoffMenu = menuBar()->addMenu(QString());
    m_backoffMenu->addAction(m_backoffAction);
    m_backoffMenu->addAction(m_policyAction);

    m_viewMenu = menuBar()->addMenu(QString());
    QAction *logToggle = m_eventLogDock->toggleViewAction();
    logToggle->setIcon(appearance::actionIcon("action-log"));
    m_viewMenu->addAction(logToggle);

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_aboutAction);
    m_helpMenu->addAction(m_aboutQtAction);

    m_toolBar = addToolBar(QString());
    m_toolBar->setObjectName(QStringLiteral("mainToolBar"));
    m_toolBar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_toolBar->setIconSize(QSize(22, 22));
    m_toolBar->addAction(m_runAction);
    m_toolBar->addAction(m_burstAction);
    m_toolBar->addAction(m_watchAction);
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_backoffAction);
    m_toolBar->addAction(m_policyAction);
    m_toolBar->addSeparator();
    m_toolBar->addAction(m_cancelAction);
    m_toolBar->addAction(m_cancelAllAction);
    m_toolBar->addAction(m_clearAction);
    m_toolBar->addSeparator();

    m_filter = new QLineEdit(m_toolBar);
    m_filter->setObjectName(QStringLiteral("filterEdit"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMaximumWidth(260);
    m_toolBar->addWidget(m_filter);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &OperationsProxyModel::setNameFilter);
}

void MainWindow::createStatusBar()
{
    using appearance::Look;
    m_queuedLabel = new CountLabel(Look::Queued, QStringLiteral("queuedCount"), this);
    m_runningLabel = new CountLabel(Look::Running, QStringLiteral("runningCount"), this);
    m_backingOffLabel = new CountLabel(Look::BackingOff, QStringLiteral("backingOffCount"), this);
    m_finishedLabel = new CountLabel(Look::Finished, QStringLiteral("finishedCount"), this);
    m_failedLabel = new CountLabel(Look::Failed, QStringLiteral("failedCount"), this);
    m_refusedLabel = new CountLabel(Look::Refused, QStringLiteral("refusedCount"), this);
    m_workLabel = new QLabel(this);
    m_workLabel->setObjectName(QStringLiteral("workLabel"));
    for (QWidget *w :
         std::initializer_list<QWidget *>{m_queuedLabel, m_runningLabel, m_backingOffLabel,
                                          m_finishedLabel, m_failedLabel, m_refusedLabel})
        statusBar()->addWidget(w);
    statusBar()->addPermanentWidget(m_workLabel);
}

void MainWindow::retranslate()
{
    setWindowTitle(tr("GoRoutineMap Demo"));
    m_runAction->setText(tr("&Run…"));
    m_runAction->setToolTip(tr("Run one simulated operation: name, duration, outcome"));
    m_burstAction->setText(tr("&Burst…"));
    m_burstAction->setToolTip(tr("Run many simulated operations over a few names, some failing"));
    m_watchAction->setText(tr("&Watch Folder…"));
    m_watchAction->setToolTip(
            tr("Hash every file of a folder with SHA-256 and re-hash files that change"));
    m_backoffAction->setText(tr("Exponential &Backoff"));
    m_backoffAction->setToolTip(
            tr("Refuse failed names for a growing while (turning it off forgets "
               "every failure)"));
    m_policyAction->setText(tr("Backoff &Policy…"));
    m_policyAction->setToolTip(tr("Initial delay, multiplier, maximum, jitter"));
    m_cancelAction->setText(tr("&Cancel"));
    m_cancelAction->setToolTip(tr("Cancel the selected operations"));
    m_cancelAllAction->setText(tr("Cancel &All"));
    m_cancelAllAction->setToolTip(
            tr("Cancel every pending operation and stop submitting new ones"));
    m_clearAction->setText(tr("C&lear"));
    m_clearAction->setToolTip(tr("Forget failure histories and empty the event log"));
    m_retryNowAction->setText(tr("Retry &Now"));
    m_retryNowAction->setToolTip(
            tr("Forget the selected names' failures so they may run again at once"));
    m_copyNameAction->setText(tr("&Copy Name"));
    m_quitAction->setText(tr("&Quit"));
    m_aboutAction->setText(tr("&About GoRoutineMap Demo"));
    m_aboutQtAction->setText(tr("About &Qt"));
    m_fileMenu->setTitle(tr("&File"));
    m_operationsMenu->setTitle(tr("&Operations"));
    m_backoffMenu->setTitle(tr("&Backoff"));
    m_viewMenu->setTitle(tr("&View"));
    m_helpMenu->setTitle(tr("&Help"));
    m_toolBar->setWindowTitle(tr("Main Toolbar"));
    m_filter->setPlaceholderText(tr("Filter by name…"));

    m_queuedLabel->setLabel(tr("Queued"), tr("Accepted, waiting for a pool thread"));
    m_runningLabel->setLabel(tr("Running"), tr("Executing on a pool thread"));
    m_backingOffLabel->setLabel(tr("Backing off"),
                                tr("Failed; runs of the name are refused until its window ends"));
    m_finishedLabel->setLabel(tr("Finished"),
                              tr("Runs that succeeded since the start or the last clear"));
    m_failedLabel->setLabel(tr("Failed"), tr("Runs that returned an error or threw"));
    m_refusedLabel->setLabel(tr("Refused"),
                             tr("Runs refused because the name was pending or backing off"));
    refreshStatus();
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QMainWindow::changeEvent(event);
}

MainWindow::LiveCounts MainWindow::liveCounts() const
{
    LiveCounts counts;
    const int rows = m_model->rowCount();
    for (int row = 0; row < rows; ++row) {
        switch (OperationInfo::State(
                m_model->index(row, 0).data(OperationsModel::StateRole).toInt())) {
        case OperationInfo::State::Queued:
            ++counts.queued;
            break;
        case OperationInfo::State::Running:
            ++counts.running;
            break;
        case OperationInfo::State::BackingOff:
            ++counts.backingOff;
            break;
        case OperationInfo::State::ReadyToRetry:
            break;
        }
    }
    return counts;
}

bool MainWindow::isIdle() const
{
    if (!m_hasher->isIdle() || !m_simulation->isIdle() || m_map->pendingCount() > 0)
        return false;
    const QList<OperationInfo> infos = m_map->operations();
    return std::none_of(infos.cbegin(), infos.cend(), [](const OperationInfo &info) {
        return info.state == OperationInfo::State::BackingOff;
    });
}

void MainWindow::refreshStatus()
{
    const LiveCounts live = liveCounts();
    const EventLog::Counts totals = m_eventLog->counts();
    m_queuedLabel->setCount(live.queued);
    m_runningLabel->setCount(live.running);
    m_backingOffLabel->setCount(live.backingOff);
    m_finishedLabel->setCount(totals.finished);
    m_failedLabel->setCount(totals.failed);
    m_refusedLabel->setCount(totals.refused);

    const FolderHasher::Stats s = m_hasher->stats();
    const QLocale locale;
    QString work;
    if (s.found > 0) {
        if (s.scans > 0 || s.backlog > 0 || s.inFlight > 0)
            work = tr("Hashing: %1 of %2 files, %3")
                           .arg(locale.toString(s.hashed), locale.toString(s.found),
                                locale.formattedDataSize(s.bytes));
        else
            work = tr("Hashed %1 files (%2), watching %3")
                           .arg(locale.toString(s.hashed), locale.formattedDataSize(s.bytes),
                                locale.toString(s.watchedFiles));
    }
    m_workLabel->setText(work);
    m_workLabel->setToolTip(m_hasher->folders().join(QLatin1Char('\n')));
    Q_EMIT statusRefreshed();
}

void MainWindow::updateActions()
{
    const bool selection = m_view->selectionModel() && m_view->selectionModel()->hasSelection();
    m_cancelAction->setEnabled(selection);
    m_retryNowAction->setEnabled(selection);
    m_copyNameAction->setEnabled(selection);
}

QStringList MainWindow::selectedNames() const
{
    QStringList names;
    if (!m_view->selectionModel())
        return names;
    const QModelIndexList rows =
            m_view->selectionModel()->selectedRows(OperationsModel::NameColumn);
    for (const QModelIndex &index : rows)
        names.append(index.data(Qt::DisplayRole).toString());
    return names;
}

void MainWindow::showContextMenu(const QPoint &pos)
{
    if (!m_view->indexAt(pos).isValid())
        return;
    QMenu menu(this);
    menu.addAction(m_cancelAction);
    menu.addAction(m_retryNowAction);
    menu.addSeparator();
    menu.addAction(m_copyNameAction);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

void MainWindow::watchFolder(const QString &folder)
{
    m_eventLog->recordInfo(tr("watching folder"),
                           QDir::cleanPath(QFileInfo(folder).absoluteFilePath()));
    m_hasher->watch(folder);
}

void MainWindow::runOperation(const SimulatedOperation &op)
{
    m_simulation->run(op);
}

void MainWindow::startBurst(const BurstSpec &spec)
{
    m_simulation->burst(spec);
}

void MainWindow::startScenario(bool loop)
{
    m_simulation->startScenario(loop);
}

void MainWindow::cancelSelected()
{
    for (const QString &name : selectedNames())
        m_map->cancel(name);
}

void MainWindow::cancelAll()
{
    m_simulation->stop();
    m_hasher->stopFeeding();
    const int canceled = m_map->cancelAll();
    m_eventLog->recordInfo(tr("cancellation requested for %n operation(s)", nullptr, canceled));
}

void MainWindow::clear()
{
    const QList<OperationInfo> infos = m_map->operations();
    for (const OperationInfo &info : infos) {
        if (!info.isPending())
            m_map->resetBackoff(info.name);
    }
    m_eventLog->clear();
    refreshStatus();
}

void MainWindow::setBackoffEnabled(bool on)
{
    if (m_map->isExponentialBackOffOnError() != on)
        m_map->setExponentialBackOffOnError(on);
    m_backoffAction->setChecked(on);
}

void MainWindow::showRunDialog()
{
    if (m_lastRun.name.isEmpty() || m_lastRun.name.startsWith(QStringLiteral("task-")))
        m_lastRun.name = QStringLiteral("task-%1").arg(++m_runCounter);
    RunDialog dialog(m_lastRun, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_lastRun = dialog.operation();
    runOperation(m_lastRun);
}

void MainWindow::showBurstDialog()
{
    BurstDialog dialog(m_lastBurst, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_lastBurst = dialog.spec();
    startBurst(m_lastBurst);
}

void MainWindow::showWatchDialog()
{
    const QString start = m_hasher->folders().value(0, QDir::homePath());
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Watch Folder"), start);
    if (!folder.isEmpty())
        watchFolder(folder);
}

void MainWindow::showBackoffPolicyDialog()
{
    BackoffPolicyDialog dialog(m_map->backoffPolicy(), this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    m_map->setBackoffPolicy(dialog.policy());
}

} // namespace goroutinemap::demo
