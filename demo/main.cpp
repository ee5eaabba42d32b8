// SPDX-License-Identifier: Apache-2.0
// goroutinemap-demo: the live operations table of a GoRoutineMap on real files and on a
// scripted simulation. Everything but the command line lives in goroutinemap-demo-core.

#include "eventlog.h"
#include "folderhasher.h"
#include "mainwindow.h"
#include "stallmonitor.h"
#include "translations.h"

#include <goroutinemap/goroutinemap.h>
#include <goroutinemap/operationsmodel.h>
#include <goroutinemap/version.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QPixmap>
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <optional>

#ifdef __GLIBC__
#  include <malloc.h>
#endif

using namespace goroutinemap::demo;

namespace {

// The translation context of the command line's texts.
struct CommandLine
{
    Q_DECLARE_TR_FUNCTIONS(CommandLine)
};

// The folder watched with no arguments: present on every Debian machine.
QString defaultFolder()
{
    const QString doc = QStringLiteral("/usr/share/doc");
    return QFileInfo(doc).isDir() ? doc : QDir::homePath();
}

// No X11 and no Wayland display: Qt's xcb/wayland plugins would abort, so render offscreen.
bool setUpPlatform()
{
    const bool noDisplay = qEnvironmentVariableIsEmpty("DISPLAY")
            && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
    const QByteArray platform = qgetenv("QT_QPA_PLATFORM");
    if (noDisplay
        && (platform.isEmpty() || platform.startsWith("xcb") || platform.startsWith("wayland")))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    const QByteArray now = qgetenv("QT_QPA_PLATFORM");
    return noDisplay || now.startsWith("offscreen") || now.startsWith("minimal");
}

// --lang must be known before the parser's texts are made, so look for it by hand first.
QString languageArgument(const QStringList &args)
{
    for (int i = 1; i < args.size(); ++i) {
        const QString &a = args.at(i);
        if ((a == QLatin1String("--lang") || a == QLatin1String("-lang")) && i + 1 < args.size())
            return args.at(i + 1);
        if (a.startsWith(QLatin1String("--lang=")))
            return a.mid(7);
    }
    return QString();
}

std::optional<int> intValue(const QCommandLineParser &parser, const QCommandLineOption &option,
                            int min)
{
    if (!parser.isSet(option))
        return std::nullopt;
    bool ok = false;
    const int value = parser.value(option).toInt(&ok);
    if (!ok || value < min) {
        std::fprintf(stderr, "%s\n",
                     qPrintable(CommandLine::tr("Invalid value for --%1: %2")
                                        .arg(option.names().constFirst(), parser.value(option))));
        std::exit(2);
    }
    return value;
}

// Headless, two messages of Qt itself say nothing useful; everything else passes.
QtMessageHandler previousHandler = nullptr;
void headlessMessageHandler(QtMsgType type, const QMessageLogContext &context,
                            const QString &message)
{
    if (message.startsWith(QLatin1String("This plugin does not support"))
        || message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR not set")))
        return;
    previousHandler(type, context, message);
}

/*
    With GOROUTINEMAP_DEMO_SLOW_EVENT_MS=<ms> set, every event whose delivery in the GUI
    thread took longer is reported on stderr with its type and receiver: the tool to find
    what stalls the event loop that --report-stalls measures.
*/
class DemoApplication : public QApplication
{
public:
    using QApplication::QApplication;

    bool notify(QObject *receiver, QEvent *event) override
    {
        if (m_slowMs <= 0 || m_depth > 0 || QThread::currentThread() != thread())
            return QApplication::notify(receiver, event);
        ++m_depth;
        QElapsedTimer timer;
        timer.start();
        const int type = event->type(); // the event may be gone afterwards
        const QByteArray what = receiver->metaObject()->className() + QByteArray(" \"")
                + receiver->objectName().toUtf8() + '"';
        const bool result = QApplication::notify(receiver, event);
        const qint64 ms = timer.elapsed();
        --m_depth;
        if (ms >= m_slowMs)
            std::fprintf(stderr, "slow event: %lld ms, type %d, receiver %s\n", ms, type,
                         what.constData());
        return result;
    }

private:
    const int m_slowMs = qEnvironmentVariableIntValue("GOROUTINEMAP_DEMO_SLOW_EVENT_MS");
    int m_depth = 0;
};

} // namespace

int main(int argc, char *argv[])
{
    const bool headless = setUpPlatform();
    if (headless)
        previousHandler = qInstallMessageHandler(headlessMessageHandler);
    DemoApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("goroutinemap-demo"));
    QApplication::setApplicationDisplayName(QStringLiteral("GoRoutineMap Demo"));
    QApplication::setApplicationVersion(QStringLiteral(GOROUTINEMAP_VERSION_STRING));
    QApplication::setOrganizationName(QStringLiteral("GoRoutineMap"));
    // Matches resources/goroutinemap-demo.desktop, so desktops show the right icon.
    QGuiApplication::setDesktopFileName(QStringLiteral("goroutinemap-demo"));

    // Before any library or window text is made: the system locale, or --lang.
    const QString language = languageArgument(app.arguments());
    if (!translations::install(language))
        std::fprintf(
                stderr, "%s\n",
                qPrintable(CommandLine::tr("No translation for language \"%1\"; using English.")
                                   .arg(language)));
    QApplication::setApplicationDisplayName(CommandLine::tr("GoRoutineMap Demo"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
            CommandLine::tr("Shows a GoRoutineMap at work: operations run by name on a "
                            "thread pool, never two of one "
                            "name at once; failed names back off exponentially.\n"
                            "Without arguments it runs a simulation and hashes %1.\n"
                            "Without a display it renders offscreen, prints every "
                            "event and quits when the work is done.")
                    .arg(defaultFolder()));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption watchOption(
            QStringLiteral("watch"),
            CommandLine::tr("Hash every file under <dir> (SHA-256) and re-hash changed files. "
                            "May be given more than once."),
            CommandLine::tr("dir"));
    const QCommandLineOption burstOption(
            QStringLiteral("burst"),
            CommandLine::tr("Run <n> simulated operations over a few names, some failing."),
            CommandLine::tr("n"));
    const QCommandLineOption noBackoffOption(
            QStringLiteral("no-backoff"), CommandLine::tr("Start with exponential backoff off."));
    const QCommandLineOption langOption(
            QStringLiteral("lang"),
            CommandLine::tr("Use the translation for <code> (e.g. de) instead of the system's."),
            CommandLine::tr("code"));
    const QCommandLineOption logOption(
            QStringLiteral("log-events"),
            CommandLine::tr("Print every event as one JSON object per line on standard output."));
    const QCommandLineOption screenshotOption(
            QStringLiteral("screenshot"),
            CommandLine::tr("Save a PNG of the main window to <file>, then quit."),
            CommandLine::tr("file"));
    const QCommandLineOption screenshotAfterOption(
            QStringLiteral("screenshot-after"),
            CommandLine::tr("Take the screenshot after <ms> milliseconds (default 2500)."),
            CommandLine::tr("ms"), QStringLiteral("2500"));
    const QCommandLineOption quitAfterOption(QStringLiteral("quit-after"),
                                             CommandLine::tr("Quit after <ms> milliseconds."),
                                             CommandLine::tr("ms"));
    const QCommandLineOption stallsOption(
            QStringLiteral("report-stalls"),
            CommandLine::tr("Measure the longest event-loop stall (10 ms timer) and memory; "
                            "print them at exit."));
    const QCommandLineOption maxPendingOption(
            QStringLiteral("max-pending"),
            CommandLine::tr("Hash at most <n> files at once, the rest wait (0: all at "
                            "once; default 16)."),
            CommandLine::tr("n"));
    const QCommandLineOption retriesOption(
            QStringLiteral("retries"),
            CommandLine::tr("Retry a file that failed <n> times, each when its backoff "
                            "ends (default 3)."),
            CommandLine::tr("n"));
    const QCommandLineOption threadsOption(QStringLiteral("threads"),
                                           CommandLine::tr("Run at most <n> operations at once."),
                                           CommandLine::tr("n"));
    const QCommandLineOption simulateOption(
            QStringLiteral("simulate"),
            CommandLine::tr("Run the simulation even when --watch or --burst is given."));
    const QCommandLineOption quitWhenDoneOption(
            QStringLiteral("quit-when-done"),
            CommandLine::tr("Quit once the work given is done (the default "
                            "without a display)."));
    const QCommandLineOption noWatchOption(
            QStringLiteral("no-watch-changes"),
            CommandLine::tr("Hash the folders once; do not watch them for changes."));
    const QCommandLineOption seedOption(QStringLiteral("seed"),
                                        CommandLine::tr("Seed the simulation's random numbers."),
                                        CommandLine::tr("n"));
    parser.addOptions({watchOption, burstOption, noBackoffOption, langOption, logOption,
                       screenshotOption, screenshotAfterOption, quitAfterOption, stallsOption,
                       maxPendingOption, retriesOption, threadsOption, simulateOption,
                       quitWhenDoneOption, noWatchOption, seedOption});
    parser.process(app);

    QStringList folders = parser.values(watchOption);
    for (const QString &folder : std::as_const(folders)) {
        if (!QFileInfo(folder).isDir()) {
            std::fprintf(stderr, "%s\n",
                         qPrintable(CommandLine::tr("Not a folder: %1").arg(folder)));
            return 2;
        }
    }
    const std::optional<int> burst = intValue(parser, burstOption, 1);
    const std::optional<int> quitAfter = intValue(parser, quitAfterOption, 0);
    const std::optional<int> screenshotAfter = intValue(parser, screenshotAfterOption, 0);
    const std::optional<int> maxPending = intValue(parser, maxPendingOption, 0);
    const std::optional<int> retries = intValue(parser, retriesOption, 0);
    const std::optional<int> threads = intValue(parser, threadsOption, 1);
    const std::optional<int> seed = intValue(parser, seedOption, 0);
    const QString screenshot = parser.value(screenshotOption);

    std::optional<StallMonitor> stalls;
    if (parser.isSet(stallsOption) || parser.isSet(logOption)) {
        stalls.emplace();
        stalls->sampleMemory(QStringLiteral("startKiB"));
    }

    MainWindow window;
    EventWriter *writer = nullptr;
    if (parser.isSet(logOption))
        writer = new EventWriter(EventWriter::Format::JsonLines, &window);
    else if (headless) {
        writer = new EventWriter(EventWriter::Format::Text, &window);
        // The map also logs each failure as a warning; the printed events say it already.
        QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));
    }
    if (writer) {
        QObject::connect(window.eventLog(), &EventLog::eventRecorded, writer,
                         [writer](const Event &event) {
                             // Text is for people: one line per file queued would drown the rest.
                             if (writer->format() == EventWriter::Format::Text
                                 && event.type == Event::Type::Queued)
                                 return;
                             writer->write(event);
                         });
    }

    if (parser.isSet(noBackoffOption))
        window.setBackoffEnabled(false);
    if (threads)
        window.setMaxConcurrency(*threads);
    if (maxPending)
        window.hasher()->setMaxPending(*maxPending);
    if (retries)
        window.hasher()->setMaxRetries(*retries);
    if (seed)
        window.simulation()->setSeed(quint32(*seed));
    if (parser.isSet(noWatchOption))
        window.hasher()->setWatchChanges(false);

    const bool noWork = folders.isEmpty() && !burst;
    if (noWork || parser.isSet(simulateOption)) {
        // Headless runs play the scenario once so that they end; a window loops it.
        window.startScenario(!headless);
    }
    if (noWork)
        folders.append(defaultFolder());
    for (const QString &folder : std::as_const(folders))
        window.watchFolder(folder);
    if (burst) {
        BurstSpec spec;
        spec.count = *burst;
        spec.names = qBound(2, *burst / 5, 20);
        window.startBurst(spec);
    }

    window.show();
    if (stalls)
        stalls->sampleMemory(QStringLiteral("windowShownKiB"));

    int exitCode = 0;
    if (!screenshot.isEmpty()) {
        QTimer::singleShot(screenshotAfter.value_or(2500), &window, [&] {
            window.model()->flush();
            window.eventLog()->model()->flush();
            const QPixmap pixmap = window.grab();
            if (pixmap.isNull() || !pixmap.save(screenshot, "PNG")) {
                std::fprintf(stderr, "%s\n",
                             qPrintable(CommandLine::tr("Could not save the screenshot to %1")
                                                .arg(screenshot)));
                exitCode = 1;
            } else if (writer) {
                writer->writeRecord(
                        QStringLiteral("screenshot"),
                        {{QStringLiteral("file"), QFileInfo(screenshot).absoluteFilePath()},
                         {QStringLiteral("width"), pixmap.width()},
                         {QStringLiteral("height"), pixmap.height()}});
            }
            QApplication::quit();
        });
    }
    if (quitAfter)
        QTimer::singleShot(*quitAfter, &app, &QApplication::quit);

    // Notices when the work is done: for the memory sample and, headless, to quit.
    const bool autoQuit = (headless || parser.isSet(quitWhenDoneOption)) && screenshot.isEmpty();
    if (headless && !quitAfter && screenshot.isEmpty()) {
        // A sensible limit for an unattended run, even if something keeps failing.
        QTimer::singleShot(120000, &app, [writer] {
            if (writer)
                writer->writeRecord(
                        QStringLiteral("note"),
                        {{QStringLiteral("text"), CommandLine::tr("time limit reached")}});
            QApplication::quit();
        });
    }
    QTimer idlePoll;
    int idleTicks = 0;
    bool sampledIdle = false;
    idlePoll.setInterval(200);
    QObject::connect(&idlePoll, &QTimer::timeout, &window, [&] {
        idleTicks = window.isIdle() ? idleTicks + 1 : 0;
        if (idleTicks < 3) // idle for 600 ms: not just a gap between two bursts
            return;
        if (stalls && !sampledIdle) {
            sampledIdle = true;
            stalls->sampleMemory(QStringLiteral("idleKiB"));
#ifdef __GLIBC__
            malloc_trim(0); // hand freed heap back, showing what is really still in use
            stalls->sampleMemory(QStringLiteral("idleTrimmedKiB"));
#endif
        }
        if (autoQuit)
            QApplication::quit();
    });
    idlePoll.start();

    // Measured from the first turn of the event loop: everything the loop does counts,
    // the first paint included; building the window before it does not.
    if (stalls)
        stalls->start();
    const int rc = app.exec();

    if (writer) {
        const EventLog::Counts c = window.eventLog()->counts();
        const FolderHasher::Stats h = window.hasher()->stats();
        QJsonObject summary{{QStringLiteral("started"), c.started},
                            {QStringLiteral("finished"), c.finished},
                            {QStringLiteral("failed"), c.failed},
                            {QStringLiteral("canceled"), c.canceled},
                            {QStringLiteral("refused"), c.refused},
                            {QStringLiteral("backoffExpired"), c.expired},
                            {QStringLiteral("filesFound"), h.found},
                            {QStringLiteral("filesHashed"), h.hashed},
                            {QStringLiteral("bytesHashed"), h.bytes}};
        writer->writeRecord(QStringLiteral("summary"), summary);
    }
    if (stalls) {
        stalls->stop();
        const QJsonObject report = stalls->report();
        if (writer) {
            writer->writeRecord(QStringLiteral("report"), report);
        } else {
            EventWriter stdoutWriter(EventWriter::Format::Text);
            stdoutWriter.writeRecord(QStringLiteral("report"), report);
        }
    }
    return exitCode != 0 ? exitCode : rc;
}
