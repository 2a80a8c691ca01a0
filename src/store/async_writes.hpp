// Writes a store can finish without a blocking thread of the caller's: the caller is called
// back once the change is durable. The SQLite store offers it (its group-commit writer runs
// the batch and calls back when it committed), so an allocation goes from the I/O thread
// to the writer and back, with no blocking-pool thread parked in between.
#pragma once

#include <exception>
#include <functional>

#include "store/store.hpp"

namespace broker {

class AsyncWriteStore {
  public:
    virtual ~AsyncWriteStore() = default;

    // Called once, on the store's own thread, with the error (the result then empty) or the
    // result. It must be quick and must not throw: hand the outcome on (asio::post) and return.
    using AllocateDone = std::function<void(std::exception_ptr, AllocateResult)>;
    using MarkDone = std::function<void(std::exception_ptr, MarkResult)>;

    // As Store::allocate / Store::mark_for_deletion. Throws at once (Overloaded when the
    // write queue is full, StoreUnavailable when stopping); then `done` is never called.
    virtual void allocate_async(const AllocateRequest& request, AllocateDone done) = 0;
    virtual void mark_for_deletion_async(const MarkForDeletionRequest& request, MarkDone done) = 0;
};

}  // namespace broker
