// SPDX-License-Identifier: Apache-2.0
// Tests of goroutinemap::Error: the value type every run() returns and every failure carries.

#include <goroutinemap/error.h>

#include <QDebug>
#include <QMetaEnum>
#include <QMetaType>
#include <QSignalSpy>
#include <QTest>
#include <QThread>
#include <QVariant>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

using namespace std::chrono_literals;
using goroutinemap::Error;

namespace {

// Emits an Error through a signal, so the test can send it across threads like the map does.
class ErrorEmitter : public QObject
{
    Q_OBJECT
Q_SIGNALS:
    void errorHappened(const QString &operationName, const goroutinemap::Error &error);
};

// A receiver with a real slot, for the string-based (SIGNAL/SLOT) connection syntax.
class ErrorReceiver : public QObject
{
    Q_OBJECT
public:
    goroutinemap::Error last;
    QThread *thread = nullptr;
public Q_SLOTS:
    void onError(const QString &, const goroutinemap::Error &error)
    {
        last = error;
        thread = QThread::currentThread();
    }
};

Error sampleBackoffError()
{
    const QDateTime when(QDate(2024, 3, 1), QTime(12, 34, 56, 789));
    return Error::makeExponentialBackoff(QStringLiteral("volume-7"),
                                         QStringLiteral("mount failed: device busy"), when,
                                         122000ms, 61500ms, 9);
}

} // namespace

class tst_Error : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultIsNoError();
    void operationFailure();
    void emptyMessageIsStillAFailure();
    void alreadyExists();
    void makeEveryKind_data();
    void makeEveryKind();
    void predicatesAreExclusive();
    void exponentialBackoffDetails();
    void exponentialBackoffMessage();
    void backoffDetailsAbsentOnOtherKinds();
    void withOperationName();
    void equality();
    void copyAndMoveKeepValue();
    void kindIsQEnum();
    void metaTypeAndQVariant();
    void queuedSignalAcrossThreads();
    void queuedStringBasedConnection();
    void debugStream();
    void concurrentReadsOfOneInstance();
};

void tst_Error::defaultIsNoError()
{
    const Error err;
    QCOMPARE(err.kind(), Error::Kind::None);
    QVERIFY(!err.isError());
    QVERIFY(!static_cast<bool>(err));
    QVERIFY(err.operationName().isEmpty());
    QVERIFY(err.text().isEmpty());
    QVERIFY(!goroutinemap::isAlreadyExists(err));
    QVERIFY(!goroutinemap::isExponentialBackoff(err));
    QVERIFY(!goroutinemap::isCanceled(err));
    // "if (auto err = map.run(...))" must not take the error branch for success.
    if (err)
        QFAIL("a default Error converted to true");
}

void tst_Error::operationFailure()
{
    const Error err(QStringLiteral("disk on fire"));
    QCOMPARE(err.kind(), Error::Kind::OperationFailed);
    QVERIFY(err.isError());
    QVERIFY(static_cast<bool>(err));
    QCOMPARE(err.text(), QStringLiteral("disk on fire"));
    QVERIFY(err.operationName().isEmpty()); // made by an operation, which does not know its name
    QVERIFY2(err.message().contains(QStringLiteral("disk on fire")), qPrintable(err.message()));
    QVERIFY(!goroutinemap::isAlreadyExists(err));
    QVERIFY(!goroutinemap::isExponentialBackoff(err));
}

void tst_Error::emptyMessageIsStillAFailure()
{
    // An operation returning Error(QString()) failed; the empty text must not turn it into success.
    const Error err{QString()};
    QCOMPARE(err.kind(), Error::Kind::OperationFailed);
    QVERIFY(err.isError());
    QVERIFY(static_cast<bool>(err));
}

void tst_Error::alreadyExists()
{
    const Error err = goroutinemap::newAlreadyExistsError(QStringLiteral("operation-name"));
    QCOMPARE(err.kind(), Error::Kind::AlreadyExists);
    QVERIFY(err.isError());
    QVERIFY(goroutinemap::isAlreadyExists(err));
    QVERIFY(!goroutinemap::isExponentialBackoff(err));
    QCOMPARE(err.operationName(), QStringLiteral("operation-name"));
    QVERIFY2(err.message().contains(QStringLiteral("\"operation-name\"")),
             qPrintable(err.message()));

    // The empty name is a valid name and still appears quoted.
    const Error empty = goroutinemap::newAlreadyExistsError(QString());
    QVERIFY(goroutinemap::isAlreadyExists(empty));
    QVERIFY2(empty.message().contains(QStringLiteral("\"\"")), qPrintable(empty.message()));
}

void tst_Error::makeEveryKind_data()
{
    QTest::addColumn<Error::Kind>("kind");
    QTest::newRow("AlreadyExists") << Error::Kind::AlreadyExists;
    QTest::newRow("OperationFailed") << Error::Kind::OperationFailed;
    QTest::newRow("InvalidArgument") << Error::Kind::InvalidArgument;
    QTest::newRow("Canceled") << Error::Kind::Canceled;
}

void tst_Error::makeEveryKind()
{
    QFETCH(Error::Kind, kind);
    const QString name = QStringLiteral("op \u00e9\U0001F600"); // non-ASCII, non-BMP
    const Error err = Error::make(kind, name, QStringLiteral("details"));
    QCOMPARE(err.kind(), kind);
    QVERIFY(err.isError());
    QVERIFY(static_cast<bool>(err));
    QCOMPARE(err.operationName(), name);
    QVERIFY2(err.message().contains(QLatin1Char('"') + name + QLatin1Char('"')),
             qPrintable(err.message()));
    QCOMPARE(goroutinemap::isAlreadyExists(err), kind == Error::Kind::AlreadyExists);
    QCOMPARE(goroutinemap::isCanceled(err), kind == Error::Kind::Canceled);
    QVERIFY(!goroutinemap::isExponentialBackoff(err));
    if (kind == Error::Kind::OperationFailed) {
        QCOMPARE(err.text(), QStringLiteral("details"));
        QVERIFY2(err.message().contains(QStringLiteral("details")), qPrintable(err.message()));
    }
}

void tst_Error::predicatesAreExclusive()
{
    const Error backoff = sampleBackoffError();
    QVERIFY(goroutinemap::isExponentialBackoff(backoff));
    QVERIFY(!goroutinemap::isAlreadyExists(backoff));
    QVERIFY(!goroutinemap::isCanceled(backoff));
    QCOMPARE(backoff.kind(), Error::Kind::ExponentialBackoff);
    QVERIFY(backoff.isError());
    QVERIFY(static_cast<bool>(backoff));
}

void tst_Error::exponentialBackoffDetails()
{
    const Error err = sampleBackoffError();
    QCOMPARE(err.operationName(), QStringLiteral("volume-7"));
    QCOMPARE(err.text(), QStringLiteral("mount failed: device busy"));
    QCOMPARE(err.lastErrorTime(), QDateTime(QDate(2024, 3, 1), QTime(12, 34, 56, 789)));
    QCOMPARE(err.durationBeforeRetry(), 122000ms);
    QCOMPARE(err.retryAfter(), 61500ms);
    QCOMPARE(err.failureCount(), 9);
}

void tst_Error::exponentialBackoffMessage()
{
    const Error err = sampleBackoffError();
    const QString msg = err.message();
    QVERIFY2(msg.contains(QStringLiteral("\"volume-7\"")), qPrintable(msg));
    QVERIFY2(msg.contains(QStringLiteral("mount failed: device busy")), qPrintable(msg));
    // The duration, 2 min 2 s, in some readable form: Go prints "2m2s"; "122" catches seconds and
    // ms forms.
    QVERIFY2(msg.contains(QStringLiteral("2m2s")) || msg.contains(QStringLiteral("122"))
                     || msg.contains(QStringLiteral("2 min")),
             qPrintable(msg));
    // When it failed / until when: both dates name the year and the clock time of the failure.
    QVERIFY2(msg.contains(QStringLiteral("2024")), qPrintable(msg));
    QVERIFY2(msg.contains(QStringLiteral("12:34:56")), qPrintable(msg));
    // Retries are permitted again at 12:36:58.789 (failure + 2 min 2 s).
    QVERIFY2(msg.contains(QStringLiteral("12:36:58")), qPrintable(msg));

    // A short window is printed too (Go: "500ms").
    const Error shortErr =
            Error::makeExponentialBackoff(QStringLiteral("x"), QStringLiteral("nope"),
                                          QDateTime::currentDateTime(), 500ms, 100ms, 1);
    QVERIFY2(shortErr.message().contains(QStringLiteral("500")), qPrintable(shortErr.message()));
}

void tst_Error::backoffDetailsAbsentOnOtherKinds()
{
    const std::vector<Error> errors{Error(), Error(QStringLiteral("x")),
                                    goroutinemap::newAlreadyExistsError(QStringLiteral("n")),
                                    Error::make(Error::Kind::InvalidArgument, QStringLiteral("n")),
                                    Error::make(Error::Kind::Canceled, QStringLiteral("n"))};
    for (const Error &err : errors) {
        QVERIFY(!err.lastErrorTime().isValid());
        QCOMPARE(err.durationBeforeRetry(), 0ms);
        QCOMPARE(err.retryAfter(), 0ms);
        QCOMPARE(err.failureCount(), 0);
    }
}

void tst_Error::withOperationName()
{
    const Error original(QStringLiteral("boom"));
    const Error named = original.withOperationName(QStringLiteral("job"));
    QCOMPARE(named.operationName(), QStringLiteral("job"));
    QCOMPARE(named.kind(), Error::Kind::OperationFailed);
    QCOMPARE(named.text(), QStringLiteral("boom"));
    QVERIFY2(named.message().contains(QStringLiteral("\"job\"")), qPrintable(named.message()));
    QVERIFY2(named.message().contains(QStringLiteral("boom")), qPrintable(named.message()));
    // A value type: the original is untouched.
    QVERIFY(original.operationName().isEmpty());

    const Error backoff = sampleBackoffError().withOperationName(QStringLiteral("other"));
    QCOMPARE(backoff.kind(), Error::Kind::ExponentialBackoff);
    QCOMPARE(backoff.durationBeforeRetry(), 122000ms);
    QCOMPARE(backoff.failureCount(), 9);
    QCOMPARE(backoff.operationName(), QStringLiteral("other"));
}

void tst_Error::equality()
{
    QCOMPARE(Error(), Error());
    QCOMPARE(Error(QStringLiteral("a")), Error(QStringLiteral("a")));
    QVERIFY(Error(QStringLiteral("a")) != Error(QStringLiteral("b")));
    QVERIFY(Error() != Error(QStringLiteral("a")));
    QVERIFY(Error::make(Error::Kind::AlreadyExists, QStringLiteral("n"))
            != Error::make(Error::Kind::InvalidArgument, QStringLiteral("n")));
    QVERIFY(goroutinemap::newAlreadyExistsError(QStringLiteral("n"))
            != goroutinemap::newAlreadyExistsError(QStringLiteral("N")));
    QCOMPARE(goroutinemap::newAlreadyExistsError(QStringLiteral("n")),
             goroutinemap::newAlreadyExistsError(QStringLiteral("n")));
    QCOMPARE(sampleBackoffError(), sampleBackoffError());

    const QDateTime when = QDateTime::currentDateTime();
    const Error b1 = Error::makeExponentialBackoff(QStringLiteral("n"), QStringLiteral("t"), when,
                                                   1000ms, 10ms, 2);
    QVERIFY(b1
            != Error::makeExponentialBackoff(QStringLiteral("n"), QStringLiteral("t"), when, 2000ms,
                                             10ms, 2));
    QVERIFY(b1
            != Error::makeExponentialBackoff(QStringLiteral("n"), QStringLiteral("t"), when, 1000ms,
                                             10ms, 3));
    QVERIFY(b1
            != Error::makeExponentialBackoff(QStringLiteral("n"), QStringLiteral("u"), when, 1000ms,
                                             10ms, 2));
    QVERIFY(b1
            != Error::makeExponentialBackoff(QStringLiteral("n"), QStringLiteral("t"),
                                             when.addSecs(1), 1000ms, 10ms, 2));
}

void tst_Error::copyAndMoveKeepValue()
{
    const Error original = sampleBackoffError();
    Error copy = original;
    QCOMPARE(copy, original);
    Error moved = std::move(copy);
    QCOMPARE(moved, original);
    Error assigned;
    assigned = moved;
    QCOMPARE(assigned, original);
    assigned = Error(QStringLiteral("other"));
    QCOMPARE(moved, original); // implicit sharing must not leak a change into a copy
    QCOMPARE(assigned.text(), QStringLiteral("other"));
    QCOMPARE(assigned.durationBeforeRetry(), 0ms);
}

void tst_Error::kindIsQEnum()
{
    const QMetaEnum me = QMetaEnum::fromType<Error::Kind>();
    QVERIFY(me.isValid());
    QCOMPARE(me.valueToKey(int(Error::Kind::ExponentialBackoff)), "ExponentialBackoff");
    QCOMPARE(me.valueToKey(int(Error::Kind::Canceled)), "Canceled");
}

void tst_Error::metaTypeAndQVariant()
{
    const QMetaType mt = QMetaType::fromType<Error>();
    QVERIFY(mt.isValid());
    QCOMPARE(QByteArray(mt.name()), QByteArray("goroutinemap::Error"));

    const Error err = sampleBackoffError();
    const QVariant v = QVariant::fromValue(err);
    QVERIFY(v.canConvert<Error>());
    QCOMPARE(v.value<Error>(), err);
    QCOMPARE(v.value<Error>().retryAfter(), 61500ms);
}

void tst_Error::queuedSignalAcrossThreads()
{
    // The map delivers errors with queued signals; the type must survive that trip intact.
    ErrorEmitter emitter;
    QSignalSpy spy(&emitter, &ErrorEmitter::errorHappened);
    QVERIFY(spy.isValid());

    Error received;
    QThread *receiverThread = nullptr;
    QObject context;
    connect(
            &emitter, &ErrorEmitter::errorHappened, &context,
            [&](const QString &, const Error &e) {
                received = e;
                receiverThread = QThread::currentThread();
            },
            Qt::QueuedConnection);

    const Error sent = sampleBackoffError();
    std::unique_ptr<QThread> sender(
            QThread::create([&] { emit emitter.errorHappened(QStringLiteral("volume-7"), sent); }));
    sender->start();
    QVERIFY(sender->wait(10000));
    QTRY_VERIFY_WITH_TIMEOUT(received.isError(), 10000);
    QCOMPARE(received, sent);
    QCOMPARE(receiverThread, QThread::currentThread());
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(1).value<Error>(), sent);
}

void tst_Error::queuedStringBasedConnection()
{
    // Old-style connections look the type up by its name; they must queue it too.
    ErrorEmitter emitter;
    ErrorReceiver receiver;
    QVERIFY(connect(&emitter, SIGNAL(errorHappened(QString, goroutinemap::Error)), &receiver,
                    SLOT(onError(QString, goroutinemap::Error)), Qt::QueuedConnection));
    const Error sent = sampleBackoffError();
    std::unique_ptr<QThread> sender(
            QThread::create([&] { emit emitter.errorHappened(QStringLiteral("x"), sent); }));
    sender->start();
    QVERIFY(sender->wait(10000));
    QTRY_VERIFY_WITH_TIMEOUT(receiver.last.isError(), 10000);
    QCOMPARE(receiver.last, sent);
    QCOMPARE(receiver.thread, QThread::currentThread());
}

void tst_Error::debugStream()
{
    const Error err = goroutinemap::newAlreadyExistsError(QStringLiteral("dbg-name"));
    QString out;
    QDebug(&out) << err;
    QVERIFY2(out.contains(QStringLiteral("dbg-name")), qPrintable(out));
}

void tst_Error::concurrentReadsOfOneInstance()
{
    // message() is built lazily; several threads reading one instance must all see the same text.
    const Error err = sampleBackoffError();
    const QString expected =
            Error(err).message(); // from a copy, so err's own lazy state stays untouched
    std::atomic<int> mismatches{0};
    std::vector<std::unique_ptr<QThread>> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back(QThread::create([&] {
            for (int j = 0; j < 200; ++j) {
                const Error copy = err;
                if (err.message() != expected || copy.message() != expected)
                    ++mismatches;
            }
        }));
        threads.back()->start();
    }
    for (auto &t : threads)
        QVERIFY(t->wait(30000));
    QCOMPARE(mismatches.load(), 0);
}

QTEST_GUILESS_MAIN(tst_Error)
#include "tst_error.moc"
