// SPDX-License-Identifier: Apache-2.0
// Bad input: names nobody expects (empty, 1 MiB, non-BMP, unpaired surrogates), operations that
// throw something that is not a std::exception, and an operation that returns after the thread
// its map lives in has finished. Each has a stated outcome; none may crash, hang or trip a
// sanitizer.

#include <goroutinemap/goroutinemap.h>

#include "reliability_support.h"

#include <QLoggingCategory>
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using goroutinemap::BackoffPolicy;
using goroutinemap::Error;
using goroutinemap::GoRoutineMap;
using goroutinemap::OperationContext;
using goroutinemap::OperationInfo;
using reliability::Gate;
using reliability::kTimeoutMs;

namespace {

GoRoutineMap::OperationFunc noop()
{
    return [] { return Error(); };
}

// A window no test outlives, so refusals are certain.
BackoffPolicy longPolicy()
{
    BackoffPolicy p;
    p.setInitialDelay(std::chrono::minutes(10));
    p.setMaximumDelay(std::chrono::minutes(20));
    return p;
}

// Same code units, not merely equal after some normalisation or conversion.
bool sameCodeUnits(const QString &a, const QString &b)
{
    return a.size() == b.size()
            && std::memcmp(a.utf16(), b.utf16(), size_t(a.size()) * sizeof(char16_t)) == 0;
}

QString describe(const QString &name)
{
    QString out;
    for (qsizetype i = 0; i < std::min<qsizetype>(name.size(), 8); ++i)
        out += QStringLiteral("U+%1 ").arg(name.at(i).unicode(), 4, 16, QLatin1Char('0'));
    return out + QStringLiteral("(%1 code units)").arg(name.size());
}

struct NotAnException
{
    int code;
};

class Polymorphic
{
public:
    virtual ~Polymorphic() = default;
};
class DerivedPolymorphic : public Polymorphic
{ };

// Checks that a whole set of names coexists in the map, each refused only by its exact self,
// and comes back unchanged through isOperationPending, operations(), errors and signals.
void checkNamesRoundTrip(const QStringList &names)
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    map.setMaxConcurrency(int(names.size())); // all of them running at once
    QSignalSpy queued(&map, &GoRoutineMap::operationQueued);
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    Gate gate;

    for (const QString &name : names) {
        const Error err = map.run(name, [b = gate.blocker()] {
            b();
            return Error(QStringLiteral("fails on purpose"));
        });
        QVERIFY2(!err, qPrintable(describe(name) + QLatin1Char(' ') + err.message()));
    }
    QVERIFY(gate.waitEntered(int(names.size())));
    QCOMPARE(map.pendingCount(), int(names.size()));
    QCOMPARE(map.count(), int(names.size()));
    for (const QString &name : names) {
        QVERIFY2(map.isOperationPending(name), qPrintable(describe(name)));
        const Error again = map.run(name, noop());
        QVERIFY2(goroutinemap::isAlreadyExists(again), qPrintable(describe(name)));
        QVERIFY(sameCodeUnits(again.operationName(), name));
        const OperationInfo info = map.operationInfo(name);
        QVERIFY(info.isValid());
        QVERIFY(sameCodeUnits(info.name, name));
        QCOMPARE(info.state, OperationInfo::State::Running);
        QVERIFY(!again.message().isEmpty()); // formatting any name must work
    }
    // The snapshot names every name exactly once, unchanged.
    const QList<OperationInfo> infos = map.operations();
    QCOMPARE(infos.size(), names.size());
    for (const QString &name : names) {
        int matches = 0;
        for (const OperationInfo &info : infos)
            matches += sameCodeUnits(info.name, name) ? 1 : 0;
        QVERIFY2(matches == 1, qPrintable(describe(name)));
    }

    gate.open(int(names.size()));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(reliability::pumpUntil([&] { return failed.count() == names.size(); }));
    QCOMPARE(queued.count(), names.size());
    for (const QString &name : names) {
        int inQueued = 0;
        int inFailed = 0;
        for (const QList<QVariant> &args : queued)
            inQueued += sameCodeUnits(args.at(0).toString(), name) ? 1 : 0;
        for (const QList<QVariant> &args : failed) {
            if (sameCodeUnits(args.at(0).toString(), name)) {
                ++inFailed;
                const Error err = args.at(1).value<Error>();
                QVERIFY(sameCodeUnits(err.operationName(), name));
                QCOMPARE(err.text(), QStringLiteral("fails on purpose"));
            }
        }
        QVERIFY2(inQueued == 1 && inFailed == 1, qPrintable(describe(name)));
        // Backing off under its exact name, and forgotten under it.
        const Error refused = map.run(name, noop());
        QVERIFY2(goroutinemap::isExponentialBackoff(refused), qPrintable(describe(name)));
        QVERIFY(sameCodeUnits(refused.operationName(), name));
        QVERIFY(!refused.message().isEmpty());
        QVERIFY(map.resetBackoff(name));
        QVERIFY(!map.resetBackoff(name));
    }
    QCOMPARE(map.count(), 0);
    QVERIFY(map.wait(QDeadlineTimer(kTimeoutMs)));
}

} // namespace

class tst_BadInput : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void emptyName_data();
    void emptyName();
    void hugeName();
    void nonBmpNames();
    void unpairedSurrogates();
    void failureTextWithBadUnicode();
    void nonStdException_data();
    void nonStdException();
    void throwAfterCancellationIsCanceled();
    void operationReturnsAfterOwnerThreadFinished();
    void operationReturnsAfterOwnerThreadFinishedThenMapDeleted();
};

void tst_BadInput::initTestCase()
{
    // The map logs every failure as a warning; this test makes thousands on purpose.
    QLoggingCategory::setFilterRules(QStringLiteral("goroutinemap.warning=false"));
}

// --- names ---------------------------------------------------------------------------------------

void tst_BadInput::emptyName_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("sameName");
    QTest::newRow("null, then empty") << QString() << QStringLiteral("");
    QTest::newRow("empty, then null") << QStringLiteral("") << QString();
}

// The empty name is valid (as in Go); the null and the empty QString are the same name.
void tst_BadInput::emptyName()
{
    QFETCH(QString, name);
    QFETCH(QString, sameName);
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy removed(&map, &GoRoutineMap::operationRemoved);
    Gate gate;

    QVERIFY(!map.run(name, [b = gate.blocker()] {
        b();
        return Error(QStringLiteral("empty fails"));
    }));
    QVERIFY(map.isOperationPending(name));
    QVERIFY(map.isOperationPending(sameName));
    const Error again = map.run(sameName, noop());
    QVERIFY(goroutinemap::isAlreadyExists(again));
    QVERIFY(again.operationName().isEmpty());
    QVERIFY2(again.message().contains(QStringLiteral("\"\"")), qPrintable(again.message()));
    QVERIFY(map.operationInfo(sameName).isValid());
    QCOMPARE(map.count(), 1);

    QVERIFY(gate.waitEntered());
    gate.open();
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.at(0).at(0).toString().isEmpty());
    const Error refused = map.run(sameName, noop());
    QVERIFY(goroutinemap::isExponentialBackoff(refused));
    QVERIFY2(refused.message().contains(QStringLiteral("\"\"")), qPrintable(refused.message()));
    QCOMPARE(map.operationInfo(name).state, OperationInfo::State::BackingOff);

    QVERIFY(map.resetBackoff(sameName));
    QVERIFY(removed.wait(kTimeoutMs) || removed.count() == 1);
    QVERIFY(removed.at(0).at(0).toString().isEmpty());
    QCOMPARE(map.count(), 0);

    // Canceling the empty name works too.
    Gate second;
    QVERIFY(!map.run(name, [b = second.blocker()](OperationContext &ctx) {
        b();
        return ctx.isCancellationRequested() ? Error(QStringLiteral("ignored")) : Error();
    }));
    QVERIFY(second.waitEntered());
    QVERIFY(map.cancel(sameName));
    second.open();
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QCOMPARE(map.count(), 0); // a canceled run is no failure
}

// 1 MiB names: hashed, compared, copied into signals, snapshots and messages without trouble.
void tst_BadInput::hugeName()
{
    const qsizetype size = 1 << 20;
    QString huge(size, QLatin1Char('x'));
    QString hugeButLast = huge;
    hugeButLast[size - 1] = QLatin1Char('y');
    QString hugeButFirst = huge;
    hugeButFirst[0] = QLatin1Char('y');
    checkNamesRoundTrip({huge, hugeButLast, hugeButFirst, huge.left(size - 1)});
    if (QTest::currentTestFailed())
        return;

    // The full text of a refusal names the whole operation.
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QVERIFY(!map.run(huge, [] { return Error(QStringLiteral("too big to succeed")); }));
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    const Error refused = map.run(huge, noop());
    QVERIFY(goroutinemap::isExponentialBackoff(refused));
    QVERIFY(refused.message().size() > size);
    QVERIFY(refused.message().contains(QLatin1Char('"') + huge + QLatin1Char('"')));
    QVERIFY(map.resetBackoff(huge));
}

void tst_BadInput::nonBmpNames()
{
    checkNamesRoundTrip({
            QStringLiteral("\U0001F600"), // one emoji
            QStringLiteral("\U0001F601"), // same high surrogate, different low one
            QStringLiteral("\U0001F468\u200D\U0001F469\u200D\U0001F467"), // a ZWJ family sequence
            QStringLiteral("\U0001F468\U0001F469\U0001F467"), // the same without joiners
            QStringLiteral("\U0001D518\U0001D52B\U0001D526\U0001D520\U0001D52C\U0001D521"
                           "\U0001D522"), // Fraktur
            QStringLiteral("\U0010FFFF"), // the last code point
            QStringLiteral("\U00010000"), // the first non-BMP one
            QStringLiteral("a\U0001F600b"),
    });
}

// Ill-formed UTF-16 is still a string of code units: each name is itself and nothing else,
// even though converting them to UTF-8 would make several of them equal (all become U+FFFD).
void tst_BadInput::unpairedSurrogates()
{
    const QChar high(char16_t(0xD83D));
    const QChar low(char16_t(0xDE00));
    checkNamesRoundTrip({
            QString(high), // a lone high surrogate
            QString(low), // a lone low surrogate
            QString(low) + high, // a pair in the wrong order
            QString(high) + high, // two highs
            QString(high) + low, // the well-formed pair (U+1F600), distinct from all of the above
            QStringLiteral("abc") + high, // high surrogate at the very end
            QString(low) + QStringLiteral("abc"), // low surrogate at the very start
            QString(QChar(char16_t(0xFFFD))), // the replacement character they would all become
            QString(QChar(char16_t(0xFFFF))), // a noncharacter
    });
}

// An operation may fail with ill-formed text, or throw a std::exception whose what() is not
// UTF-8: the failure is reported, the text is what it said (or its best UTF-8 decoding).
void tst_BadInput::failureTextWithBadUnicode()
{
    GoRoutineMap map;
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    const QString loneSurrogateText =
            QStringLiteral("bad ") + QChar(char16_t(0xDC00)) + QStringLiteral(" text");
    QVERIFY(!map.run(QStringLiteral("ill-formed text"),
                     [loneSurrogateText] { return Error(loneSurrogateText); }));
    QVERIFY(!map.run(QStringLiteral("invalid utf-8 what()"),
                     []() -> Error { throw std::runtime_error("\xff\xfe not UTF-8 \xc3"); }));
    QVERIFY(!map.run(QStringLiteral("empty what()"),
                     []() -> Error { throw std::runtime_error(""); }));
    QVERIFY(!map.run(QStringLiteral("embedded nul"), []() -> Error {
        throw std::runtime_error(std::string("before\0after", 12));
    }));
    QVERIFY(map.waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(reliability::pumpUntil([&] { return failed.count() == 4; }));
    for (const QList<QVariant> &args : failed) {
        const QString name = args.at(0).toString();
        const Error err = args.at(1).value<Error>();
        QCOMPARE(err.kind(), Error::Kind::OperationFailed);
        QCOMPARE(err.operationName(), name);
        QVERIFY2(!err.message().isEmpty(), qPrintable(name));
        if (name == QLatin1String("ill-formed text"))
            QVERIFY(sameCodeUnits(err.text(), loneSurrogateText));
        else if (name == QLatin1String("invalid utf-8 what()"))
            QVERIFY2(err.text().contains(QStringLiteral("not UTF-8")), qPrintable(err.text()));
    }
    QCOMPARE(map.count(), 0);
}

enum class Thrown {
    Int,
    CString,
    Custom,
    QStringValue,
    StdString,
    NullPtr,
    PolymorphicNonStd,
    ExceptionPtr
};

void tst_BadInput::nonStdException_data()
{
    QTest::addColumn<int>("what");
    QTest::addColumn<bool>("withContext");
    const struct
    {
        const char *name;
        Thrown what;
    } rows[] = {
            {"int", Thrown::Int},
            {"const char *", Thrown::CString},
            {"struct", Thrown::Custom},
            {"QString", Thrown::QStringValue},
            {"std::string", Thrown::StdString},
            {"nullptr", Thrown::NullPtr},
            {"polymorphic non-std class", Thrown::PolymorphicNonStd},
            {"rethrown exception_ptr of an int", Thrown::ExceptionPtr},
    };
    for (bool withContext : {false, true}) {
        for (const auto &row : rows)
            QTest::addRow("%s%s", row.name, withContext ? ", context" : "")
                    << int(row.what) << withContext;
    }
}

[[noreturn]] void throwIt(Thrown what)
{
    switch (what) {
    case Thrown::Int:
        throw 42;
    case Thrown::CString:
        throw "a C string";
    case Thrown::Custom:
        throw NotAnException{7};
    case Thrown::QStringValue:
        throw QStringLiteral("a QString");
    case Thrown::StdString:
        throw std::string("a std::string");
    case Thrown::NullPtr:
        throw nullptr;
    case Thrown::PolymorphicNonStd:
        throw DerivedPolymorphic();
    case Thrown::ExceptionPtr:
        std::rethrow_exception(std::make_exception_ptr(13));
    }
    throw 0;
}

// Whatever is thrown is a failure: the name backs off exactly as after a returned error, the
// pool thread survives and the map keeps working.
void tst_BadInput::nonStdException()
{
    QFETCH(int, what);
    QFETCH(bool, withContext);
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    map.setMaxConcurrency(1); // the one pool thread must survive the throw
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy finished(&map, &GoRoutineMap::operationFinished);
    const QString name = QStringLiteral("thrower");
    const Error accepted = withContext
            ? map.run(name,
                      [what](OperationContext &ctx) -> Error {
                          ctx.setProgress(10);
                          throwIt(Thrown(what));
                      })
            : map.run(name, [what]() -> Error { throwIt(Thrown(what)); });
    QVERIFY(!accepted);
    QVERIFY(failed.wait(kTimeoutMs) || failed.count() == 1);
    QCOMPARE(failed.count(), 1);
    const Error err = failed.at(0).at(1).value<Error>();
    QCOMPARE(err.kind(), Error::Kind::OperationFailed);
    QCOMPARE(err.operationName(), name);
    QVERIFY2(!err.text().trimmed().isEmpty(), "a thrown non-exception must still be described");
    QCOMPARE(map.operationInfo(name).state, OperationInfo::State::BackingOff);
    QCOMPARE(map.operationInfo(name).failureCount, 1);
    QVERIFY(goroutinemap::isExponentialBackoff(map.run(name, noop())));

    // The single pool thread still runs operations.
    QVERIFY(!map.run(QStringLiteral("after"), noop()));
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    QCOMPARE(finished.at(0).at(0).toString(), QStringLiteral("after"));
    QVERIFY(map.resetBackoff(name));
}

// An operation that throws once canceled ends as canceled, not failed, and leaves no history.
void tst_BadInput::throwAfterCancellationIsCanceled()
{
    GoRoutineMap map(true);
    map.setBackoffPolicy(longPolicy());
    QSignalSpy failed(&map, &GoRoutineMap::operationFailed);
    QSignalSpy canceled(&map, &GoRoutineMap::operationCanceled);
    Gate gate;
    QVERIFY(!map.run(QStringLiteral("cancel then throw"),
                     [b = gate.blocker()](OperationContext &ctx) -> Error {
                         b();
                         if (ctx.isCancellationRequested())
                             throw NotAnException{1};
                         return Error();
                     }));
    QVERIFY(gate.waitEntered());
    QVERIFY(map.cancel(QStringLiteral("cancel then throw")));
    gate.open();
    QVERIFY(canceled.wait(kTimeoutMs) || canceled.count() == 1);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(map.count(), 0);
}

// --- an operation outliving its map's thread --------------------------------------------------

namespace {

// A thread with an event loop holding a map, which it hands back after the thread has
// finished, together with an operation still running in the map.
struct OrphanedMap
{
    std::unique_ptr<QThread> thread;
    GoRoutineMap *map = nullptr;
    std::shared_ptr<std::atomic<int>> signalsInThread = std::make_shared<std::atomic<int>>(0);
};

} // namespace

// The map's thread (with its event loop) finishes while an operation runs; then the operation
// returns. Outcome: the map records the result without an event loop (the name is freed,
// waitForCompletion() returns true), nothing is delivered in a finished thread, and once an
// adopting thread pulls the map over with moveToThread() the undelivered signals arrive there.
void tst_BadInput::operationReturnsAfterOwnerThreadFinished()
{
    Gate gate;
    auto thread = std::make_unique<QThread>();
    thread->setObjectName(QStringLiteral("short-lived owner"));
    auto *map = new GoRoutineMap(true);
    map->setBackoffPolicy(longPolicy());
    auto deliveredIn = std::make_shared<std::vector<QThread *>>();
    auto deliveredMutex = std::make_shared<std::mutex>();
    QObject::connect(map, &GoRoutineMap::operationFailed, map, [=](const QString &, const Error &) {
        std::lock_guard lock(*deliveredMutex);
        deliveredIn->push_back(QThread::currentThread());
    });
    map->moveToThread(thread.get());
    thread->start();

    QVERIFY(!map->run(QStringLiteral("outlives its thread"), [b = gate.blocker()] {
        b();
        return Error(QStringLiteral("returned late"));
    }));
    QVERIFY(gate.waitEntered());
    thread->quit();
    QVERIFY(thread->wait(kTimeoutMs));
    QVERIFY(thread->isFinished());

    gate.open();
    QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    QVERIFY(!map->isOperationPending(QStringLiteral("outlives its thread")));
    QCOMPARE(map->operationInfo(QStringLiteral("outlives its thread")).state,
             OperationInfo::State::BackingOff);
    QCOMPARE(map->count(), 1);
    {
        std::lock_guard lock(*deliveredMutex);
        QVERIFY(deliveredIn->empty());
    }

    // The QThread object goes away; the map, now without a thread, is adopted by this one.
    thread.reset();
    QCOMPARE(map->thread(), nullptr);
    map->moveToThread(QThread::currentThread());
    QVERIFY(reliability::pumpUntil([&] {
        std::lock_guard lock(*deliveredMutex);
        return !deliveredIn->empty();
    }));
    {
        std::lock_guard lock(*deliveredMutex);
        QCOMPARE(deliveredIn->size(), size_t(1));
        QCOMPARE(deliveredIn->at(0), QThread::currentThread());
    }
    // And it works as a map of this thread from now on.
    QSignalSpy finished(map, &GoRoutineMap::operationFinished);
    QVERIFY(!map->run(QStringLiteral("after adoption"), noop()));
    QVERIFY(finished.wait(kTimeoutMs) || finished.count() == 1);
    delete map;
}

// Same start, but the map is deleted (from this thread) while its own thread is finished and
// never adopted: the destructor must not wait for an event loop that no longer runs.
void tst_BadInput::operationReturnsAfterOwnerThreadFinishedThenMapDeleted()
{
    Gate gate;
    QThread thread;
    auto *map = new GoRoutineMap(false);
    auto late = std::make_shared<std::atomic<int>>(0);
    QObject::connect(map, &GoRoutineMap::operationFinished, map,
                     [late](const QString &) { ++*late; });
    map->moveToThread(&thread);
    thread.start();
    QVERIFY(!map->run(QStringLiteral("still running"), [b = gate.blocker()] {
        b();
        return Error();
    }));
    QVERIFY(gate.waitEntered());
    thread.quit();
    QVERIFY(thread.wait(kTimeoutMs));

    gate.open();
    QVERIFY(map->waitForCompletion(QDeadlineTimer(kTimeoutMs)));
    delete map; // its thread is finished, so no event of it can be running
    reliability::flushEvents();
    QCOMPARE(late->load(), 0);
}

QTEST_GUILESS_MAIN(tst_BadInput)
#include "tst_badinput.moc"
