// DynamoStore: what the operators' dashboard reads (DashboardStore). The table keeps the
// original's layout: the window statistics are range queries of the status index on
// allocated_at (one per status an allocation can be in), the backlog and failures read the
// pending and failed sandboxes with their DEL# items, and a filtered page reads the pool
// from the status index as the plain list does. Pool samples live under one partition per
// UTC day, `BROKER#SAMPLES#<day>` / `AT#<at>`, so a day's samples are one Query.
#include <algorithm>
#include <map>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

constexpr UnixSeconds kDay = 86400;
// Bounds the day partitions one read or prune visits.
constexpr UnixSeconds kMaxSampleDays = 400;
constexpr UnixSeconds kFirstPruneDays = 7;
const std::string kSamplesMarkerPk = "BROKER#SAMPLES";
const std::string kSamplesMarkerSk = "PRUNED";

UnixSeconds day_of(UnixSeconds at) {
    return at >= 0 ? at / kDay : (at - kDay + 1) / kDay;
}

std::string samples_pk(UnixSeconds day) {
    return "BROKER#SAMPLES#" + std::to_string(day);
}

std::string sample_sk(UnixSeconds at) {
    return "AT#" + padded(at);
}

bool matches(const Sandbox& s, const SandboxSearch& f) {
    if (!f.q.empty() && s.sandbox_id != f.q && s.allocated_to_track != f.q &&
        s.name.find(f.q) == std::string::npos) {
        return false;
    }
    if (!f.track.empty() && s.track_name != f.track) return false;
    if (!f.name_prefix.empty() && !s.name.starts_with(f.name_prefix)) return false;
    return true;
}

struct DeletionItem {
    UnixSeconds claim_until = 0;
    std::optional<UnixSeconds> next_attempt_at;
    std::string last_error;
};

}  // namespace

ListPage DynamoStore::search(const SandboxSearch& query) {
    constexpr int kMaxLimit = 1000;
    const int limit = std::clamp(query.page.limit, 1, kMaxLimit);
    // No index in id order: the statuses asked are read from the status index, filtered and
    // ordered here, as list() does (an admin read; the pool's size bounds it).
    std::vector<Sandbox> rows;
    for (const SandboxStatus status : kAllStatuses) {
        if (query.page.status ? status != *query.page.status : status == SandboxStatus::deleted) continue;
        for (const auto& item : by_status(status)) {
            Sandbox s = sandbox_from_item(item);
            if (s.sandbox_id > query.page.after_sandbox_id && matches(s, query)) rows.push_back(std::move(s));
        }
    }
    return first_page_by_id(std::move(rows), limit);
}

AllocationWindowStats DynamoStore::allocation_window(const AllocationWindowQuery& query) {
    AllocationWindowStats stats;
    std::map<std::string, TrackAllocations> tracks;
    bool any = false;
    for (const SandboxStatus status : {SandboxStatus::allocated, SandboxStatus::pending_deletion,
                                       SandboxStatus::deletion_failed, SandboxStatus::deleted}) {
        const auto items =
            query_all({{"IndexName", options_.status_index},
                       {"KeyConditionExpression", "#s = :s AND allocated_at BETWEEN :since AND :now"},
                       {"ProjectionExpression", "#s, allocated_at, deletion_requested_at, track_name"},
                       {"ExpressionAttributeNames", {{"#s", "status"}}},
                       {"ExpressionAttributeValues",
                        {{":s", S(to_string(status))},
                         {":since", N(std::max<UnixSeconds>(query.since, 1))},
                         {":now", N(query.now)}}}});
        for (const auto& item : items) {
            const UnixSeconds allocated_at = n_or(item, "allocated_at");
            const bool active = status == SandboxStatus::allocated;
            const auto requested = get_n(item, "deletion_requested_at");
            if (!active && !requested) continue;
            const UnixSeconds end = active ? query.now : *requested;
            const std::int64_t d = std::max<std::int64_t>(0, end - allocated_at);
            stats.total_sec += d;
            stats.longest_sec = any ? std::max(stats.longest_sec, d) : d;
            stats.shortest_sec = any ? std::min(stats.shortest_sec, d) : d;
            any = true;
            ++stats.allocations;
            if (active) ++stats.active;
            if (allocated_at >= query.recent_since) ++stats.recent;
            TrackAllocations& t = tracks[s_or(item, "track_name")];
            ++t.total;
            if (active) ++t.active;
        }
    }
    for (auto& [name, t] : tracks) {
        t.track = name;
        stats.tracks.push_back(t);
    }
    std::sort(stats.tracks.begin(), stats.tracks.end(),
              [](const TrackAllocations& a, const TrackAllocations& b) {
                  return std::tie(b.total, a.track) < std::tie(a.total, b.track);
              });
    if (static_cast<int>(stats.tracks.size()) > query.top_tracks) {
        stats.tracks.resize(static_cast<std::size_t>(std::max(query.top_tracks, 0)));
    }
    return stats;
}

std::int64_t DynamoStore::count_allocated_between(UnixSeconds from, UnixSeconds to) {
    if (to <= from) return 0;
    std::int64_t n = 0;
    for (const SandboxStatus status : {SandboxStatus::allocated, SandboxStatus::pending_deletion,
                                       SandboxStatus::deletion_failed, SandboxStatus::deleted}) {
        const auto items =
            query_all({{"IndexName", options_.status_index},
                       {"KeyConditionExpression", "#s = :s AND allocated_at BETWEEN :from AND :last"},
                       {"ProjectionExpression", "#s, allocated_at, deletion_requested_at"},
                       {"ExpressionAttributeNames", {{"#s", "status"}}},
                       {"ExpressionAttributeValues",
                        {{":s", S(to_string(status))},
                         {":from", N(std::max<UnixSeconds>(from, 1))},
                         {":last", N(to - 1)}}}});
        for (const auto& item : items) {
            if (status == SandboxStatus::allocated || get_n(item, "deletion_requested_at")) ++n;
        }
    }
    return n;
}

CleanupBacklog DynamoStore::cleanup_backlog(UnixSeconds now) {
    CleanupBacklog backlog;
    std::vector<Item> keys;
    for (const SandboxStatus status : {SandboxStatus::pending_deletion, SandboxStatus::deletion_failed}) {
        for (const auto& item : by_status(status)) {
            const Sandbox s = sandbox_from_item(item);
            if (status == SandboxStatus::pending_deletion) {
                ++backlog.pending;
                if (s.deletion_retry_count > 0) ++backlog.retrying;
            } else {
                ++backlog.failed;
            }
            keys.push_back(key_of(deletion_pk(s.sandbox_id), "CLAIM"));
        }
    }
    for (const auto& item : batch_get(keys)) {
        if (n_or(item, "claim_until") > now) ++backlog.being_deleted;
    }
    return backlog;
}

std::vector<DeletionFailureInfo> DynamoStore::deletion_failures(int limit) {
    std::vector<DeletionFailureInfo> out;
    std::vector<Item> keys;
    for (const SandboxStatus status : {SandboxStatus::pending_deletion, SandboxStatus::deletion_failed}) {
        for (const auto& item : by_status(status)) {
            Sandbox s = sandbox_from_item(item);
            if (s.deletion_retry_count == 0) continue;
            keys.push_back(key_of(deletion_pk(s.sandbox_id), "CLAIM"));
            out.push_back({std::move(s), "", std::nullopt});
        }
    }
    std::map<std::string, DeletionItem> states;
    for (const auto& item : batch_get(keys)) {
        const std::string pk = s_or(item, "PK");
        DeletionItem d;
        d.claim_until = n_or(item, "claim_until");
        if (const auto next = get_n(item, "next_attempt_at"); next && *next > 0) d.next_attempt_at = *next;
        d.last_error = s_or(item, "last_error");
        states[pk.substr(4)] = std::move(d);
    }
    for (auto& f : out) {
        const auto it = states.find(f.sandbox.sandbox_id);
        if (it == states.end()) continue;
        f.reason = it->second.last_error;
        f.next_attempt_at = it->second.next_attempt_at;
    }
    // Next attempt first (none: last), then by id, as the SQL stores order them.
    std::sort(out.begin(), out.end(), [](const DeletionFailureInfo& a, const DeletionFailureInfo& b) {
        if (a.next_attempt_at.has_value() != b.next_attempt_at.has_value())
            return a.next_attempt_at.has_value();
        if (a.next_attempt_at != b.next_attempt_at) return *a.next_attempt_at < *b.next_attempt_at;
        return a.sandbox.sandbox_id < b.sandbox.sandbox_id;
    });
    if (static_cast<int>(out.size()) > limit) out.resize(static_cast<std::size_t>(std::max(limit, 0)));
    return out;
}

void DynamoStore::record_pool_sample(const PoolSample& sample) {
    Item item = key_of(samples_pk(day_of(sample.at)), sample_sk(sample.at));
    item["at"] = N(sample.at);
    for (const auto status : kAllStatuses) item[std::string(to_string(status))] = N(sample.counts[status]);
    item["allocations"] = N(sample.allocations);
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", item}});
}

std::vector<PoolSample> DynamoStore::pool_samples(UnixSeconds from, UnixSeconds to, int limit) {
    std::vector<PoolSample> out;
    if (to < from || limit <= 0) return out;
    const UnixSeconds first = std::max(day_of(from), day_of(to) - kMaxSampleDays);
    for (UnixSeconds day = first; day <= day_of(to); ++day) {
        const auto items = query_all(
            {{"KeyConditionExpression", "PK = :pk AND SK BETWEEN :from AND :to"},
             {"ConsistentRead", true},
             {"ExpressionAttributeValues",
              {{":pk", S(samples_pk(day))}, {":from", S(sample_sk(from))}, {":to", S(sample_sk(to))}}}},
            static_cast<std::size_t>(limit) - out.size());
        for (const auto& item : items) {
            PoolSample s;
            s.at = n_or(item, "at");
            for (const auto status : kAllStatuses)
                s.counts[status] = n_or(item, std::string(to_string(status)).c_str());
            s.allocations = n_or(item, "allocations");
            out.push_back(s);
        }
        if (static_cast<int>(out.size()) >= limit) break;
    }
    return out;
}

std::int64_t DynamoStore::prune_pool_samples(UnixSeconds before) {
    // Whole days before `before` are dropped partition by partition from where the last prune
    // stopped (the marker item), the day of `before` item by item.
    const UnixSeconds last_day = day_of(before);
    const auto marker = get_item(kSamplesMarkerPk, kSamplesMarkerSk);
    // Without a marker no prune ran yet; every sampling run prunes, so nothing older than a
    // few days can be there: a week back is enough, instead of every day the reads allow.
    UnixSeconds day = marker ? n_or(*marker, "day") : last_day - kFirstPruneDays;
    day = std::max(day, last_day - kMaxSampleDays);
    std::int64_t pruned = 0;
    for (; day <= last_day; ++day) {
        json request = {
            {"KeyConditionExpression", "PK = :pk AND SK < :to"},
            {"ProjectionExpression", "PK, SK"},
            {"ExpressionAttributeValues", {{":pk", S(samples_pk(day))}, {":to", S(sample_sk(before))}}}};
        for (const auto& item : query_all(std::move(request))) {
            client_.must("DeleteItem", {{"TableName", options_.table},
                                        {"Key", key_of(s_or(item, "PK"), s_or(item, "SK"))}});
            ++pruned;
        }
    }
    Item m = key_of(kSamplesMarkerPk, kSamplesMarkerSk);
    m["day"] = N(last_day);
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", m}});
    return pruned;
}

}  // namespace broker
