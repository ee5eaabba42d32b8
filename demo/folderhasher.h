// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QSet>
#include <QStringList>
#include <QThread>
#include <QVariantMap>

#include <atomic>
#include <deque>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QFileSystemWatcher;
class QTimer;
QT_END_NAMESPACE

namespace goroutinemap {
class GoRoutineMap;
class OperationContext;
} // namespace goroutinemap

namespace goroutinemap::demo {

class FolderScanner;

/*!
    \brief The real workload: hashes every regular file under a folder with SHA-256, one
    operation per file named by its absolute path, and re-hashes files that change.

    Enumerating never blocks the GUI thread: a FolderScanner walks the tree with
    QDirIterator in its own thread and hands over batches of paths. The hasher submits
    them to the map, at most maxPending() of its own at a time (the rest wait in a
    backlog), so a folder of 20,000 files neither floods the pool nor starves other work.
    Files that cannot be read (a dangling symlink, a file removed meanwhile) fail; with
    backoff on they back off and the map retries them maxRetries() times.

    A QFileSystemWatcher watches every file and folder: a changed file is run again under
    the same name, which the map refuses while its hash still runs (AlreadyExists) or
    while it backs off; such a file is remembered and hashed again once the map lets it.
    New files in a watched folder are hashed too.

    Threads: the object lives in and is called from the GUI thread, the map's thread.
    The hashing functions run on the map's pool and share only a mutex-protected table
    of results with it. The scanner, and the QFileSystemWatcher it owns (adding 20,000
    watches is not free), live in a QThread owned by the hasher; their signals reach the
    GUI thread queued.
*/
class FolderHasher : public QObject
{
    Q_OBJECT
public:
    struct Stats
    {
        qint64 found = 0; //!< Files found by scans.
        qint64 hashed = 0; //!< Runs that finished.
        qint64 failed = 0; //!< Runs that failed.
        qint64 bytes = 0; //!< Bytes hashed by runs that finished.
        qint64 backlog = 0; //!< Files waiting to be submitted.
        qint64 inFlight = 0; //!< Files submitted and still pending.
        int scans = 0; //!< Scans still walking a tree.
        int watchedFiles = 0;
    };

    explicit FolderHasher(GoRoutineMap *map, QObject *parent = nullptr);
    //! Stops the scanner thread; running hashes are the map's to finish or cancel.
    ~FolderHasher() override;

    //! Scans \a folder, hashes every file under it and, if enabled, watches it.
    void watch(const QString &folder);
    //! Drops the backlog and aborts running scans (watching goes on).
    void stopFeeding();
    //! Stops watching every file and folder.
    void unwatchAll();

    //! How many files of this hasher may be pending in the map at once; 0 for no limit.
    int maxPending() const { return m_maxPending; }
    void setMaxPending(int maxPending);
    //! How often a failed file is retried by the map (RunOptions::maxRetries).
    int maxRetries() const { return m_maxRetries; }
    void setMaxRetries(int maxRetries) { m_maxRetries = maxRetries; }
    //! Whether changes are watched with QFileSystemWatcher (on by default).
    bool watchesChanges() const { return m_watchChanges; }
    void setWatchChanges(bool on);

    //! True when no scan runs, no file waits in the backlog and none of ours is pending.
    bool isIdle() const;
    Stats stats() const;
    QStringList folders() const { return m_folders; }
    //! True when \a name is a path under one of folders(): a name of this hasher.
    bool isOurs(const QString &name) const;

    /*!
        Takes the result of \a path's finished run: {"sha256": hex, "bytes": size}, or an
        empty map. Meant for EventLog::setDetailProvider(). GUI thread.
    */
    QVariantMap takeDetails(const QString &path);

    /*!
        Hashes \a path with SHA-256, streamed by QCryptographicHash::addData(QIODevice *),
        reporting progress through \a context (may be null) for files of 1 MiB and more,
        and stopping when it is canceled. On success stores the digest in \a digest and the size in
       \a bytes. Any thread.
    */
    static Error hashFile(const QString &path, OperationContext *context, QByteArray *digest,
                          qint64 *bytes);

Q_SIGNALS:
    //! A run was refused (AlreadyExists or ExponentialBackoff).
    void refused(const goroutinemap::Error &error);
    //! A note for the event log (a scan finished, a file vanished).
    void info(const QString &text, const QString &name);
    //! The counts of stats() changed; emitted at most every 100 ms.
    void statsChanged();
    //! Emitted when the hasher became idle.
    void idle();

private:
    struct Results;

    void requestScan(const QString &root, bool recursive);
    void onFound(const QStringList &files, const QStringList &broken, const QStringList &dirs,
                 quint64 generation);
    void onScanned(const QString &root, qint64 files, quint64 generation, bool recursive);
    void feed();
    bool submit(const QString &path);
    void onRunEnded(const QString &name, bool finished, bool failed);
    void onFileChanged(const QString &path);
    void onDirectoryChanged(const QString &path);
    void noteChange();
    void checkIdle();

    QPointer<GoRoutineMap> m_map;
    std::shared_ptr<Results> m_results;
    std::shared_ptr<std::atomic<quint64>> m_generation;
    QThread m_thread;
    FolderScanner *m_scanner;
    QTimer *m_feedTimer;
    QTimer *m_statsTimer;

    QStringList m_folders;
    std::deque<QString> m_backlog;
    QSet<QString> m_inFlight; //!< Our runs accepted and not yet ended.
    QSet<QString> m_dirty; //!< Changed while refused: run again once the map lets us.
    Stats m_stats;
    int m_maxPending = 16;
    int m_maxRetries = 3;
    bool m_watchChanges = true;
    bool m_wasIdle = true;
};

/*!
    \brief Walks folders with QDirIterator, reports regular files, dangling symlinks and
    folders in batches, and watches what it found with a QFileSystemWatcher.

    Lives in FolderHasher's scanner thread; every function runs there (FolderHasher calls
    them through queued invocations). A scan stops early when the shared generation
    number moves on.
*/
class FolderScanner : public QObject
{
    Q_OBJECT
public:
    explicit FolderScanner(std::shared_ptr<std::atomic<quint64>> generation);
    ~FolderScanner() override;

    //! Reports batches through found() and the end through scanned(); watches if enabled.
    void scan(const QString &root, bool recursive, quint64 generation);
    void setWatching(bool on);
    //! Watches \a path (again): a file replaced by rename loses its watch.
    void rewatch(const QString &path);
    void unwatchAll();

Q_SIGNALS:
    void found(const QStringList &files, const QStringList &broken, const QStringList &dirs,
               quint64 generation);
    void scanned(const QString &root, qint64 files, quint64 generation, bool recursive);
    void fileChanged(const QString &path);
    void directoryChanged(const QString &path);
    //! How many files are watched now.
    void watchedCountChanged(int files);

private:
    void watch(const QStringList &files, const QStringList &dirs);

    QFileSystemWatcher *watcherWithRoom();

    std::shared_ptr<std::atomic<quint64>> m_generation;
    /*
        QFileSystemWatcher looks each new path up in a list of all it watches, so adding
        n paths to one watcher costs O(n²): 20,000 files took seconds. Paths are therefore
        spread over watchers of at most pathsPerWatcher paths each (every one an inotify
        instance, of which a user has 128 by default).
    */
    std::vector<QFileSystemWatcher *> m_watchers;
    int m_pathsInLastWatcher = 0;
    QSet<QString> m_seen; //!< While watching: every path found, so rescans report only new ones.
    int m_watchedFiles = 0;
    bool m_watching = true;
};

} // namespace goroutinemap::demo
