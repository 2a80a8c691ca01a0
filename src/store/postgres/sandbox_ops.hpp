// The Store operations as SQL on one PostgreSQL connection. Each runs its own transaction
// (most are a single statement), so callers only supply a healthy connection.
#pragma once

#include <optional>
#include <pqxx/connection>
#include <span>
#include <string>

#include "store/lifecycle_store.hpp"
#include "store/store.hpp"

namespace broker::pg {

AllocateResult allocate(pqxx::connection& conn, const AllocateRequest& request);
MarkResult mark_for_deletion(pqxx::connection& conn, const MarkForDeletionRequest& request);
ExtendResult extend_lease(pqxx::connection& conn, const ExtendLeaseRequest& request);
// The provider-list writes get `timeout_ms` instead of the per-request statement timeout.
UpsertSummary upsert_provider_sandboxes(pqxx::connection& conn, std::span<const ProviderSandbox> sandboxes,
                                        UnixSeconds now, int timeout_ms);

// The sync: a part upserted and recorded as listed by `pass` in one transaction; at the
// end, the available sandboxes the pass did not list marked stale and the pass forgotten in
// another (forget_before: older passes that never ended are forgotten too).
UpsertSummary sync_part(pqxx::connection& conn, std::span<const ProviderSandbox> part, std::int64_t pass,
                        UnixSeconds now, int timeout_ms);
std::int64_t finish_sync(pqxx::connection& conn, std::int64_t pass, UnixSeconds now,
                         UnixSeconds forget_before, int timeout_ms);
void forget_sync(pqxx::connection& conn, std::int64_t pass, UnixSeconds forget_before);

std::optional<Sandbox> find_sandbox(pqxx::connection& conn, const std::string& sandbox_id);
StatusCounts count_by_status(pqxx::connection& conn);
ListPage list_sandboxes(pqxx::connection& conn, const ListQuery& query);

}  // namespace broker::pg
