// The PostgreSQL store's outbox: see outbox_ops.hpp, sql/outbox.sql and sql/schema/steps.sql (step 8).
#include "store/postgres/outbox_ops.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>
#include <stdexcept>
#include <string>

#include "core/errors.hpp"
#include "store/postgres/pg_sql.hpp"

namespace broker::pg {
namespace {

std::optional<SandboxStatus> status_of(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return parse_status(f.as<std::string>());
}

std::optional<std::int64_t> optional_int(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

void set_session(pqxx::connection& conn, const std::string& name, const std::string& value) {
    // The values are the program's own two words, never input.
    conn.set_variable(name, value);
}

}  // namespace

void apply_outbox_session(pqxx::connection& conn, const OutboxControl& outbox) {
    // Every connection sets both when it is first used, so get_variable answers from libpqxx's
    // cache afterwards.
    const std::string events = outbox.events_enabled() ? "on" : "off";
    const std::string fail = outbox.fail_after_event() ? "on" : "off";
    if (conn.get_variable("broker.events") != events) set_session(conn, "broker.events", events);
    if (conn.get_variable("broker.outbox_fail") != fail) set_session(conn, "broker.outbox_fail", fail);
}

std::int64_t sequence_events(pqxx::connection& conn, int limit) {
    {
        // Most calls (every reader's poll) find nothing to sequence: they do not take the lock.
        pqxx::nontransaction look(conn);
        if (!look.exec_prepared(stmt::kOutboxAnyPending)[0][0].as<bool>()) return 0;
    }
    pqxx::work tx(conn);
    tx.exec_prepared(stmt::kOutboxSequencerLock);
    const pqxx::result pending = tx.exec_prepared(stmt::kOutboxPending, limit);
    if (pending.empty()) {
        tx.commit();
        return 0;
    }
    std::int64_t last = tx.exec_prepared(stmt::kOutboxLastId)[0][0].as<std::int64_t>();
    nlohmann::json events = nlohmann::json::array();
    nlohmann::json moved = nlohmann::json::array();
    for (const auto& row : pending) {
        moved.push_back(row[0].as<std::int64_t>());
        const UnixSeconds at = row[1].as<std::int64_t>();
        std::string type = row[2].as<std::string>();
        std::string data = row[3].as<std::string>();
        const std::string sandbox_id = row[4].as<std::string>();
        std::string track;
        if (type.empty()) {
            // A recorded transition: its type and data as every store decides them.
            const auto from = status_of(row[5]);
            const auto to = status_of(row[6]);
            const std::string actor = row[7].as<std::string>();
            const auto kind = transition_event_type(from, to, actor);
            if (!kind) continue;
            Sandbox s;
            s.sandbox_id = sandbox_id;
            s.name = row[9].as<std::string>();
            s.external_id = row[10].as<std::string>();
            s.sfdc_account_id = row[11].as<std::string>();
            s.status =
                parse_status(row[12].as<std::string>()).value_or(to.value_or(SandboxStatus::available));
            s.allocated_to_track = row[13].as<std::string>();
            s.track_name = row[14].as<std::string>();
            s.allocated_at = optional_int(row[15]);
            s.expires_at = optional_int(row[16]);
            s.deletion_requested_at = optional_int(row[17]);
            s.deletion_retry_count = row[18].as<int>();
            type = std::string(*kind);
            track = s.track_name;
            data = transition_event_data(s, from, actor, row[8].as<std::string>());
        }
        events.push_back({{"id", ++last},
                          {"type", type},
                          {"at", at},
                          {"sandbox_id", sandbox_id},
                          {"track", track},
                          {"data", data}});
    }
    tx.exec_prepared(stmt::kOutboxMove, events.dump(), moved.dump(), last);
    tx.commit();
    return static_cast<std::int64_t>(events.size());
}

std::vector<OutboxEvent> read_events(pqxx::connection& conn, std::int64_t after_id, int limit) {
    std::vector<OutboxEvent> out;
    if (limit <= 0) return out;
    // The reader sequences first: what committed before this call gets its final id now.
    sequence_events(conn, std::max(limit, 1000));
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared(stmt::kOutboxRead, after_id, limit)) {
        OutboxEvent e;
        e.id = row[0].as<std::int64_t>();
        e.type = row[1].as<std::string>();
        e.at = row[2].as<std::int64_t>();
        e.sandbox_id = row[3].as<std::string>();
        e.track = row[4].as<std::string>();
        e.payload = event_payload(e.id, e.type, e.at, row[5].as<std::string>());
        out.push_back(std::move(e));
    }
    return out;
}

std::int64_t last_event_id(pqxx::connection& conn) {
    sequence_events(conn, 1000);
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared(stmt::kOutboxLastId)[0][0].as<std::int64_t>();
}

void append_event(pqxx::connection& conn, const OutboxControl& outbox, std::string_view type,
                  std::string_view data_json, UnixSeconds now) {
    if (!outbox.events_enabled()) return;
    pqxx::work tx(conn);
    append_event_in(tx, outbox, type, data_json, now);
    tx.commit();
}

void append_event_in(pqxx::transaction_base& tx, const OutboxControl& outbox, std::string_view type,
                     std::string_view data_json, UnixSeconds now) {
    if (!outbox.events_enabled()) return;
    tx.exec_prepared(stmt::kOutboxAppend, std::string(type), std::string(data_json), now);
    outbox.event_written(type);
}

std::int64_t prune_events(pqxx::connection& conn, std::int64_t delivered_up_to, UnixSeconds older_than) {
    pqxx::nontransaction tx(conn);
    return static_cast<std::int64_t>(
        tx.exec_prepared(stmt::kOutboxPrune, delivered_up_to, older_than).affected_rows());
}

bool pool_low(pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    const auto rows = tx.exec_prepared(stmt::kPoolLow);
    return !rows.empty() && rows[0][0].as<bool>();
}

bool set_pool_low(pqxx::connection& conn, const OutboxControl& outbox, bool low, std::string_view data_json,
                  UnixSeconds now) {
    pqxx::work tx(conn);
    if (tx.exec_prepared(stmt::kSetPoolLow, low, now).empty()) {
        tx.commit();
        return false;
    }
    if (outbox.events_enabled()) {
        const std::string_view type = low ? kEventPoolLow : kEventPoolRecovered;
        tx.exec_prepared(stmt::kOutboxAppend, std::string(type), std::string(data_json), now);
        outbox.event_written(type);
    }
    tx.commit();
    return true;
}

}  // namespace broker::pg
