// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/goroutinemap_export.h>

#include <QDateTime>
#include <QExplicitlySharedDataPointer>
#include <QSharedData>
#include <QMetaType>
#include <QObject>
#include <QString>

#include <chrono>

namespace goroutinemap {

//! \internal The details only a backoff refusal carries, shared between copies.
class ErrorBackoffData : public QSharedData
{
public:
    QDateTime lastErrorTime; // when not lastErrorMSecs
    qint64 lastErrorMSecs = 0; // local time, made a QDateTime only when read
    bool hasMSecs = false;
    std::chrono::milliseconds durationBeforeRetry{0};
    std::chrono::milliseconds retryAfter{0};
    int failureCount = 0;
};

/*!
    \class goroutinemap::Error
    \brief The outcome of an operation, or the reason the map refused to start one.

    A default-constructed Error means "no error". An operation reports a failure by
    returning \c Error(QStringLiteral("why")). The map produces the other kinds itself.

    Error is an implicitly shared value type: copying it is cheap and a copy may be
    passed between threads freely. Its human-readable text is built only when
    message() is called, so a refusal costs no string formatting.

    \threadsafe Distinct instances may be used from different threads at once; a
    single instance may be read from several threads at once.
*/
class GOROUTINEMAP_EXPORT Error
{
    Q_GADGET
public:
    //! What kind of outcome this is.
    enum class Kind {
        None, //!< No error: the operation succeeded.
        AlreadyExists, //!< run() refused: an operation with that name is pending.
        ExponentialBackoff, //!< run() refused: the name failed recently and is backing off.
        OperationFailed, //!< The operation returned an error or threw.
        InvalidArgument, //!< The call itself was wrong (a null function, for example).
        Canceled, //!< The operation was canceled; never counts as a failure for backoff.
    };
    Q_ENUM(Kind)

    //! No error.
    Error() noexcept = default;
    //! A failure of kind OperationFailed with \a message as its text.
    explicit Error(const QString &message);

    //! Copies \a other; cheap (implicitly shared).
    Error(const Error &other) noexcept = default;
    //! Moves \a other into this error.
    Error(Error &&other) noexcept = default;
    //! Copies \a other into this error; cheap (implicitly shared).
    Error &operator=(const Error &other) noexcept = default;
    //! Moves \a other into this error.
    Error &operator=(Error &&other) noexcept = default;
    ~Error() = default;

    //! What kind of outcome this is; Kind::None for no error.
    Kind kind() const noexcept { return m_kind; }
    //! True for every kind but None.
    bool isError() const noexcept { return m_kind != Kind::None; }
    //! True for an error, so that \c{if (auto err = map.run(...))} reads naturally.
    explicit operator bool() const noexcept { return isError(); }

    //! The operation this error is about; empty when the error was made by an operation itself.
    QString operationName() const { return m_operationName; }

    /*!
        The whole human-readable, translated text. It names the operation in double
        quotes; a backoff refusal also says when the name failed, until when no retries
        are permitted, the duration and the last error's text.
    */
    QString message() const;

    /*!
        The bare text: for OperationFailed what the operation said (or what it threw),
        for ExponentialBackoff the last error's text, otherwise empty.
    */
    QString text() const { return m_text; }

    //! For ExponentialBackoff: when the name last failed (wall clock). Invalid otherwise.
    QDateTime lastErrorTime() const;
    //! For ExponentialBackoff: the whole window the name is refused for after its last failure.
    std::chrono::milliseconds durationBeforeRetry() const;
    /*!
        For ExponentialBackoff: the time left in the window, measured when the refusal was
        made (the map refuses while elapsed <= duration, so this is never negative).
    */
    std::chrono::milliseconds retryAfter() const;
    //! For ExponentialBackoff: how many consecutive failures the name has had.
    int failureCount() const;

    //! Returns a copy of this error that names \a operationName.
    Error withOperationName(const QString &operationName) const;

    //! Errors compare equal when kind, name, text and backoff details are equal.
    friend GOROUTINEMAP_EXPORT bool operator==(const Error &a, const Error &b);
    //! The opposite of operator==().
    friend bool operator!=(const Error &a, const Error &b) { return !(a == b); }

    //! Makes an error of any kind; mainly for the map itself and for tests.
    static Error make(Kind kind, const QString &operationName, const QString &text = QString());
    /*!
        Makes an ExponentialBackoff refusal for \a operationName: the last failure was at
        \a lastErrorTime with text \a lastErrorText, the window is \a durationBeforeRetry
        long and \a retryAfter of it were left when the refusal was made.
    */
    static Error makeExponentialBackoff(const QString &operationName, const QString &lastErrorText,
                                        const QDateTime &lastErrorTime,
                                        std::chrono::milliseconds durationBeforeRetry,
                                        std::chrono::milliseconds retryAfter, int failureCount);
    /*!
        \internal As makeExponentialBackoff() with the last failure's local time given as
        \a lastErrorMSecsSinceEpoch: lastErrorTime() makes the QDateTime only when called,
        so the map's refusals cost no time-zone conversion.
    */
    static Error makeExponentialBackoffAt(const QString &operationName,
                                          const QString &lastErrorText,
                                          qint64 lastErrorMSecsSinceEpoch,
                                          std::chrono::milliseconds durationBeforeRetry,
                                          std::chrono::milliseconds retryAfter, int failureCount);

private:
    Error(Kind kind, const QString &operationName, const QString &text)
        : m_kind(kind), m_operationName(operationName), m_text(text)
    { }

    Kind m_kind = Kind::None;
    QString m_operationName;
    QString m_text;
    // Only backoff refusals carry these details, so other errors cost no allocation.
    QExplicitlySharedDataPointer<ErrorBackoffData> m_backoff;
};

//! True when \a err is an AlreadyExists refusal (Go: goroutinemap.IsAlreadyExists).
GOROUTINEMAP_EXPORT bool isAlreadyExists(const Error &err) noexcept;
//! True when \a err is an ExponentialBackoff refusal (Go: goroutinemap.IsExponentialBackoff).
GOROUTINEMAP_EXPORT bool isExponentialBackoff(const Error &err) noexcept;
//! True when \a err reports a canceled operation.
GOROUTINEMAP_EXPORT bool isCanceled(const Error &err) noexcept;
//! An AlreadyExists refusal for \a operationName (Go: goroutinemap.NewAlreadyExistsError).
GOROUTINEMAP_EXPORT Error newAlreadyExistsError(const QString &operationName);

//! Writes the error's message() to a debug stream.
GOROUTINEMAP_EXPORT QDebug operator<<(QDebug debug, const Error &err);

} // namespace goroutinemap

Q_DECLARE_METATYPE(goroutinemap::Error)
