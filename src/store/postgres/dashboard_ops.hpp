// The DashboardStore reads and the pool samples as SQL on one PostgreSQL connection. Each
// runs on its own (single statements), so callers only supply a healthy connection.
#pragma once

#include <pqxx/connection>
#include <vector>

#include "store/dashboard_store.hpp"

namespace broker::pg {

ListPage search_sandboxes(pqxx::connection& conn, const SandboxSearch& query);
AllocationWindowStats allocation_window(pqxx::connection& conn, const AllocationWindowQuery& query);
std::int64_t count_allocated_between(pqxx::connection& conn, UnixSeconds from, UnixSeconds to);
CleanupBacklog cleanup_backlog(pqxx::connection& conn, UnixSeconds now);
std::vector<DeletionFailureInfo> deletion_failures(pqxx::connection& conn, int limit);
void record_pool_sample(pqxx::connection& conn, const PoolSample& sample);
std::vector<PoolSample> pool_samples(pqxx::connection& conn, UnixSeconds from, UnixSeconds to, int limit);
std::int64_t prune_pool_samples(pqxx::connection& conn, UnixSeconds before);

}  // namespace broker::pg
