#include "app/allocate_waiting.hpp"

#include "store/postgres/pool_listener.hpp"
#include "store/postgres/postgres_options.hpp"
#include "store/store_url.hpp"

namespace broker {

AllocateWaiting::AllocateWaiting(const AllocateWaitOptions& options, const StoreHandle& store,
                                 const std::string& store_url, const EnvLookup& env, MetricsRegistry& metrics,
                                 const BlockingPool& pool)
    : options_(options),
      changes_(store.part<PoolChangeSource>()),
      registry_(options.max_waiters),
      poller_(registry_, options.poll) {
    changes_.set_pool_change_listener(this);
    const StoreUrl parsed = parse_store_url(store_url);
    if (parsed.kind == StoreUrl::Kind::postgresql && options_.max_wait.count() > 0) {
        listener_ = std::make_unique<PgPoolListener>(postgres_options_from_env(parsed.target, env),
                                                     [this] { registry_.wake_heads(); });
    }
    metrics.add_collector([this, &pool] {
        std::vector<MetricFamily> families;
        families.push_back({"broker_allocate_waiters",
                            "Allocations waiting for a sandbox (Prefer: wait) right now",
                            MetricType::gauge,
                            {{"", {}, static_cast<double>(registry_.size())}}});
        families.push_back({"broker_blocking_pool_active",
                            "Threads of the blocking pool running a job right now",
                            MetricType::gauge,
                            {{"", {}, static_cast<double>(pool.active())}}});
        return families;
    });
}

AllocateWaiting::~AllocateWaiting() {
    stop();
    changes_.set_pool_change_listener(nullptr);
}

void AllocateWaiting::stop() {
    registry_.close();
    poller_.stop();
    if (listener_) listener_->stop();
}

}  // namespace broker
