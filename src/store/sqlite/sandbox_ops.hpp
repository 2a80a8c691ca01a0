// The Store operations as SQL on one connection. Writes expect to run inside the writer's
// transaction (the group-commit batch), so each is atomic with its event records; reads
// run on a reader connection, each statement its own snapshot.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "store/sqlite/connection.hpp"
#include "store/store.hpp"

namespace broker::sqlite {

struct QuotaCache;

// Allocation, under the reservations and track limits `quota` knows of (quota_ops.hpp).
AllocateResult allocate(Connection& conn, const AllocateRequest& request, QuotaCache& quota);
MarkResult mark_for_deletion(Connection& conn, const MarkForDeletionRequest& request);
ExtendResult extend_lease(Connection& conn, const ExtendLeaseRequest& request);
UpsertSummary upsert_provider_sandboxes(Connection& conn, std::span<const ProviderSandbox> sandboxes,
                                        UnixSeconds now);

std::optional<Sandbox> find_sandbox(Connection& conn, const std::string& sandbox_id);
StatusCounts count_by_status(Connection& conn);
ListPage list_sandboxes(Connection& conn, const ListQuery& query);

}  // namespace broker::sqlite
