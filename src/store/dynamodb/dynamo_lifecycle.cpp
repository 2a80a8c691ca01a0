// DynamoStore's lifecycle maintenance (expiry, claimed deletion, stale and bulk removal) and
// job state. Each change is a conditional write of one item; see dynamo_store.hpp.
#include <algorithm>
#include <map>
#include <stdexcept>

#include "core/errors.hpp"
#include "store/dynamodb/dynamo_store.hpp"

namespace broker {

using namespace ddb;
using nlohmann::json;

namespace {

// A broker item that outlives its purpose (a claim of a sandbox gone by other means) is
// removed by DynamoDB's time-to-live after this long.
constexpr UnixSeconds kBrokerItemTtl = 30 * 24 * 3600;

constexpr const char* kExpiryReason = "lease expired (lab duration + grace)";

struct DeletionState {
    std::string worker;
    UnixSeconds claim_until = 0;
    UnixSeconds next_attempt_at = 0;
};

JobState job_state_from_item(const Item& item) {
    JobState s;
    s.job = s_or(item, "job");
    s.paused = get_bool(item, "paused").value_or(false);
    s.run_requested = get_bool(item, "run_requested").value_or(false);
    s.holder = s_or(item, "holder");
    s.lease_until = n_or(item, "lease_until");
    s.next_run_at = n_or(item, "next_run_at");
    s.last_started_at = get_n(item, "last_started_at");
    s.last_finished_at = get_n(item, "last_finished_at");
    s.last_result = s_or(item, "last_result");
    s.last_ok = get_bool(item, "last_ok").value_or(true);
    s.progress = s_or(item, "progress");
    return s;
}

JobRun job_run_from_item(const Item& item) {
    JobRun r;
    r.id = n_or(item, "run_id");
    r.job = s_or(item, "job");
    const std::string status = s_or(item, "run_status");
    r.status = status == "finished"  ? JobRunStatus::finished
               : status == "running" ? JobRunStatus::running
                                     : JobRunStatus::queued;
    r.requested_at = n_or(item, "requested_at");
    r.started_at = get_n(item, "started_at");
    r.finished_at = get_n(item, "finished_at");
    r.holder = s_or(item, "holder");
    r.progress = s_or(item, "progress");
    r.ok = get_bool(item, "ok").value_or(true);
    r.result = s_or(item, "run_result");
    return r;
}

Item job_key(const std::string& job) {
    return key_of("BROKER#JOBS", "JOB#" + job);
}
Item run_key(const std::string& job, std::int64_t id) {
    return key_of(job_runs_pk(job), "RUN#" + padded(id));
}

// The attributes a job item has from its first write on, whichever call creates it.
constexpr const char* kJobDefaults =
    "job = if_not_exists(job, :job), paused = if_not_exists(paused, :false), "
    "run_requested = if_not_exists(run_requested, :false), holder = if_not_exists(holder, :empty), "
    "lease_until = if_not_exists(lease_until, :zero), next_run_at = if_not_exists(next_run_at, :zero), "
    "last_result = if_not_exists(last_result, :empty), last_ok = if_not_exists(last_ok, :true), "
    "progress = if_not_exists(progress, :empty)";

json job_default_values(const std::string& job) {
    return {
        {":job", S(job)}, {":false", BOOL(false)}, {":true", BOOL(true)}, {":empty", S("")}, {":zero", N(0)}};
}

}  // namespace

std::vector<Sandbox> DynamoStore::expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) {
    if (limit <= 0) return {};
    // The status index's sort key is allocated_at: the candidates are one range, oldest first,
    // those allocated at least lab duration + grace ago (an extension only lengthens a lease).
    // Each one's own expires_at (allocated_at + its lab_duration_hours, which an extension
    // moves) decides, and the change is conditional on the duration read, so a lease extended
    // meanwhile (the index lags, or the extension came after the read) is left alone.
    const UnixSeconds cutoff = lease.allocated_before_is_expired(now);
    std::vector<Sandbox> moved;
    json request = {
        {"TableName", options_.table},
        {"IndexName", options_.status_index},
        {"KeyConditionExpression", "#s = :s AND allocated_at BETWEEN :one AND :cutoff"},
        {"ExpressionAttributeNames", {{"#s", "status"}}},
        {"ExpressionAttributeValues", {{":s", S("allocated")}, {":one", N(1)}, {":cutoff", N(cutoff)}}},
        {"Limit", limit}};
    for (;;) {
        json answer = client_.must("Query", request);
        for (const auto& item : answer["Items"]) {
            const Sandbox s = sandbox_from_item(item);
            if (!lease.is_expired(s, now)) continue;  // extended past now - grace
            json values = {{":pending", S("pending_deletion")},
                           {":alloc", S("allocated")},
                           {":now", N(now)},
                           {":at", N(s.allocated_at.value_or(0))},
                           {":p", S(s.allocated_to_track)}};
            std::string condition = "#s = :alloc AND allocated_at = :at AND allocated_to_track = :p AND ";
            if (item.contains("lab_duration_hours")) {
                condition += "lab_duration_hours = :hours";
                values[":hours"] = item.at("lab_duration_hours");
            } else {
                condition += "attribute_not_exists(lab_duration_hours)";
            }
            const auto carried = intend_event(s.sandbox_id, now, SandboxStatus::allocated,
                                              SandboxStatus::pending_deletion, "auto_expiry", kExpiryReason);
            json request = {
                {"Key", key_of(sandbox_pk(s.sandbox_id), kSandboxSort)},
                {"UpdateExpression", "SET #s = :pending, deletion_requested_at = :now, updated_at = :now"},
                {"ConditionExpression", condition},
                {"ExpressionAttributeNames", {{"#s", "status"}}},
                {"ExpressionAttributeValues", values},
                {"ReturnValues", "ALL_NEW"}};
            carry(request, carried);
            DynamoReply reply = write("UpdateItem", request, [&](const Item* found) {
                return found && s_or(*found, "status") == "pending_deletion" &&
                       n_or(*found, "deletion_requested_at") == now &&
                       n_or(*found, "allocated_at") == s.allocated_at.value_or(0);
            });
            if (reply.is("ConditionalCheckFailedException")) {
                drop_intent(carried);
                continue;
            }
            if (!reply.ok())
                throw StoreUnavailable("DynamoDB UpdateItem (expire) failed: " + reply.error_type);
            moved.push_back(sandbox_from_item(reply.body["Attributes"]));
            record(s.sandbox_id, now, SandboxStatus::allocated, SandboxStatus::pending_deletion,
                   "auto_expiry", kExpiryReason, carried, &reply.body["Attributes"]);
            if (static_cast<int>(moved.size()) == limit) return moved;
        }
        if (!answer.contains("LastEvaluatedKey")) return moved;
        request["ExclusiveStartKey"] = std::move(answer["LastEvaluatedKey"]);
    }
}

std::vector<Sandbox> DynamoStore::claim_for_deletion(const DeletionClaim& claim) {
    if (claim.limit <= 0 || claim.worker_id.empty()) return {};
    // Candidates from the index, their claim items read strongly consistent, then each due
    // one claimed by a conditional write of its claim item.
    struct Candidate {
        Sandbox sandbox;
        int kind = 0;  // 0 returned, 1 failed (slow retry)
        UnixSeconds due_at = 0;
    };
    std::vector<Candidate> candidates;
    for (const SandboxStatus status : {SandboxStatus::pending_deletion, SandboxStatus::deletion_failed}) {
        for (const auto& item : by_status(status)) {
            Candidate c{sandbox_from_item(item), status == SandboxStatus::pending_deletion ? 0 : 1, 0};
            c.due_at = c.sandbox.deletion_requested_at.value_or(0);
            candidates.push_back(std::move(c));
        }
    }
    std::vector<Item> keys;
    for (const auto& c : candidates) keys.push_back(key_of(deletion_pk(c.sandbox.sandbox_id), "CLAIM"));
    std::map<std::string, DeletionState> states;
    for (const auto& item : batch_get(keys)) {
        const std::string pk = s_or(item, "PK");
        states[pk.substr(4)] = {s_or(item, "worker"), n_or(item, "claim_until"),
                                n_or(item, "next_attempt_at")};
    }
    std::vector<Candidate> due;
    for (auto& c : candidates) {
        const auto st = states.find(c.sandbox.sandbox_id);
        const DeletionState state = st == states.end() ? DeletionState{} : st->second;
        if (state.claim_until > claim.now || state.next_attempt_at > claim.now) continue;
        if (c.kind == 1) c.due_at = state.next_attempt_at;
        due.push_back(std::move(c));
    }
    std::sort(due.begin(), due.end(), [](const Candidate& a, const Candidate& b) {
        return std::tie(a.kind, a.due_at, a.sandbox.sandbox_id) <
               std::tie(b.kind, b.due_at, b.sandbox.sandbox_id);
    });
    std::vector<Sandbox> claimed;
    for (auto& c : due) {
        if (static_cast<int>(claimed.size()) == claim.limit) break;
        const std::string& id = c.sandbox.sandbox_id;
        if (!conditional("UpdateItem",
                         {{"Key", key_of(deletion_pk(id), "CLAIM")},
                          {"UpdateExpression",
                           "SET worker = :w, claim_until = :until, sandbox_id = :id, #ttl = :ttl, "
                           "next_attempt_at = if_not_exists(next_attempt_at, :zero)"},
                          {"ConditionExpression",
                           "attribute_not_exists(PK) OR (claim_until <= :now AND next_attempt_at <= :now)"},
                          {"ExpressionAttributeNames", {{"#ttl", "ttl"}}},
                          {"ExpressionAttributeValues",
                           {{":w", S(claim.worker_id)},
                            {":until", N(claim.lease_until)},
                            {":id", S(id)},
                            {":ttl", N(claim.now + kBrokerItemTtl)},
                            {":zero", N(0)},
                            {":now", N(claim.now)}}}},
                         [&](const Item* item) {
                             return item && s_or(*item, "worker") == claim.worker_id &&
                                    n_or(*item, "claim_until") == claim.lease_until;
                         })) {
            continue;  // another worker claimed it first
        }
        // The index may lag: the sandbox itself must still be due for deletion.
        auto now_item = get(id);
        if (!now_item || (now_item->status != SandboxStatus::pending_deletion &&
                          now_item->status != SandboxStatus::deletion_failed)) {
            release_deletion_claims(std::span<const std::string>(&id, 1), claim.worker_id, claim.now);
            continue;
        }
        claimed.push_back(std::move(*now_item));
    }
    return claimed;
}

bool DynamoStore::record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                                 DeletedHow how) {
    if (!is_valid_utf8(sandbox_id) || sandbox_id.empty()) return false;
    // The status before is known only from the answer: the carried event has none (a relay
    // settling it takes the history's).
    const std::string reason(deleted_reason(how));
    const auto carried = intend_event(sandbox_id, now, std::nullopt, SandboxStatus::deleted, actor, reason);
    json request = {{"Key", key_of(sandbox_pk(sandbox_id), kSandboxSort)},
                    {"UpdateExpression", "SET #s = :deleted, deleted_at = :now, updated_at = :now"},
                    {"ConditionExpression", "#s IN (:pending, :failed)"},
                    {"ExpressionAttributeNames", {{"#s", "status"}}},
                    {"ExpressionAttributeValues",
                     {{":deleted", S("deleted")},
                      {":pending", S("pending_deletion")},
                      {":failed", S("deletion_failed")},
                      {":now", N(now)}}},
                    {"ReturnValues", "ALL_OLD"}};
    carry(request, carried);
    DynamoReply reply = write("UpdateItem", request, [&](const Item* item) {
        return item && s_or(*item, "status") == "deleted" && n_or(*item, "deleted_at") == now;
    });
    if (reply.is("ConditionalCheckFailedException")) {
        drop_intent(carried);
        return false;
    }
    if (!reply.ok()) throw StoreUnavailable("DynamoDB UpdateItem (deleted) failed: " + reply.error_type);
    // The status before (ALL_OLD). After a lost answer only the item as written is known: the
    // status before is the one its last history event left.
    auto from = parse_status(s_or(reply.body["Attributes"], "status"));
    if (from == SandboxStatus::deleted) {
        const auto events = history(sandbox_id);
        from = events.empty() ? std::nullopt : events.back().to;
    }
    record(sandbox_id, now, from, SandboxStatus::deleted, actor, reason, carried);
    // The claim item is done with; a crash before this leaves it to its time-to-live.
    client_.must("DeleteItem",
                 {{"TableName", options_.table}, {"Key", key_of(deletion_pk(sandbox_id), "CLAIM")}});
    return true;
}

bool DynamoStore::record_deletion_failure(const DeletionFailure& f) {
    if (f.worker_id.empty() || !is_valid_utf8(f.sandbox_id) || f.sandbox_id.empty()) return false;
    // 1. Only the claim's holder records: the claim goes, the next attempt is scheduled.
    if (!conditional("UpdateItem",
                     {{"Key", key_of(deletion_pk(f.sandbox_id), "CLAIM")},
                      {"UpdateExpression",
                       "SET worker = :empty, claim_until = :zero, next_attempt_at = :next, "
                       "last_error = :reason"},
                      {"ConditionExpression", "worker = :w"},
                      {"ExpressionAttributeValues",
                       {{":empty", S("")},
                        {":zero", N(0)},
                        {":next", N(f.next_attempt_at)},
                        {":reason", S(f.reason)},
                        {":w", S(f.worker_id)}}}},
                     [&](const Item* item) {
                         return item && s_or(*item, "worker").empty() && n_or(*item, "claim_until") == 0 &&
                                n_or(*item, "next_attempt_at") == f.next_attempt_at &&
                                s_or(*item, "last_error") == f.reason;
                     })) {
        return false;
    }
    // 2. The attempt counts on the sandbox (the original's deletion_retry_count), as a change
    //    from the count read: a retried increment whose first answer was lost counts once.
    const std::optional<Sandbox> before = get(f.sandbox_id);
    if (!before) return false;
    const std::int64_t counted = before->deletion_retry_count + 1;
    DynamoReply reply =
        write("UpdateItem",
              {{"Key", key_of(sandbox_pk(f.sandbox_id), kSandboxSort)},
               {"UpdateExpression", "SET deletion_retry_count = :counted, updated_at = :now"},
               {"ConditionExpression", "#s IN (:pending, :failed) AND deletion_retry_count = :seen"},
               {"ExpressionAttributeNames", {{"#s", "status"}}},
               {"ExpressionAttributeValues",
                {{":counted", N(counted)},
                 {":seen", N(before->deletion_retry_count)},
                 {":now", N(f.now)},
                 {":pending", S("pending_deletion")},
                 {":failed", S("deletion_failed")}}},
               {"ReturnValues", "ALL_NEW"}},
              [&](const Item* item) {
                  return item && n_or(*item, "deletion_retry_count") == counted &&
                         n_or(*item, "updated_at") == f.now;
              });
    if (reply.is("ConditionalCheckFailedException")) return false;
    if (!reply.ok()) throw StoreUnavailable("DynamoDB UpdateItem (failure) failed: " + reply.error_type);
    const Sandbox s = sandbox_from_item(reply.body["Attributes"]);
    // 3. The attempt that reaches the limit moves it to the slow retries. A crash before this
    //    leaves the count reached: the next failure moves it.
    if (s.status == SandboxStatus::pending_deletion && s.deletion_retry_count >= f.max_attempts) {
        const std::string reason = "attempt " + std::to_string(s.deletion_retry_count) + " failed (" +
                                   f.worker_id + "): " + f.reason;
        const auto carried = intend_event(f.sandbox_id, f.now, SandboxStatus::pending_deletion,
                                          SandboxStatus::deletion_failed, "cleanup", reason);
        json request = {{"Key", key_of(sandbox_pk(f.sandbox_id), kSandboxSort)},
                        {"UpdateExpression", "SET #s = :failed"},
                        {"ConditionExpression", "#s = :pending"},
                        {"ExpressionAttributeNames", {{"#s", "status"}}},
                        {"ExpressionAttributeValues",
                         {{":failed", S("deletion_failed")}, {":pending", S("pending_deletion")}}},
                        {"ReturnValues", "ALL_NEW"}};
        carry(request, carried);
        DynamoReply moved = write("UpdateItem", request);
        if (moved.ok()) {
            record(f.sandbox_id, f.now, SandboxStatus::pending_deletion, SandboxStatus::deletion_failed,
                   "cleanup", reason, carried, &moved.body["Attributes"]);
        } else if (moved.is("ConditionalCheckFailedException")) {
            drop_intent(carried);
        } else {
            throw StoreUnavailable("DynamoDB UpdateItem (deletion failed) failed: " + moved.error_type);
        }
    }
    return true;
}

std::int64_t DynamoStore::renew_deletion_claims(std::span<const std::string> sandbox_ids,
                                                const std::string& worker_id, UnixSeconds now,
                                                UnixSeconds lease_until) {
    if (worker_id.empty()) return 0;
    std::int64_t held = 0;
    for (const auto& id : sandbox_ids) {
        if (!is_valid_utf8(id) || id.empty()) continue;
        held +=
            conditional("UpdateItem",
                        {{"Key", key_of(deletion_pk(id), "CLAIM")},
                         {"UpdateExpression", "SET claim_until = :until"},
                         {"ConditionExpression", "worker = :w"},
                         {"ExpressionAttributeValues", {{":until", N(lease_until)}, {":w", S(worker_id)}}}});
    }
    return held;
}

std::int64_t DynamoStore::release_deletion_claims(std::span<const std::string> sandbox_ids,
                                                  const std::string& worker_id, UnixSeconds) {
    if (worker_id.empty()) return 0;
    std::int64_t held = 0;
    for (const auto& id : sandbox_ids) {
        if (!is_valid_utf8(id) || id.empty()) continue;
        held += conditional("UpdateItem", {{"Key", key_of(deletion_pk(id), "CLAIM")},
                                           {"UpdateExpression", "SET worker = :empty, claim_until = :zero"},
                                           {"ConditionExpression", "worker = :w"},
                                           {"ExpressionAttributeValues",
                                            {{":empty", S("")}, {":zero", N(0)}, {":w", S(worker_id)}}}});
    }
    return held;
}

std::int64_t DynamoStore::remove_stale(UnixSeconds stale_before, UnixSeconds now, const std::string& actor) {
    // A stale item is written by nothing but the sync that made it stale: its updated_at is
    // when it became stale.
    std::int64_t removed = 0;
    for (const auto& item : by_status(SandboxStatus::stale)) {
        const Sandbox s = sandbox_from_item(item);
        if (s.updated_at >= stale_before) continue;
        if (conditional("DeleteItem",
                        {{"Key", key_of(sandbox_pk(s.sandbox_id), kSandboxSort)},
                         {"ConditionExpression", "#s = :stale AND updated_at = :u"},
                         {"ExpressionAttributeNames", {{"#s", "status"}}},
                         {"ExpressionAttributeValues", {{":stale", S("stale")}, {":u", N(s.updated_at)}}}})) {
            ++removed;
            // A removal has no event.
            record(s.sandbox_id, now, SandboxStatus::stale, std::nullopt, actor,
                   "stale past the grace period", std::nullopt);
        }
    }
    return removed;
}

std::int64_t DynamoStore::bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) {
    if (status == SandboxStatus::allocated)
        throw std::invalid_argument("bulk_remove refuses allocated sandboxes");
    std::int64_t removed = 0;
    for (const auto& item : by_status(status)) {
        const std::string id = s_or(item, "sandbox_id");
        if (conditional("DeleteItem", {{"Key", key_of(sandbox_pk(id), kSandboxSort)},
                                       {"ConditionExpression", "#s = :s"},
                                       {"ExpressionAttributeNames", {{"#s", "status"}}},
                                       {"ExpressionAttributeValues", {{":s", S(to_string(status))}}}})) {
            ++removed;
            record(id, now, status, std::nullopt, actor, "bulk remove", std::nullopt);
        }
    }
    return removed;
}

// ---- job state ----

std::vector<JobRun> DynamoStore::runs_of(const std::string& job) {
    std::vector<JobRun> runs;
    for (const auto& item : query_all({{"KeyConditionExpression", "PK = :pk"},
                                       {"ExpressionAttributeValues", {{":pk", S(job_runs_pk(job))}}},
                                       {"ConsistentRead", true}})) {
        runs.push_back(job_run_from_item(item));
    }
    return runs;
}

bool DynamoStore::try_start_job(const JobStartRequest& r) {
    json values = job_default_values(r.job);
    values.erase(":zero");
    values[":h"] = S(r.holder);
    values[":lease"] = N(r.now + r.lease_sec);
    values[":now"] = N(r.now);
    values[":next"] = N(r.now + r.interval_sec);
    const bool started = conditional(
        "UpdateItem",
        {{"Key", job_key(r.job)},
         {"UpdateExpression",
          "SET job = :job, holder = :h, lease_until = :lease, last_started_at = :now, next_run_at = :next, "
          "run_requested = :false, progress = :empty, paused = if_not_exists(paused, :false), "
          "last_result = if_not_exists(last_result, :empty), last_ok = if_not_exists(last_ok, :true)"},
         {"ConditionExpression",
          "attribute_not_exists(PK) OR (paused = :false AND (holder = :empty OR lease_until <= :now) AND "
          "(next_run_at <= :now OR run_requested = :true OR holder <> :empty))"},
         {"ExpressionAttributeValues", values}},
        [&](const Item* item) {
            return item && s_or(*item, "holder") == r.holder && n_or(*item, "last_started_at") == r.now &&
                   n_or(*item, "lease_until") == r.now + r.lease_sec;
        });
    if (!started) return false;
    // Adopt the job's requested runs. A crash before this leaves them queued: the next
    // start adopts them.
    for (const auto& run : runs_of(r.job)) {
        if (run.status == JobRunStatus::finished ||
            (run.status == JobRunStatus::running && run.holder == r.holder))
            continue;
        conditional("UpdateItem",
                    {{"Key", run_key(r.job, run.id)},
                     {"UpdateExpression",
                      "SET run_status = :running, holder = :h, started_at = :now, progress = :empty"},
                     {"ConditionExpression", "run_status IN (:queued, :running) AND holder = :old"},
                     {"ExpressionAttributeValues",
                      {{":running", S("running")},
                       {":queued", S("queued")},
                       {":h", S(r.holder)},
                       {":old", S(run.holder)},
                       {":now", N(r.now)},
                       {":empty", S("")}}}});
    }
    return true;
}

bool DynamoStore::renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds,
                                  UnixSeconds lease_until, const std::string& progress) {
    if (holder.empty()) return false;
    if (!conditional("UpdateItem",
                     {{"Key", job_key(job)},
                      {"UpdateExpression", "SET lease_until = :until, progress = :p"},
                      {"ConditionExpression", "holder = :h"},
                      {"ExpressionAttributeValues",
                       {{":until", N(lease_until)}, {":p", S(progress)}, {":h", S(holder)}}}})) {
        return false;
    }
    for (const auto& run : runs_of(job)) {
        if (run.status != JobRunStatus::running || run.holder != holder) continue;
        conditional("UpdateItem", {{"Key", run_key(job, run.id)},
                                   {"UpdateExpression", "SET progress = :p"},
                                   {"ConditionExpression", "run_status = :running AND holder = :h"},
                                   {"ExpressionAttributeValues",
                                    {{":p", S(progress)}, {":running", S("running")}, {":h", S(holder)}}}});
    }
    return true;
}

bool DynamoStore::finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                             const std::string& result) {
    if (holder.empty()) return false;
    const std::vector<JobRun> runs = runs_of(job);
    const bool queued = std::any_of(runs.begin(), runs.end(),
                                    [](const JobRun& r) { return r.status == JobRunStatus::queued; });
    // A run requested after this read sets run_requested itself: finishing only ever sets it.
    std::string update =
        "SET holder = :empty, lease_until = :zero, last_finished_at = :now, last_ok = :ok, last_result = :r, "
        "progress = :empty";
    json values = {{":empty", S("")}, {":zero", N(0)},   {":now", N(now)},
                   {":ok", BOOL(ok)}, {":r", S(result)}, {":h", S(holder)}};
    if (queued) {
        update += ", run_requested = :true";
        values[":true"] = BOOL(true);
    }
    if (!conditional("UpdateItem", {{"Key", job_key(job)},
                                    {"UpdateExpression", update},
                                    {"ConditionExpression", "holder = :h"},
                                    {"ExpressionAttributeValues", values}})) {
        return false;
    }
    for (const auto& run : runs) {
        if (run.status != JobRunStatus::running || run.holder != holder) continue;
        conditional("UpdateItem",
                    {{"Key", run_key(job, run.id)},
                     {"UpdateExpression",
                      "SET run_status = :finished, finished_at = :now, ok = :ok, run_result = :r, "
                      "progress = :empty"},
                     {"ConditionExpression", "run_status = :running AND holder = :h"},
                     {"ExpressionAttributeValues",
                      {{":finished", S("finished")},
                       {":running", S("running")},
                       {":now", N(now)},
                       {":ok", BOOL(ok)},
                       {":r", S(result)},
                       {":empty", S("")},
                       {":h", S(holder)}}}});
    }
    return true;
}

void DynamoStore::set_job_paused(const std::string& job, bool paused, UnixSeconds) {
    json values = job_default_values(job);
    values[":paused"] = BOOL(paused);
    std::string defaults = kJobDefaults;
    defaults.replace(defaults.find("paused = if_not_exists(paused, :false)"),
                     std::string("paused = if_not_exists(paused, :false)").size(), "paused = :paused");
    client_.must("UpdateItem", {{"TableName", options_.table},
                                {"Key", job_key(job)},
                                {"UpdateExpression", "SET " + defaults},
                                {"ExpressionAttributeValues", values}});
}

std::int64_t DynamoStore::request_job_run(const std::string& job, UnixSeconds now) {
    // 1. An id unique across jobs (a counter item); 2. the queued run; 3. the job asked to run.
    json counter = client_.must("UpdateItem", {{"TableName", options_.table},
                                               {"Key", key_of("BROKER#COUNTER", "JOBRUN")},
                                               {"UpdateExpression", "ADD next_id :one"},
                                               {"ExpressionAttributeValues", {{":one", N(1)}}},
                                               {"ReturnValues", "UPDATED_NEW"}});
    const std::int64_t id = n_or(counter["Attributes"], "next_id");
    Item run = run_key(job, id);
    run["job"] = S(job);
    run["run_id"] = N(id);
    run["run_status"] = S("queued");
    run["requested_at"] = N(now);
    run["holder"] = S("");
    run["progress"] = S("");
    run["ok"] = BOOL(true);
    run["run_result"] = S("");
    client_.must("PutItem", {{"TableName", options_.table}, {"Item", run}});
    json values = job_default_values(job);
    std::string defaults = kJobDefaults;
    defaults.replace(defaults.find("run_requested = if_not_exists(run_requested, :false)"),
                     std::string("run_requested = if_not_exists(run_requested, :false)").size(),
                     "run_requested = :true");
    client_.must("UpdateItem", {{"TableName", options_.table},
                                {"Key", job_key(job)},
                                {"UpdateExpression", "SET " + defaults},
                                {"ExpressionAttributeValues", values}});
    // Keep the newest kJobRunHistory runs; forget the oldest finished ones.
    std::vector<JobRun> runs = runs_of(job);
    std::sort(runs.begin(), runs.end(), [](const JobRun& a, const JobRun& b) { return a.id > b.id; });
    for (std::size_t i = static_cast<std::size_t>(kJobRunHistory); i < runs.size(); ++i) {
        if (runs[i].status != JobRunStatus::finished) continue;
        conditional("DeleteItem", {{"Key", run_key(job, runs[i].id)},
                                   {"ConditionExpression", "run_status = :finished"},
                                   {"ExpressionAttributeValues", {{":finished", S("finished")}}}});
    }
    return id;
}

std::optional<JobRun> DynamoStore::job_run(const std::string& job, std::int64_t run_id) {
    if (!is_valid_utf8(job) || job.empty()) return std::nullopt;
    auto item = get_item(job_runs_pk(job), "RUN#" + padded(run_id));
    if (!item) return std::nullopt;
    return job_run_from_item(*item);
}

std::vector<JobState> DynamoStore::job_states() {
    std::vector<JobState> states;
    for (const auto& item :
         query_all({{"KeyConditionExpression", "PK = :pk AND begins_with(SK, :job)"},
                    {"ExpressionAttributeValues", {{":pk", S("BROKER#JOBS")}, {":job", S("JOB#")}}},
                    {"ConsistentRead", true}})) {
        states.push_back(job_state_from_item(item));
    }
    std::sort(states.begin(), states.end(),
              [](const JobState& a, const JobState& b) { return a.job < b.job; });
    return states;
}

}  // namespace broker
