// The DashboardStore reads and the pool samples as SQL on one SQLite connection: reads on a
// reader connection, the sample writes inside the writer's transaction.
#pragma once

#include <vector>

#include "store/dashboard_store.hpp"
#include "store/sqlite/connection.hpp"

namespace broker::sqlite {

ListPage search_sandboxes(Connection& conn, const SandboxSearch& query);
AllocationWindowStats allocation_window(Connection& conn, const AllocationWindowQuery& query);
std::int64_t count_allocated_between(Connection& conn, UnixSeconds from, UnixSeconds to);
CleanupBacklog cleanup_backlog(Connection& conn, UnixSeconds now);
std::vector<DeletionFailureInfo> deletion_failures(Connection& conn, int limit);
void record_pool_sample(Connection& conn, const PoolSample& sample);
std::vector<PoolSample> pool_samples(Connection& conn, UnixSeconds from, UnixSeconds to, int limit);
std::int64_t prune_pool_samples(Connection& conn, UnixSeconds before);

}  // namespace broker::sqlite
