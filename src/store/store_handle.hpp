// One opened store with each of its parts: the pool (Store), the background jobs' side
// (LifecycleStore), the jobs' shared state (JobStateStore), the dashboard's reads
// (DashboardStore) and the pool change notices (PoolChangeSource). The opening function
// returns it and the wiring takes it, so no caller discovers a part by casting. Every store
// implements every part; a new part is one more interface in the StoreHandle list below (a
// store that does not implement it then fails to build, not to start).
#pragma once

#include <memory>
#include <tuple>
#include <utility>

#include "store/dashboard_store.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/pool_change.hpp"
#include "store/store.hpp"

namespace broker {

template <class... Parts>
class BasicStoreHandle {
  public:
    BasicStoreHandle() = default;

    // Owns `store` (a class that derives from every part) and closes it when destroyed.
    template <class S>
    explicit BasicStoreHandle(std::unique_ptr<S> store)
        : parts_(static_cast<Parts*>(store.get())...), owner_(std::move(store)) {}

    // A handle on a store owned elsewhere, which must outlive the handle.
    template <class S>
    static BasicStoreHandle borrow(S& store) {
        BasicStoreHandle handle;
        handle.parts_ = std::tuple<Parts*...>(static_cast<Parts*>(&store)...);
        return handle;
    }

    BasicStoreHandle(BasicStoreHandle&&) noexcept = default;
    BasicStoreHandle& operator=(BasicStoreHandle&&) noexcept = default;

    // The part `P` of the store; the handle must not be empty.
    template <class P>
    P& part() const {
        return *std::get<P*>(parts_);
    }

    // The pool: allocation, return, listing, schema (the part every command uses).
    Store& store() const { return part<Store>(); }

    explicit operator bool() const { return std::get<Store*>(parts_) != nullptr; }

  private:
    std::tuple<Parts*...> parts_{};
    std::unique_ptr<Store> owner_;  // Store has a virtual destructor, and every store is one
};

using StoreHandle = BasicStoreHandle<Store, LifecycleStore, JobStateStore, DashboardStore, PoolChangeSource>;

}  // namespace broker
