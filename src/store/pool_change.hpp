// Store change notifications for allocations that wait: a store that can tell when sandboxes
// may have become available (new ones inserted or stale ones revived by a sync or an import)
// calls its PoolChangeListener after the commit. The listener must be quick and must not
// call back into the store: it only wakes the waiters, which then ask the store themselves.
#pragma once

#include <atomic>

#include "store/store.hpp"

namespace broker {

class PoolChangeListener {
  public:
    virtual ~PoolChangeListener() = default;
    // Sandboxes may be available that were not before. Called on the committing thread.
    virtual void sandboxes_added() noexcept = 0;
};

// Implemented by the stores beside Store; the wiring reaches it through the StoreHandle.
class PoolChangeSource {
  public:
    virtual ~PoolChangeSource() = default;
    // `listener` (may be null: none) must outlive the store's use, or be replaced first.
    virtual void set_pool_change_listener(PoolChangeListener* listener) = 0;
};

// What each store holds to tell its listener; one atomic load per upsert.
class PoolChangeNotifier {
  public:
    void set(PoolChangeListener* listener) { listener_.store(listener, std::memory_order_release); }
    // After a commit: tells the listener when the summary added available sandboxes.
    void after_upsert(const UpsertSummary& summary) const {
        if (summary.inserted + summary.revived <= 0) return;
        if (auto* listener = listener_.load(std::memory_order_acquire)) listener->sandboxes_added();
    }

  private:
    std::atomic<PoolChangeListener*> listener_{nullptr};
};

}  // namespace broker
