// The PostgreSQL store's side of `copy`: see copy_ops.hpp.
#include "store/postgres/copy_ops.hpp"

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

// A PostgreSQL array literal whose elements may be NULL: {1,NULL,3} for bigint[], and for
// text[] quoted elements with unquoted NULLs.
template <class Range, class Get>
std::string nullable_array_literal(const Range& items, Get get) {
    std::string out = "{";
    bool first = true;
    for (const auto& item : items) {
        if (!first) out += ',';
        first = false;
        const auto value = get(item);
        if (!value) {
            out += "NULL";
        } else if constexpr (std::is_integral_v<std::decay_t<decltype(*value)>>) {
            out += std::to_string(*value);
        } else {
            append_array_element(out, *value);
        }
    }
    out += '}';
    return out;
}

std::optional<std::string_view> status_text(const std::optional<SandboxStatus>& status) {
    if (!status) return std::nullopt;
    return to_string(*status);
}

struct FlatEvent {
    const std::string* sandbox_id;
    const SandboxEvent* event;
};

}  // namespace

std::int64_t insert_copied(pqxx::connection& conn, std::span<const CopiedSandbox> sandboxes, int timeout_ms) {
    if (sandboxes.empty()) return 0;
    const auto text = [&](auto field) {
        return text_array_literal(sandboxes,
                                  [&](const CopiedSandbox& c) { return std::string_view(field(c.sandbox)); });
    };
    const auto number = [&](auto field) {
        return nullable_array_literal(
            sandboxes, [&](const CopiedSandbox& c) { return std::optional<std::int64_t>(field(c.sandbox)); });
    };
    std::vector<FlatEvent> events;
    for (const auto& c : sandboxes) {
        for (const auto& e : c.history) events.push_back({&c.sandbox.sandbox_id, &e});
    }

    pqxx::work tx(conn);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(timeout_ms));
    // A copied history is no change: the outbox trigger writes nothing for it.
    tx.exec("SET LOCAL broker.events = off");
    const auto row = tx.exec_prepared1(
        stmt::kInsertCopied, text([](const Sandbox& s) -> const std::string& { return s.sandbox_id; }),
        text([](const Sandbox& s) -> const std::string& { return s.name; }),
        text([](const Sandbox& s) -> const std::string& { return s.external_id; }),
        text([](const Sandbox& s) -> const std::string& { return s.sfdc_account_id; }),
        text([](const Sandbox& s) { return to_string(s.status); }),
        text([](const Sandbox& s) -> const std::string& { return s.allocated_to_track; }),
        text([](const Sandbox& s) -> const std::string& { return s.track_name; }),
        text([](const Sandbox& s) -> const std::string& { return s.idempotency_key; }),
        number([](const Sandbox& s) { return s.allocated_at; }),
        number([](const Sandbox& s) { return s.expires_at; }),
        number([](const Sandbox& s) { return s.deletion_requested_at; }),
        number([](const Sandbox& s) { return std::optional<std::int64_t>(s.deletion_retry_count); }),
        number([](const Sandbox& s) { return std::optional<std::int64_t>(s.created_at); }),
        number([](const Sandbox& s) { return std::optional<std::int64_t>(s.updated_at); }),
        // The compare-and-set token is this store's own: a copied row starts at the first one.
        number([](const Sandbox&) { return std::optional<std::int64_t>(1); }),
        text_array_literal(events, [](const FlatEvent& f) { return std::string_view(*f.sandbox_id); }),
        nullable_array_literal(events,
                               [](const FlatEvent& f) { return std::optional<std::int64_t>(f.event->at); }),
        nullable_array_literal(events, [](const FlatEvent& f) { return status_text(f.event->from); }),
        nullable_array_literal(events, [](const FlatEvent& f) { return status_text(f.event->to); }),
        text_array_literal(events, [](const FlatEvent& f) { return std::string_view(f.event->actor); }),
        text_array_literal(events, [](const FlatEvent& f) { return std::string_view(f.event->reason); }));
    tx.commit();
    return row[0].as<std::int64_t>();
}

}  // namespace broker::pg
