// SPDX-License-Identifier: Apache-2.0
#include "folderhasher.h"

#include "background.h"
#include "tsan_p.h"

#include <goroutinemap/goroutinemap.h>

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QLocale>
#include <QMutex>
#include <QTimer>

namespace goroutinemap::demo {

namespace {

// Queued calls order the GUI thread and the scanner thread through Qt's event queue, whose
// lock ThreadSanitizer cannot see (Qt is not built with it). Both ends of each hand-off say
// so, one tag per direction; outside TSan builds the annotations compile to nothing.
const char handOffToGui = 0;
const char handOffToScanner = 0;

// Runs call in the scanner's thread, after everything this thread did before queuing it.
template <typename Call>
void queueToScanner(FolderScanner *scanner, Call call)
{
    GOROUTINEMAP_HAPPENS_BEFORE(&handOffToScanner);
    QMetaObject::invokeMethod(
            scanner,
            [call = std::move(call)] {
                GOROUTINEMAP_HAPPENS_AFTER(&handOffToScanner);
                call();
            },
            Qt::QueuedConnection);
}

// Files at least this large report progress while they are hashed.
constexpr qint64 progressThreshold = 1024 * 1024;

/*
    A read-only view of an open file that QCryptographicHash::addData(QIODevice *) can
    stream from: every read reports progress to the operation's context and a requested
    cancellation ends the stream early. Used in the pool thread that hashes the file.
*/
class HashingDevice : public QIODevice
{
public:
    HashingDevice(QFile *file, OperationContext *context, qint64 size)
        : m_file(file), m_context(context), m_size(size)
    { }

    bool isSequential() const override { return true; }
    bool wasCanceled() const { return m_canceled; }
    bool hadError() const { return m_error; }
    qint64 bytesRead() const { return m_read; }

protected:
    qint64 readData(char *data, qint64 maxSize) override
    {
        if (m_context && m_context->isCancellationRequested()) {
            m_canceled = true;
            return -1;
        }
        const qint64 n = m_file->read(data, maxSize);
        if (n < 0) {
            m_error = true;
            setErrorString(m_file->errorString());
            return -1;
        }
        if (n == 0)
            return -1; // end of file
        m_read += n;
        if (m_context && m_size >= progressThreshold) {
            const int percent = int(qMin<qint64>(100, m_read * 100 / m_size));
            if (percent != m_percent) {
                m_percent = percent;
                m_context->setProgress(percent);
            }
        }
        return n;
    }
    qint64 writeData(const char *, qint64) override { return -1; }

private:
    QFile *m_file;
    OperationContext *m_context;
    qint64 m_size;
    qint64 m_read = 0;
    int m_percent = -1;
    bool m_canceled = false;
    bool m_error = false;
};

} // namespace

// The digests computed on pool threads, waiting to be taken by the GUI thread.
struct FolderHasher::Results
{
    std::atomic<qint64> bytes{0};
    QMutex mutex;
    QHash<QString, std::pair<QByteArray, qint64>> digests;
};

// ---------------------------------------------------------------------------------------
// FolderHasher

FolderHasher::FolderHasher(GoRoutineMap *map, QObject *parent)
    : QObject(parent),
      m_map(map),
      m_results(std::make_shared<Results>()),
      m_generation(std::make_shared<std::atomic<quint64>>(1)),
      m_scanner(new FolderScanner(m_generation)),
      m_feedTimer(new QTimer(this)),
      m_statsTimer(new QTimer(this))
{
    m_thread.setObjectName(QStringLiteral("FolderScanner"));
    m_scanner->moveToThread(&m_thread);
    // The scanner's lists and counts arrive after it released them (FolderScanner::scan()).
    connect(m_scanner, &FolderScanner::found, this,
            [this](const QStringList &files, const QStringList &broken, const QStringList &dirs,
                   quint64 generation) {
                GOROUTINEMAP_HAPPENS_AFTER(&handOffToGui);
                onFound(files, broken, dirs, generation);
            });
    connect(m_scanner, &FolderScanner::scanned, this,
            [this](const QString &root, qint64 files, quint64 generation, bool recursive) {
                GOROUTINEMAP_HAPPENS_AFTER(&handOffToGui);
                onScanned(root, files, generation, recursive);
            });
    connect(m_scanner, &FolderScanner::fileChanged, this, &FolderHasher::onFileChanged);
    connect(m_scanner, &FolderScanner::directoryChanged, this, &FolderHasher::onDirectoryChanged);
    connect(m_scanner, &FolderScanner::watchedCountChanged, this, [this](int files) {
        m_stats.watchedFiles = files;
        noteChange();
    });
    m_thread.start();

    // Feeding resumes from a zero timer when a large batch used up its time slice.
    m_feedTimer->setSingleShot(true);
    m_feedTimer->setInterval(0);
    connect(m_feedTimer, &QTimer::timeout, this, &FolderHasher::feed);
    m_statsTimer->setSingleShot(true);
    m_statsTimer->setInterval(100);
    connect(m_statsTimer, &QTimer::timeout, this, &FolderHasher::statsChanged);

    connect(map, &GoRoutineMap::operationFinished, this,
            [this](const QString &name) { onRunEnded(name, true, false); });
    connect(map, &GoRoutineMap::operationFailed, this,
            [this](const QString &name, const Error &) { onRunEnded(name, false, true); });
    connect(map, &GoRoutineMap::operationCanceled, this,
            [this](const QString &name) { onRunEnded(name, false, false); });
    connect(map, &GoRoutineMap::backoffExpired, this, [this](const QString &name) {
        // A change arrived while the name backed off: hash the new content now.
        if (m_dirty.remove(name))
            submit(name);
    });
}

FolderHasher::~FolderHasher()
{
    m_generation->fetch_add(1); // makes a running scan stop at its next entry
    // The scanner and its watchers (with their socket notifiers) are deleted in their own
    // thread: QThread runs deferred deletions as it finishes.
    m_scanner->deleteLater();
    m_thread.quit();
    m_thread.wait();
}

void FolderHasher::watch(const QString &folder)
{
    const QString root = QFileInfo(folder).absoluteFilePath();
    if (!m_folders.contains(root))
        m_folders.append(root);
    requestScan(root, true);
}

void FolderHasher::requestScan(const QString &root, bool recursive)
{
    ++m_stats.scans;
    m_wasIdle = false;
    const quint64 generation = m_generation->load();
    queueToScanner(m_scanner, [scanner = m_scanner, root, recursive, generation] {
        scanner->scan(root, recursive, generation);
    });
    noteChange();
}

void FolderHasher::stopFeeding()
{
    m_generation->fetch_add(1);
    m_stats.backlog = 0;
    std::deque<QString>().swap(m_backlog); // gives the memory back
    m_dirty.clear();
    noteChange();
    checkIdle();
}

void FolderHasher::unwatchAll()
{
    queueToScanner(m_scanner, [scanner = m_scanner] { scanner->unwatchAll(); });
}

void FolderHasher::setWatchChanges(bool on)
{
    m_watchChanges = on;
    queueToScanner(m_scanner, [scanner = m_scanner, on] { scanner->setWatching(on); });
}

void FolderHasher::setMaxPending(int maxPending)
{
    m_maxPending = qMax(0, maxPending);
    feed();
}

bool FolderHasher::isIdle() const
{
    return m_stats.scans == 0 && m_backlog.empty() && m_inFlight.isEmpty();
}

FolderHasher::Stats FolderHasher::stats() const
{
    Stats s = m_stats;
    s.backlog = qint64(m_backlog.size());
    s.inFlight = m_inFlight.size();
    s.bytes = m_results->bytes.load();
    return s;
}

QVariantMap FolderHasher::takeDetails(const QString &path)
{
    std::pair<QByteArray, qint64> result;
    {
        QMutexLocker lock(&m_results->mutex);
        auto it = m_results->digests.find(path);
        if (it == m_results->digests.end())
            return {};
        result = *it;
        m_results->digests.erase(it);
    }
    return {{QStringLiteral("sha256"), QString::fromLatin1(result.first)},
            {QStringLiteral("bytes"), result.second}};
}

void FolderHasher::onFound(const QStringList &files, const QStringList &broken,
                           const QStringList &dirs, quint64 generation)
{
    if (generation != m_generation->load())
        return; // stopped meanwhile
    Q_UNUSED(dirs); // watched by the scanner
    // The scanner reports each file once (rescans of a watched folder report new ones).
    for (const QString &path : files)
        m_backlog.push_back(path);
    // Dangling symlinks cannot be watched (inotify follows them) but are hashed: they fail.
    for (const QString &path : broken)
        m_backlog.push_back(path);
    m_stats.found += files.size() + broken.size();
    feed();
    noteChange();
}

bool FolderHasher::isOurs(const QString &name) const
{
    for (const QString &folder : m_folders) {
        if (name.size() > folder.size() && name.startsWith(folder)
            && (folder.endsWith(QLatin1Char('/')) || name.at(folder.size()) == QLatin1Char('/')))
            return true;
    }
    return false;
}

void FolderHasher::onScanned(const QString &root, qint64 files, quint64 generation, bool recursive)
{
    --m_stats.scans;
    if (generation == m_generation->load() && recursive)
        Q_EMIT info(tr("scanned %n file(s)", nullptr, int(files)), root);
    noteChange();
    checkIdle();
}

void FolderHasher::feed()
{
    // A time slice per call keeps the GUI thread responsive when there is no limit.
    QElapsedTimer slice;
    slice.start();
    while (!m_backlog.empty() && (m_maxPending <= 0 || m_inFlight.size() < m_maxPending)) {
        if (slice.elapsed() > 15) {
            m_feedTimer->start();
            break;
        }
        const QString path = std::move(m_backlog.front());
        m_backlog.pop_front();
        submit(path);
    }
    noteChange();
    checkIdle();
}

bool FolderHasher::submit(const QString &path)
{
    if (!m_map)
        return false;
    RunOptions options;
    options.maxRetries = m_maxRetries;
    std::shared_ptr<Results> results = m_results;
    const Error err = m_map->run(
            path,
            [path, results](OperationContext &context) {
                makeCurrentThreadBackground();
                QByteArray digest;
                qint64 bytes = 0;
                const Error err = hashFile(path, &context, &digest, &bytes);
                if (!err) {
                    results->bytes += bytes;
                    QMutexLocker lock(&results->mutex);
                    results->digests.insert(path, {digest.toHex(), bytes});
                }
                return err;
            },
            options);
    if (!err) {
        m_inFlight.insert(path);
        m_wasIdle = false;
        return true;
    }
    if (isAlreadyExists(err) || isExponentialBackoff(err)) {
        m_dirty.insert(path); // hashed again once the map lets us
        Q_EMIT refused(err);
    }
    return false;
}

void FolderHasher::onRunEnded(const QString &name, bool finished, bool failed)
{
    if (!isOurs(name))
        return; // not one of our files
    m_inFlight.remove(name);
    if (finished) {
        ++m_stats.hashed;
        // The event log took the digest already if it wanted it (it is connected first).
        QMutexLocker lock(&m_results->mutex);
        m_results->digests.remove(name);
    } else if (failed) {
        ++m_stats.failed;
    }
    if (m_dirty.remove(name))
        submit(name);
    feed();
}

void FolderHasher::onFileChanged(const QString &path)
{
    if (!QFileInfo::exists(path)) {
        // Removed: inotify dropped the watch with it.
        m_dirty.remove(path);
        Q_EMIT info(tr("file removed"), path);
        noteChange();
        return;
    }
    // An editor may have replaced the file by renaming a new one over it: the watch of
    // the old file is gone, watch the new one.
    queueToScanner(m_scanner, [scanner = m_scanner, path] { scanner->rewatch(path); });
    submit(path);
    noteChange();
}

void FolderHasher::onDirectoryChanged(const QString &path)
{
    if (!QFileInfo(path).isDir())
        return; // removed; its files report their own removal
    // Look for new files in the scanner thread: the folder may be large.
    requestScan(path, false);
}

void FolderHasher::noteChange()
{
    if (!m_statsTimer->isActive())
        m_statsTimer->start();
}

void FolderHasher::checkIdle()
{
    if (isIdle() && !m_wasIdle) {
        m_wasIdle = true;
        Q_EMIT statsChanged();
        Q_EMIT idle();
    }
}

Error FolderHasher::hashFile(const QString &path, OperationContext *context, QByteArray *digest,
                             qint64 *bytes)
{
    const QFileInfo info(path);
    if (info.exists() && !info.isFile()) // a FIFO or device would block or never end
        return Error(tr("not a regular file"));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(tr("cannot open: %1").arg(file.errorString()));
    const qint64 size = file.size();
    // Small files are hashed in a blink: reporting their progress would only cost the GUI
    // thread another signal per file.
    if (context && size >= progressThreshold)
        context->setStatus(QLocale().formattedDataSize(size));

    HashingDevice device(&file, context, size);
    device.open(QIODevice::ReadOnly);
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&device);
    if (device.wasCanceled())
        return Error(tr("canceled"));
    if (device.hadError())
        return Error(tr("read error: %1").arg(device.errorString()));
    if (digest)
        *digest = hash.result();
    if (bytes)
        *bytes = device.bytesRead();
    return Error();
}

// ---------------------------------------------------------------------------------------
// FolderScanner

FolderScanner::FolderScanner(std::shared_ptr<std::atomic<quint64>> generation)
    : m_generation(std::move(generation))
{ }

FolderScanner::~FolderScanner() = default;

void FolderScanner::setWatching(bool on)
{
    m_watching = on;
    if (!on)
        unwatchAll();
}

void FolderScanner::unwatchAll()
{
    qDeleteAll(m_watchers);
    m_watchers.clear();
    m_pathsInLastWatcher = 0;
    m_seen.clear();
    m_watchedFiles = 0;
    Q_EMIT watchedCountChanged(0);
}

QFileSystemWatcher *FolderScanner::watcherWithRoom()
{
    constexpr int pathsPerWatcher = 2048;
    constexpr std::size_t maxWatchers = 32; // beyond that the last one grows
    if (m_watchers.empty()
        || (m_pathsInLastWatcher >= pathsPerWatcher && m_watchers.size() < maxWatchers)) {
        // Created here, so it lives in (and notices changes in) the scanner thread.
        auto *watcher = new QFileSystemWatcher(this);
        connect(watcher, &QFileSystemWatcher::fileChanged, this, [this](const QString &path) {
            if (!QFileInfo::exists(path) && m_seen.remove(path))
                Q_EMIT watchedCountChanged(--m_watchedFiles);
            Q_EMIT fileChanged(path);
        });
        connect(watcher, &QFileSystemWatcher::directoryChanged, this, [this](const QString &path) {
            if (!QFileInfo::exists(path))
                m_seen.remove(path);
            Q_EMIT directoryChanged(path);
        });
        m_watchers.push_back(watcher);
        m_pathsInLastWatcher = 0;
    }
    return m_watchers.back();
}

void FolderScanner::watch(const QStringList &files, const QStringList &dirs)
{
    int added = 0;
    for (const QStringList *list : {&dirs, &files}) {
        QStringList paths = *list;
        while (!paths.isEmpty()) {
            QFileSystemWatcher *watcher = watcherWithRoom();
            const qsizetype room = qMax<qsizetype>(1, 2048 - m_pathsInLastWatcher);
            const QStringList chunk = paths.mid(0, room);
            paths.remove(0, chunk.size());
            const QStringList failed = watcher->addPaths(chunk);
            m_pathsInLastWatcher += int(chunk.size() - failed.size());
            if (list == &files)
                added += int(chunk.size() - failed.size());
        }
    }
    if (added > 0) {
        m_watchedFiles += added;
        Q_EMIT watchedCountChanged(m_watchedFiles);
    }
}

void FolderScanner::rewatch(const QString &path)
{
    if (!m_watching || !QFileInfo::exists(path))
        return;
    // A replaced file lost its watch in whichever watcher had it; any watcher may take it.
    for (QFileSystemWatcher *watcher : m_watchers) {
        if (watcher->files().contains(path))
            return;
    }
    if (watcherWithRoom()->addPath(path)) {
        ++m_pathsInLastWatcher;
        if (!m_seen.contains(path)) {
            m_seen.insert(path);
            Q_EMIT watchedCountChanged(++m_watchedFiles);
        }
    }
}

void FolderScanner::scan(const QString &root, bool recursive, quint64 generation)
{
    makeCurrentThreadBackground(); // walking a tree gives way to the GUI thread
    constexpr int batchSize = 512;
    constexpr int batchMs = 25;
    QStringList files, broken, dirs;
    qint64 total = 0;
    QElapsedTimer sinceBatch;
    sinceBatch.start();
    auto flush = [&] {
        if (files.isEmpty() && broken.isEmpty() && dirs.isEmpty())
            return;
        GOROUTINEMAP_HAPPENS_BEFORE(&handOffToGui);
        Q_EMIT found(files, broken, dirs, generation);
        if (m_watching)
            watch(files, dirs);
        files.clear();
        broken.clear();
        dirs.clear();
        sinceBatch.restart();
    };

    // While watching, remember every path so that a rescan (a folder changed) reports
    // only what is new; without watching there are no rescans and nothing to remember.
    auto isNew = [this](const QString &path) {
        if (!m_watching)
            return true;
        if (m_seen.contains(path))
            return false;
        m_seen.insert(path);
        return true;
    };
    if (isNew(root))
        dirs.append(root);
    // A non-recursive rescan walks the new folders it finds recursively, after the root.
    QStringList roots{root};
    bool walkSubfolders = recursive;
    while (!roots.isEmpty()) {
        const QString folder = roots.takeFirst();
        QDirIterator it(
                folder, QDir::AllEntries | QDir::System | QDir::Hidden | QDir::NoDotAndDotDot,
                walkSubfolders ? QDirIterator::Subdirectories : QDirIterator::NoIteratorFlags);
        while (it.hasNext()) {
            if (m_generation->load() != generation)
                break;
            it.next();
            const QFileInfo info = it.fileInfo();
            const QString path = info.absoluteFilePath();
            if (info.isSymLink() && !info.exists()) {
                if (isNew(path))
                    broken.append(path);
                ++total;
            } else if (info.isDir()) {
                if (!info.isSymLink() && isNew(path)) {
                    dirs.append(path);
                    if (!walkSubfolders)
                        roots.append(path);
                }
            } else if (info.isFile()) {
                if (isNew(path))
                    files.append(path);
                ++total;
            }
            if (files.size() + broken.size() >= batchSize || sinceBatch.elapsed() >= batchMs)
                flush();
        }
        walkSubfolders = true;
    }
    flush();
    GOROUTINEMAP_HAPPENS_BEFORE(&handOffToGui);
    Q_EMIT scanned(root, total, generation, recursive);
}

} // namespace goroutinemap::demo
