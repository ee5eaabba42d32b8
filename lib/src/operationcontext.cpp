// SPDX-License-Identifier: Apache-2.0
#include <goroutinemap/operationcontext.h>

#include "goroutinemap_p.h"

#include <algorithm>

namespace goroutinemap {

QString OperationContext::operationName() const
{
    return d->name;
}

bool OperationContext::isCancellationRequested() const noexcept
{
    return d->cancellationRequested.load(std::memory_order_acquire);
}

void OperationContext::setProgress(int percent)
{
    d->map->updateProgress(d, std::clamp(percent, 0, 100), nullptr);
}

void OperationContext::setStatus(const QString &status)
{
    d->map->updateProgress(d, -1, &status);
}

} // namespace goroutinemap
