// The seam of the store conformance suite: every test is written once against the Store
// interface and runs against each store in store_factories(). A store joins the suite by
// adding a factory there; the tests themselves never name a store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/lifecycle.hpp"
#include "store/store_handle.hpp"

namespace broker::testing {

// One store under test with data of its own (a fresh file, schema or table per test).
class StoreHarness {
  public:
    virtual ~StoreHarness() = default;
    // The store with each of its parts, as the broker opens it.
    virtual const StoreHandle& handle() = 0;
    // Closes the store and opens it again on the same data, as a restarted process would.
    virtual void reopen() = 0;
    // Records, through the store's own bookkeeping tables, that the schema is at `version` and
    // compatible from `compatible_from`, as a newer release's migrate would (then reopens).
    virtual void record_schema(int version, int compatible_from) = 0;
};

struct StoreFactory {
    std::string name;  // a GoogleTest name part: letters and digits only
    std::function<std::unique_ptr<StoreHarness>()> make;
    std::string skip_reason;  // non-empty: the store is not reachable in this run; its tests skip
};

inline void PrintTo(const StoreFactory& factory, std::ostream* os) {
    *os << factory.name;
}

// Every store: SQLite always reachable; the others skip with a reason unless configured.
const std::vector<StoreFactory>& store_factories();

// Base fixture: a migrated store and helpers that speak only the store interfaces.
class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
  protected:
    static constexpr UnixSeconds kNow = 1'700'000'000;

    // Skips the test with the reason when the store is not configured, else makes a fresh,
    // migrated store and calls prepare(). Final, so that no suite's setup can go on to use a
    // store that is not there: suites that seed every test override prepare() instead.
    void SetUp() final;
    // What a suite does in each test's fresh store before the test (seeding); runs only when
    // the store is reachable.
    virtual void prepare() {}

    Store& store() { return harness_->handle().store(); }
    LifecycleStore& lifecycle() { return harness_->handle().part<LifecycleStore>(); }
    JobStateStore& jobs() { return harness_->handle().part<JobStateStore>(); }
    DashboardStore& dashboard() { return harness_->handle().part<DashboardStore>(); }
    StoreHarness& harness() { return *harness_; }
    // The store with each of its parts, for a suite about a part not named above.
    const StoreHandle& handle() { return harness_->handle(); }

    // Inserts `count` available sandboxes named `<name_prefix><i>` with ids `<id_prefix><i>`
    // (i zero-padded so ids and names sort in creation order).
    void seed(int count, const std::string& name_prefix = "sbx-", const std::string& id_prefix = "id-");
    void seed_named(const std::vector<std::string>& names);

    AllocateRequest request(const std::string& participant, const std::string& key = "",
                            const std::string& prefix = "", UnixSeconds now = kNow) const;
    AllocateResult allocate(const std::string& participant, const std::string& key = "",
                            const std::string& prefix = "", UnixSeconds now = kNow);
    MarkResult mark(const std::string& sandbox_id, const std::string& participant, UnixSeconds now = kNow);

    LeasePolicy lease_{std::chrono::hours(2), std::chrono::minutes(10)};
    int max_per_participant_ = 1;  // what request() asks the store to keep

  private:
    std::unique_ptr<StoreHarness> harness_;
};

}  // namespace broker::testing

// Runs the tests of `Suite` (a subclass of StoreConformance) against every store.
#define BROKER_FOR_EVERY_STORE(Suite)                                                                  \
    INSTANTIATE_TEST_SUITE_P(Stores, Suite, ::testing::ValuesIn(::broker::testing::store_factories()), \
                             [](const auto& info) { return info.param.name; })
