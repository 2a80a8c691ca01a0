// The table's item kinds and their attribute mapping. Sandboxes are the original service's
// `SBX#<id>` / `META` items, attribute for attribute; everything the broker adds lives under
// its own key prefixes and never carries `status`, `allocated_to_track` or `idempotency_key`
// (the original's index keys), so the original never sees it:
//   PART#<participant> / SLOT#<n>   a participant's allocation slot (limit and idempotency)
//   PART#<participant> / KEY#<key>  a key's claim, when a participant may hold more than one
//   DEL#<id> / CLAIM                a cleanup worker's claim and the next deletion attempt
//   HIST#<id> / EV#<at>#<seq>       one recorded transition
//   BROKER#JOBS / JOB#<name>        a background job's lease and last result
//   BROKER#JOBRUNS#<name> / RUN#<id>  one requested run
//   BROKER#COUNTER / JOBRUN         the run id counter
//   BROKER#SCHEMA / VERSION         the broker's schema version on this table
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sandbox.hpp"
#include "core/utf8.hpp"  // is_valid_utf8: DynamoDB accepts nothing else
#include "store/lifecycle_store.hpp"
#include "store/store.hpp"

namespace broker::ddb {

using Item = nlohmann::json;  // {"name": {"S": "..."}, ...}

inline constexpr std::string_view kSandboxPrefix = "SBX#";
inline constexpr std::string_view kSandboxSort = "META";

std::string sandbox_pk(std::string_view sandbox_id);
std::string participant_pk(std::string_view participant_id);
std::string deletion_pk(std::string_view sandbox_id);
std::string history_pk(std::string_view sandbox_id);
std::string job_runs_pk(std::string_view job);
// Zero-padded so that string order is number order (sort keys).
std::string padded(std::int64_t value, int width = 20);

// A key {PK, SK}.
Item key_of(std::string_view pk, std::string_view sk);

// Attribute values.
nlohmann::json S(std::string_view value);
nlohmann::json N(std::int64_t value);
nlohmann::json N_decimal(double value);
nlohmann::json BOOL(bool value);

std::optional<std::string> get_s(const Item& item, const char* name);
std::optional<std::int64_t> get_n(const Item& item, const char* name);
std::optional<double> get_decimal(const Item& item, const char* name);
std::optional<bool> get_bool(const Item& item, const char* name);
std::string s_or(const Item& item, const char* name, std::string fallback = {});
std::int64_t n_or(const Item& item, const char* name, std::int64_t fallback = 0);

// The sandbox a `SBX#` item describes. Fields the layout does not have are derived:
// expires_at = allocated_at + lab_duration_hours; version = the lifecycle step the item shows
// (1 in the pool, +1 allocated, +1 returned, +1 per failed deletion attempt, +1 deleted).
// Throws StoreUnavailable for an item that is not a sandbox (unknown status).
Sandbox sandbox_from_item(const Item& item);

// The first `limit` of the rows in id order, with the cursor to the next page when more remain
// (the lists read the status index, which is not in id order).
ListPage first_page_by_id(std::vector<Sandbox> rows, int limit);

// The whole `SBX#` item for a sandbox as given (copy); optional attributes only when set.
Item sandbox_item(const Sandbox& sandbox, double lab_duration_hours);

// One history event item, and back. `copy_position` (a copied event's place in its source's
// list) keeps copied events with equal times and ids apart, and makes a rerun write the same keys.
Item event_item(const SandboxEvent& event, std::optional<std::size_t> copy_position = std::nullopt);
SandboxEvent event_from_item(const Item& item);

}  // namespace broker::ddb
