// SPDX-License-Identifier: Apache-2.0
#include <goroutinemap/error.h>

#include "logging_p.h"

#include <QCoreApplication>
#include <QDebug>

namespace goroutinemap {

Error::Error(const QString &message) : m_kind(Kind::OperationFailed), m_text(message) { }

Error Error::make(Kind kind, const QString &operationName, const QString &text)
{
    return Error(kind, operationName,
                 text); // copies, not default-construct-and-assign: a refusal is hot
}

Error Error::makeExponentialBackoff(const QString &operationName, const QString &lastErrorText,
                                    const QDateTime &lastErrorTime,
                                    std::chrono::milliseconds durationBeforeRetry,
                                    std::chrono::milliseconds retryAfter, int failureCount)
{
    Error err = make(Kind::ExponentialBackoff, operationName, lastErrorText);
    auto *data = new ErrorBackoffData;
    data->lastErrorTime = lastErrorTime;
    data->durationBeforeRetry = durationBeforeRetry;
    data->retryAfter = std::max(retryAfter, std::chrono::milliseconds(0));
    data->failureCount = failureCount;
    err.m_backoff.reset(data);
    return err;
}

QString Error::message() const
{
    const QString name = m_operationName;
    switch (m_kind) {
    case Kind::None:
        return QString();
    case Kind::AlreadyExists:
        return QCoreApplication::translate("goroutinemap::Error",
                                           "Failed to create operation with name \"%1\". An "
                                           "operation with that name is "
                                           "already executing.")
                .arg(name);
    case Kind::ExponentialBackoff: {
        const QDateTime failedAt = lastErrorTime();
        const QDateTime until = failedAt.addMSecs(durationBeforeRetry().count());
        return QCoreApplication::translate(
                       "goroutinemap::Error",
                       "Failed to create operation with name \"%1\". An operation with that name "
                       "failed at %2. No retries permitted until %3 (%4). Last error: \"%5\".")
                .arg(name, failedAt.toString(Qt::ISODateWithMs), until.toString(Qt::ISODateWithMs),
                     formatDuration(durationBeforeRetry()), m_text);
    }
    case Kind::OperationFailed:
        if (name.isNull())
            return m_text;
        return QCoreApplication::translate("goroutinemap::Error", "Operation for \"%1\" failed: %2")
                .arg(name, m_text);
    case Kind::InvalidArgument:
        return QCoreApplication::translate("goroutinemap::Error",
                                           "Invalid argument for operation \"%1\": %2")
                .arg(name, m_text);
    case Kind::Canceled:
        return QCoreApplication::translate("goroutinemap::Error",
                                           "Operation for \"%1\" was canceled.")
                .arg(name);
    }
    return m_text;
}

Error Error::makeExponentialBackoffAt(const QString &operationName, const QString &lastErrorText,
                                      qint64 lastErrorMSecsSinceEpoch,
                                      std::chrono::milliseconds durationBeforeRetry,
                                      std::chrono::milliseconds retryAfter, int failureCount)
{
    Error err(Kind::ExponentialBackoff, operationName, lastErrorText);
    auto *data = new ErrorBackoffData;
    data->lastErrorMSecs = lastErrorMSecsSinceEpoch;
    data->hasMSecs = true;
    data->durationBeforeRetry = durationBeforeRetry;
    data->retryAfter = std::max(retryAfter, std::chrono::milliseconds(0));
    data->failureCount = failureCount;
    err.m_backoff.reset(data);
    return err;
}

QDateTime Error::lastErrorTime() const
{
    if (!m_backoff)
        return QDateTime();
    return m_backoff->hasMSecs ? QDateTime::fromMSecsSinceEpoch(m_backoff->lastErrorMSecs)
                               : m_backoff->lastErrorTime;
}

std::chrono::milliseconds Error::durationBeforeRetry() const
{
    return m_backoff ? m_backoff->durationBeforeRetry : std::chrono::milliseconds(0);
}

std::chrono::milliseconds Error::retryAfter() const
{
    return m_backoff ? m_backoff->retryAfter : std::chrono::milliseconds(0);
}

int Error::failureCount() const
{
    return m_backoff ? m_backoff->failureCount : 0;
}

Error Error::withOperationName(const QString &operationName) const
{
    Error err = *this;
    err.m_operationName = operationName;
    return err;
}

bool operator==(const Error &a, const Error &b)
{
    if (a.m_kind != b.m_kind || a.m_operationName != b.m_operationName || a.m_text != b.m_text)
        return false;
    if (a.m_backoff == b.m_backoff)
        return true;
    return a.lastErrorTime() == b.lastErrorTime()
            && a.durationBeforeRetry() == b.durationBeforeRetry()
            && a.retryAfter() == b.retryAfter() && a.failureCount() == b.failureCount();
}

bool isAlreadyExists(const Error &err) noexcept
{
    return err.kind() == Error::Kind::AlreadyExists;
}

bool isExponentialBackoff(const Error &err) noexcept
{
    return err.kind() == Error::Kind::ExponentialBackoff;
}

bool isCanceled(const Error &err) noexcept
{
    return err.kind() == Error::Kind::Canceled;
}

Error newAlreadyExistsError(const QString &operationName)
{
    return Error::make(Error::Kind::AlreadyExists, operationName);
}

QDebug operator<<(QDebug debug, const Error &err)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "goroutinemap::Error(" << err.kind();
    if (err.isError())
        debug << ", " << err.message();
    debug << ')';
    return debug;
}

} // namespace goroutinemap
