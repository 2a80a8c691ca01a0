// One opened store with each of its parts: the pool (Store), the background jobs' side
// (LifecycleStore), the jobs' shared state (JobStateStore), the dashboard's reads
// (DashboardStore), the pool change notices (PoolChangeSource), the outbox (EventStore,
// PoolAlertStore, OutboxControl) and the webhook subscriptions (WebhookStore). The opening
// function returns it and the wiring takes it, so no caller discovers a part by casting. Every
// store implements every part; a new part is one more interface in the StoreHandle list below
// (a store that does not implement it then fails to build, not to start). A part only some
// stores have (OptionalStoreParts: the SQLite store's callback writes, the DynamoDB store's
// count reconcile) is found from the store's type when the handle is made, and `find` answers
// null for a store without it.
#pragma once

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "store/dashboard_store.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/pool_change.hpp"
#include "store/async_writes.hpp"
#include "store/count_reconciler.hpp"
#include "store/event_store.hpp"
#include "store/outbox.hpp"
#include "store/pool_alert_store.hpp"
#include "store/store.hpp"
#include "store/webhook_store.hpp"

namespace broker {

// The parts a store may lack, each set when the store's class derives from it.
using OptionalStoreParts = std::tuple<AsyncWriteStore*, CountReconciler*>;

template <class S>
OptionalStoreParts optional_parts_of(S* store) {
    OptionalStoreParts parts{};
    std::apply(
        [store](auto*&... part) {
            ((part = [store]<class P>(P*) -> P* {
                  if constexpr (std::is_base_of_v<P, S>) return store; else return nullptr;
              }(part)),
             ...);
        },
        parts);
    return parts;
}

template <class... Parts>
class BasicStoreHandle {
  public:
    BasicStoreHandle() = default;

    // Owns `store` (a class that derives from every part) and closes it when destroyed.
    template <class S>
    explicit BasicStoreHandle(std::unique_ptr<S> store)
        : parts_(static_cast<Parts*>(store.get())...), optional_(optional_parts_of(store.get())),
          owner_(std::move(store)) {}

    // A handle on a store owned elsewhere, which must outlive the handle.
    template <class S>
    static BasicStoreHandle borrow(S& store) {
        BasicStoreHandle handle;
        handle.parts_ = std::tuple<Parts*...>(static_cast<Parts*>(&store)...);
        handle.optional_ = optional_parts_of(&store);
        return handle;
    }

    BasicStoreHandle(BasicStoreHandle&&) noexcept = default;
    BasicStoreHandle& operator=(BasicStoreHandle&&) noexcept = default;

    // The part `P` of the store; the handle must not be empty.
    template <class P>
    P& part() const {
        return *std::get<P*>(parts_);
    }

    // An optional part (OptionalStoreParts), or null when this store has none.
    template <class P>
    P* find() const {
        return std::get<P*>(optional_);
    }

    // The pool: allocation, return, listing, schema (the part every command uses).
    Store& store() const { return part<Store>(); }

    explicit operator bool() const { return std::get<Store*>(parts_) != nullptr; }

  private:
    std::tuple<Parts*...> parts_{};
    OptionalStoreParts optional_{};
    std::unique_ptr<Store> owner_;  // Store has a virtual destructor, and every store is one
};

using StoreHandle = BasicStoreHandle<Store, LifecycleStore, JobStateStore, DashboardStore, PoolChangeSource,
                                     EventStore, PoolAlertStore, OutboxControl, WebhookStore>;

}  // namespace broker
