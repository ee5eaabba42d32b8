// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <goroutinemap/error.h>
#include <goroutinemap/exponentialbackoff.h>
#include <goroutinemap/goroutinemap_export.h>

#include <QMetaType>
#include <QObject>
#include <QString>

namespace goroutinemap {

/*!
    \class goroutinemap::OperationInfo
    \brief A snapshot of one name the map holds, as returned by GoRoutineMap::operations().

    A plain value: it does not change when the map does. \threadsafe Like any value type.
*/
class GOROUTINEMAP_EXPORT OperationInfo
{
    Q_GADGET
    Q_PROPERTY(QString name MEMBER name CONSTANT)
    Q_PROPERTY(goroutinemap::OperationInfo::State state MEMBER state CONSTANT)
    Q_PROPERTY(int failureCount MEMBER failureCount CONSTANT)
    Q_PROPERTY(int progress MEMBER progress CONSTANT)
    Q_PROPERTY(QString status MEMBER status CONSTANT)
public:
    //! Where a name is in its life.
    enum class State {
        Queued, //!< Accepted, waiting for a pool thread.
        Running, //!< Executing.
        BackingOff, //!< Failed; run() refuses it until backoffDeadline.
        ReadyToRetry, //!< Failed and its window has passed: run() accepts it, its history is kept.
    };
    Q_ENUM(State)

    //! True when the snapshot describes a name the map holds (a default one does not).
    bool isValid() const noexcept { return valid; }
    //! True for Queued and Running: run() of this name would be refused with AlreadyExists.
    bool isPending() const noexcept { return state == State::Queued || state == State::Running; }

    //! The operation name.
    QString name;
    //! Where the name is in its life.
    State state = State::Queued;
    //! Consecutive failures so far (0 unless backoff is on and the name failed).
    int failureCount = 0;
    //! The last failure; no error when there was none.
    Error lastError;
    //! When the current run was accepted (Queued) or began executing (Running); monotonic.
    Clock::time_point startTime{};
    //! For BackingOff and ReadyToRetry: when retries are permitted again; monotonic.
    Clock::time_point backoffDeadline{};
    //! The whole window of the current backoff.
    std::chrono::milliseconds durationBeforeRetry{0};
    //! The last progress reported through OperationContext, -1 if none (0..100 otherwise).
    int progress = -1;
    //! The last status text reported through OperationContext.
    QString status;
    //! True when cancel() was requested for the pending run.
    bool cancellationRequested = false;
    //! What isValid() returns: false for a default-constructed snapshot.
    bool valid = false;
};

} // namespace goroutinemap

Q_DECLARE_METATYPE(goroutinemap::OperationInfo)
