// The DynamoDB store on the original service's table: items in the original's shape are
// served, the items the broker leaves keep that shape, allocations made before the switch
// keep their owner, the table's layout is checked, a crash between the steps of an
// allocation is repaired by the next request, and a change's event rides on the change's own
// write: a crash at any step between the two neither loses nor doubles it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/errors.hpp"
#include "dynamo_harness.hpp"
#include "sync_pass.hpp"

namespace broker::testing {
namespace {

using ddb::N;
using ddb::S;
using nlohmann::json;

constexpr UnixSeconds kNow = 1'700'000'000;

class DynamoStoreTest : public DynamoTableTest {
  protected:
    void put(const json& item) {
        table_->client().must("PutItem", {{"TableName", table_->name()}, {"Item", item}});
    }

    // An item as the original service writes it.
    static json old_item(const std::string& id, const std::string& status, UnixSeconds allocated_at = 0) {
        return {{"PK", S("SBX#" + id)},
                {"SK", S("META")},
                {"sandbox_id", S(id)},
                {"name", S("lab-" + id)},
                {"external_id", S("identity/accounts/" + id)},
                {"status", S(status)},
                {"lab_duration_hours", N(4)},
                {"deletion_retry_count", N(0)},
                {"allocated_at", N(allocated_at)},
                {"created_at", N(kNow - 86400)},
                {"updated_at", N(kNow - 86400)},
                {"last_synced", N(kNow - 600)}};
    }
};

// The attributes (and their types) the original's sandbox items may have: nothing else.
const std::map<std::string, std::string>& layout_attributes() {
    static const std::map<std::string, std::string> layout = {{"PK", "S"},
                                                              {"SK", "S"},
                                                              {"sandbox_id", "S"},
                                                              {"name", "S"},
                                                              {"external_id", "S"},
                                                              {"status", "S"},
                                                              {"lab_duration_hours", "N"},
                                                              {"deletion_retry_count", "N"},
                                                              {"allocated_at", "N"},
                                                              {"allocated_to_track", "S"},
                                                              {"track_name", "S"},
                                                              {"idempotency_key", "S"},
                                                              {"deletion_requested_at", "N"},
                                                              {"last_synced", "N"},
                                                              {"created_at", "N"},
                                                              {"updated_at", "N"},
                                                              {"niosxaas_cleaned_at", "N"},
                                                              {"niosxaas_cleanup_skipped", "BOOL"},
                                                              {"niosxaas_cleanup_failed_reason", "S"},
                                                              {"deleted_at", "N"},
                                                              {"sfdc_account_id", "S"}};
    return layout;
}

TEST_F(DynamoStoreTest, ServesTheOriginalServicesItemsAndLeavesThemInTheirShape) {
    store_->migrate();
    for (const char* id : {"100", "101", "102"}) put(old_item(id, "available"));
    json held = old_item("200", "allocated", kNow - 3600);
    held["allocated_to_track"] = S("participant-old");
    held["idempotency_key"] = S("participant-old");
    held["track_name"] = S("old-track");
    held["sfdc_account_id"] = S("0015g00000XyZ");
    put(held);
    json returned = old_item("300", "pending_deletion", kNow - 7200);
    returned["allocated_to_track"] = S("someone");
    returned["deletion_requested_at"] = N(kNow - 100);
    put(returned);
    // The switch: migrate on the table as it is (the release before the maintained counts
    // left it at version 1) gives the old allocation its claim and counts the sandboxes.
    table_->put_schema_item(1, 1);
    EXPECT_EQ(store_->migrate().from_version, 1);

    auto counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 3);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 1);

    // The participant that held one before the switch keeps it, with its fields.
    auto mine = store_->allocate(request("participant-old"));
    ASSERT_EQ(mine.outcome, AllocateOutcome::existing);
    EXPECT_EQ(mine.sandbox->sandbox_id, "200");
    EXPECT_EQ(mine.sandbox->track_name, "old-track");
    EXPECT_EQ(mine.sandbox->sfdc_account_id, "0015g00000XyZ");
    EXPECT_EQ(mine.sandbox->expires_at, kNow - 3600 + 4 * 3600);

    auto fresh = store_->allocate(request("participant-new"));
    ASSERT_EQ(fresh.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(fresh.sandbox->name.rfind("lab-10", 0), 0u);
    auto repeat = store_->allocate(request("participant-new", kNow + 5));
    ASSERT_EQ(repeat.outcome, AllocateOutcome::existing);
    EXPECT_EQ(repeat.sandbox->sandbox_id, fresh.sandbox->sandbox_id);
    EXPECT_EQ(store_->mark_for_deletion({"200", "participant-old", kNow, request("x").lease}).outcome,
              MarkOutcome::marked);

    counts = store_->count_by_status();
    EXPECT_EQ(counts[SandboxStatus::available], 2);
    EXPECT_EQ(counts[SandboxStatus::allocated], 1);
    EXPECT_EQ(counts[SandboxStatus::pending_deletion], 2);

    // Sync inserts one, a claim and a deletion run: every item kind the broker writes.
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"400", "lab-400", "identity/accounts/400", ""}}, kNow);
    auto claimed = store_->claim_for_deletion({"w", kNow, kNow + 60, 10});
    ASSERT_EQ(claimed.size(), 2u);
    EXPECT_TRUE(store_->record_deleted(claimed[0].sandbox_id, "cleanup", kNow + 1));
    EXPECT_TRUE(store_->try_start_job({"sync", "w", kNow, 60, 60}));
    // The events ride on the sandbox items until the relay moves them (any reader's read).
    EXPECT_FALSE(store_->read_events(0, 100).empty());

    int sandboxes = 0;
    for (const auto& item : scan_all()) {
        const std::string pk = item["PK"]["S"];
        if (pk.rfind("SBX#", 0) != 0) {
            // Broker items stay out of the original's indexes.
            for (const char* attribute : {"status", "allocated_to_track", "idempotency_key"}) {
                EXPECT_FALSE(item.contains(attribute)) << pk << " carries " << attribute;
            }
            continue;
        }
        ++sandboxes;
        for (const auto& [name, value] : item.items()) {
            const auto expected = layout_attributes().find(name);
            ASSERT_NE(expected, layout_attributes().end()) << pk << " has attribute " << name;
            EXPECT_TRUE(value.contains(expected->second)) << pk << "." << name << " is " << value.dump();
        }
        for (const char* always : {"PK", "SK", "sandbox_id", "name", "external_id", "status",
                                   "lab_duration_hours", "deletion_retry_count", "allocated_at"}) {
            EXPECT_TRUE(item.contains(always)) << pk << " lacks " << always;
        }
        EXPECT_EQ(item["SK"]["S"], "META");
        const bool available = item["status"]["S"] == "available";
        EXPECT_EQ(item["allocated_at"]["N"] == "0", available) << pk;
        if (available) {
            EXPECT_FALSE(item.contains("allocated_to_track")) << pk;
        }
    }
    EXPECT_EQ(sandboxes, 6);
}

TEST_F(DynamoStoreTest, ACrashBetweenTheSlotAndTheTakeIsRepairedByTheNextRequest) {
    store_->migrate();
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}, {"2", "b", "e/2", ""}}, kNow - 60);
    // What a process leaves when it dies right after writing the participant's slot: the
    // slot names sandbox 1, which it never took.
    put({{"PK", S("PART#p1")},
         {"SK", S("SLOT#0")},
         {"sandbox", S("1")},
         {"ikey", S("p1")},
         {"claim_token", S("dead-process")},
         {"taken_at", N(kNow)}});
    // Sandbox 1 is still free for everyone else.
    auto other = store_->allocate(request("p2"));
    ASSERT_EQ(other.outcome, AllocateOutcome::allocated);
    // Once the slot is older than the timeout, p1's next request clears it and allocates.
    auto r = store_->allocate(request("p1", kNow + kDynamoSlotTimeout));
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    EXPECT_NE(r.sandbox->sandbox_id, other.sandbox->sandbox_id);
    EXPECT_EQ(store_->allocate(request("p1", kNow + kDynamoSlotTimeout + 1)).outcome,
              AllocateOutcome::existing);
}

// While a reservation's window is open, a take stands only once it passes the gate, and one
// that cannot pass is given back. A request that finds no available sandbox meanwhile waits
// for such a take in doubt instead of answering that none is left; a crashed taker's entry
// (older than the slot timeout) delays nothing and is removed.
TEST_F(DynamoStoreTest, AnEmptyPoolAnswerWaitsForATakeInDoubt) {
    store_->migrate();
    store_->upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}}, kNow - 60);
    Reservation reservation;
    reservation.id = "res-1";
    reservation.track = "class";
    reservation.count = 1;
    reservation.starts_at = kNow - 60;
    reservation.ends_at = kNow + 3600;
    reservation.created_at = kNow - 120;
    store_->create_reservation(reservation);
    const auto set_status = [&](const char* status) {
        table_->client().must("UpdateItem", {{"TableName", table_->name()},
                                             {"Key", ddb::key_of("SBX#1", "META")},
                                             {"UpdateExpression", "SET #s = :s"},
                                             {"ExpressionAttributeNames", {{"#s", "status"}}},
                                             {"ExpressionAttributeValues", {{":s", S(status)}}}});
    };
    const auto doubt_entries = [&] {
        std::set<std::string> entries;
        for (const auto& item : scan_all())
            if (item["PK"]["S"] == "QUOTA#DOUBT") entries.insert(item["SK"]["S"].get<std::string>());
        return entries;
    };
    // Another process's round under the gate: its entry, then its take of the only sandbox.
    const std::string entry = std::to_string(kNow) + "#other-process";
    put({{"PK", S("QUOTA#DOUBT")}, {"SK", S(entry)}});
    set_status("allocated");
    std::atomic<bool> given_back{false};
    std::jthread other([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        // It could not pass the gate: the sandbox back, then the entry gone.
        set_status("available");
        given_back = true;
        table_->client().must("DeleteItem",
                              {{"TableName", table_->name()}, {"Key", ddb::key_of("QUOTA#DOUBT", entry)}});
    });
    AllocateRequest r = request("p1");
    r.track_name = "class";
    const auto result = store_->allocate(r);
    ASSERT_EQ(result.outcome, AllocateOutcome::allocated) << "answered before the take in doubt settled";
    EXPECT_TRUE(given_back.load());
    EXPECT_EQ(result.sandbox->sandbox_id, "1");
    other.join();
    EXPECT_TRUE(doubt_entries().empty()) << "the request's own round left the list";

    // A crashed taker's entry: the empty pool is answered, and the entry removed.
    const std::string dead = std::to_string(kNow - kDynamoSlotTimeout) + "#dead-process";
    put({{"PK", S("QUOTA#DOUBT")}, {"SK", S(dead)}});
    AllocateRequest late = request("p2");
    late.track_name = "class";
    EXPECT_EQ(store_->allocate(late).outcome, AllocateOutcome::pool_empty);
    EXPECT_TRUE(doubt_entries().empty());
}

TEST_F(DynamoStoreTest, ACrashAfterTheTakeLeavesAValidHolding) {
    store_->migrate();
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}, {"2", "b", "e/2", ""}}, kNow - 60);
    // The slot and the sandbox were both written; the process died before answering.
    put({{"PK", S("PART#p1")},
         {"SK", S("SLOT#0")},
         {"sandbox", S("2")},
         {"ikey", S("p1")},
         {"claim_token", S("dead-process")},
         {"taken_at", N(kNow)}});
    table_->client().must(
        "UpdateItem",
        {{"TableName", table_->name()},
         {"Key", ddb::key_of("SBX#2", "META")},
         {"UpdateExpression",
          "SET #s = :a, allocated_to_track = :p, idempotency_key = :p, allocated_at = :now"},
         {"ExpressionAttributeNames", {{"#s", "status"}}},
         {"ExpressionAttributeValues", {{":a", S("allocated")}, {":p", S("p1")}, {":now", N(kNow)}}}});
    // The retry gets that sandbox, never a second one.
    auto retry = store_->allocate(request("p1", kNow + 1));
    ASSERT_EQ(retry.outcome, AllocateOutcome::existing);
    EXPECT_EQ(retry.sandbox->sandbox_id, "2");
    // The dead process never counted its take: the counts' reconcile does.
    store_->reconcile_counts(kNow + 2);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 1);
}

// An attempt applied whose answer was lost: the retry's failed condition is this request's
// own write, not a lost race, for each conditional step of an allocation.
TEST_F(DynamoStoreTest, ALostAnswerToAnAppliedWriteIsNotALostRace) {
    store_->migrate();
    store_->upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"1", "a", "e/1", ""},
                                                                   {"2", "b", "e/2", ""},
                                                                   {"3", "c", "e/3", ""},
                                                                   {"4", "d", "e/4", ""},
                                                                   {"5", "e", "e/5", ""},
                                                                   {"6", "f", "e/6", ""}},
                                      kNow - 60);
    const std::vector<std::pair<std::string, std::string>> steps = {
        {"PutItem", "\"SLOT#0\""},                  // the participant's slot
        {"UpdateItem", "allocated_to_track = :p"},  // the take
        {"UpdateItem", "confirmed_at"},             // the slot's confirmation
    };
    int participant = 0;
    for (const auto& [operation, marker] : steps) {
        SCOPED_TRACE(marker);
        int lost = 0;
        DynamoOptions options = table_->options();
        options.client.lose_answer = [&, operation = operation, marker = marker](std::string_view op,
                                                                                 const std::string& body) {
            if (op != operation || body.find(marker) == std::string::npos || lost > 0) return false;
            return ++lost == 1;
        };
        DynamoStore store(options, test_aws_credentials());
        const std::string p = "p" + std::to_string(++participant);
        auto first = store.allocate(request(p));
        EXPECT_EQ(lost, 1);
        ASSERT_EQ(first.outcome, AllocateOutcome::allocated);
        auto again = store_->allocate(request(p, kNow + 1));
        ASSERT_EQ(again.outcome, AllocateOutcome::existing);
        EXPECT_EQ(again.sandbox->sandbox_id, first.sandbox->sandbox_id);
        // One holding per participant so far, nothing taken on the side.
        EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], participant);
    }
}

// Another request drops the slot as dead (its age past the timeout) while this request's
// take is on its way, and allocates: the take landing afterwards is undone, not kept.
TEST_F(DynamoStoreTest, ATakeLandingAfterItsSlotWasTakenOverIsUndone) {
    store_->migrate();
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"1", "a-1", "e/1", ""}, {"2", "b-2", "e/2", ""}}, kNow - 60);
    DynamoStore other(table_->options(), test_aws_credentials());
    std::optional<AllocateResult> taken_over;
    DynamoOptions options = table_->options();
    options.client.lose_answer = [&](std::string_view op, const std::string& body) {
        // Right after the slot is written, before the take: the other replica's request, its
        // clock past the slot's timeout, sees a slot naming an available sandbox.
        if (op == "PutItem" && body.find("\"SLOT#0\"") != std::string::npos && !taken_over) {
            auto r = request("p1", kNow + kDynamoSlotTimeout + 1);
            r.name_prefix = "b-";
            taken_over = other.allocate(r);
        }
        return false;
    };
    DynamoStore slow(options, test_aws_credentials());
    auto r = request("p1");
    r.name_prefix = "a-";
    auto late = slow.allocate(r);
    ASSERT_TRUE(taken_over);
    ASSERT_EQ(taken_over->outcome, AllocateOutcome::allocated);
    EXPECT_EQ(taken_over->sandbox->sandbox_id, "2");
    // The participant holds the other request's sandbox only; the late take was given back.
    ASSERT_EQ(late.outcome, AllocateOutcome::existing);
    EXPECT_EQ(late.sandbox->sandbox_id, "2");
    EXPECT_GE(late.conflicts, 1);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 1);
    auto one = store_->get("1");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->status, SandboxStatus::available);
    EXPECT_TRUE(one->allocated_to_track.empty());
}

// A cleanup worker's record of a deletion whose answer was lost is still its record.
TEST_F(DynamoStoreTest, ALostAnswerToTheDeletionRecordIsStillRecorded) {
    store_->migrate();
    store_->upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}}, kNow - 60);
    ASSERT_EQ(store_->allocate(request("p1")).outcome, AllocateOutcome::allocated);
    ASSERT_EQ(store_->mark_for_deletion({"1", "p1", kNow + 5, request("p1").lease}).outcome,
              MarkOutcome::marked);
    int lost = 0;
    DynamoOptions options = table_->options();
    options.client.lose_answer = [&](std::string_view op, const std::string& body) {
        if (op != "UpdateItem" || body.find("deleted_at = :now") == std::string::npos || lost > 0)
            return false;
        return ++lost == 1;  // the first answer only
    };
    DynamoStore store(options, test_aws_credentials());
    EXPECT_TRUE(store.record_deleted("1", "cleanup", kNow + 10));
    EXPECT_EQ(lost, 1);
    auto gone = store_->get("1");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, SandboxStatus::deleted);
    const auto events = store_->history("1");
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().from, SandboxStatus::pending_deletion);
    EXPECT_EQ(events.back().to, SandboxStatus::deleted);
}

// A failed deletion attempt whose count's answer was lost counts once.
TEST_F(DynamoStoreTest, ALostAnswerToAFailedAttemptsCountCountsOnce) {
    store_->migrate();
    store_->upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}}, kNow - 60);
    ASSERT_EQ(store_->allocate(request("p1")).outcome, AllocateOutcome::allocated);
    ASSERT_EQ(store_->mark_for_deletion({"1", "p1", kNow + 5, request("p1").lease}).outcome,
              MarkOutcome::marked);
    ASSERT_EQ(store_->claim_for_deletion({"w1", kNow + 10, kNow + 40, 10}).size(), 1u);
    int lost = 0;
    DynamoOptions options = table_->options();
    options.client.lose_answer = [&](std::string_view op, const std::string& body) {
        if (op != "UpdateItem" || body.find("deletion_retry_count = :counted") == std::string::npos ||
            lost > 0)
            return false;
        return ++lost == 1;  // the first answer only
    };
    DynamoStore store(options, test_aws_credentials());
    EXPECT_TRUE(store.record_deletion_failure({"1", "w1", kNow + 11, kNow + 60, 5, "boom"}));
    EXPECT_EQ(lost, 1);
    auto s = store_->get("1");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->deletion_retry_count, 1);
    EXPECT_EQ(s->status, SandboxStatus::pending_deletion);
}

// An expiry whose answer was lost is still reported as moved.
TEST_F(DynamoStoreTest, ALostAnswerToAnExpiryStillReportsItMoved) {
    store_->migrate();
    store_->upsert_provider_sandboxes(std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}}, kNow - 60);
    ASSERT_EQ(store_->allocate(request("p1")).outcome, AllocateOutcome::allocated);
    int lost = 0;
    DynamoOptions options = table_->options();
    options.client.lose_answer = [&](std::string_view op, const std::string& body) {
        if (op != "UpdateItem" || body.find("deletion_requested_at = :now") == std::string::npos || lost > 0)
            return false;
        return ++lost == 1;  // the first answer only
    };
    DynamoStore store(options, test_aws_credentials());
    const auto lease = request("p1").lease;
    const auto moved = store.expire_allocations(kNow + 24 * 3600, lease, 10);
    EXPECT_EQ(lost, 1);
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved.front().sandbox_id, "1");
    EXPECT_EQ(moved.front().status, SandboxStatus::pending_deletion);
}

// Two slots left naming one sandbox (a read of both must not ask for the same key twice).
TEST_F(DynamoStoreTest, SlotsNamingTheSameSandboxAreReadOnce) {
    store_->migrate();
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}, {"2", "b", "e/2", ""}}, kNow - 60);
    for (const char* sort : {"SLOT#0", "SLOT#1"}) {
        put({{"PK", S("PART#p1")},
             {"SK", S(sort)},
             {"sandbox", S("1")},
             {"ikey", S("old")},
             {"claim_token", S(std::string("dead-") + sort)},
             {"taken_at", N(kNow - 3600)}});
    }
    auto r = request("p1");
    r.max_per_participant = 2;
    auto result = store_->allocate(r);
    ASSERT_EQ(result.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 1);
}

TEST_F(DynamoStoreTest, APrefixIsFoundBehindManyOthers) {
    store_->migrate();
    std::vector<ProviderSandbox> pool;
    for (int i = 0; i < 120; ++i)
        pool.push_back({"a" + std::to_string(1000 + i), "common-" + std::to_string(i), "e", ""});
    pool.push_back({"z9999", "rare-1", "e", ""});
    store_->upsert_provider_sandboxes(pool, kNow - 60);
    auto r = request("p");
    r.name_prefix = "rare-";
    auto found = store_->allocate(r);
    ASSERT_EQ(found.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(found.sandbox->sandbox_id, "z9999");
    auto again = request("q");
    again.name_prefix = "rare-";
    EXPECT_EQ(store_->allocate(again).outcome, AllocateOutcome::pool_empty);
}

TEST_F(DynamoStoreTest, MigrateNamesWhatDiffersOnATableOfAnotherLayout) {
    table_->client().must(
        "CreateTable",
        {{"TableName", table_->name()},
         {"AttributeDefinitions", json::array({{{"AttributeName", "id"}, {"AttributeType", "S"}},
                                               {{"AttributeName", "status"}, {"AttributeType", "S"}},
                                               {{"AttributeName", "allocated_at"}, {"AttributeType", "N"}}})},
         {"KeySchema", json::array({{{"AttributeName", "id"}, {"KeyType", "HASH"}}})},
         {"GlobalSecondaryIndexes",
          json::array(
              {{{"IndexName", "StatusIndex"},
                {"KeySchema", json::array({{{"AttributeName", "status"}, {"KeyType", "HASH"}},
                                           {{"AttributeName", "allocated_at"}, {"KeyType", "RANGE"}}})},
                {"Projection", {{"ProjectionType", "KEYS_ONLY"}}}}})},
         {"BillingMode", "PAY_PER_REQUEST"}});
    try {
        store_->migrate();
        ADD_FAILURE() << "migrate accepted a table of another layout";
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("key schema is id (HASH), expected PK (HASH), SK (RANGE)"), std::string::npos)
            << message;
        EXPECT_NE(message.find("index StatusIndex (DDB_GSI1_NAME) projects KEYS_ONLY"), std::string::npos)
            << message;
        EXPECT_NE(message.find("index TrackIndex (DDB_GSI2_NAME) is missing"), std::string::npos) << message;
        EXPECT_NE(message.find("index IdempotencyIndex (DDB_GSI3_NAME) is missing"), std::string::npos)
            << message;
    }
}

TEST_F(DynamoStoreTest, MigrateCreatesTheTableWithTheIndexesFromSettingsAndKeepsAVersion) {
    auto options = table_->options();
    options.status_index = "ByStatus";
    DynamoStore store(options, test_aws_credentials());
    const auto created = store.migrate();
    EXPECT_TRUE(created.created());
    const auto table = table_->client().must("DescribeTable", {{"TableName", table_->name()}})["Table"];
    std::set<std::string> indexes;
    for (const auto& gsi : table["GlobalSecondaryIndexes"]) indexes.insert(gsi["IndexName"]);
    EXPECT_EQ(indexes, (std::set<std::string>{"ByStatus", "TrackIndex", "IdempotencyIndex"}));
    EXPECT_EQ(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    EXPECT_TRUE(store.migrate().up_to_date());
    EXPECT_NO_THROW(store.ping());
}

TEST_F(DynamoStoreTest, MigrateOpenedWithoutCreateTableStopsOnAMissingTableAndCreatesNothing) {
    auto options = table_->options();
    options.create_table = false;  // how serve, worker, run and import open it
    DynamoStore store(options, test_aws_credentials());
    try {
        store.migrate();
        ADD_FAILURE() << "migrate() ran on a missing table";
    } catch (const ConfigError& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("DynamoDB table " + table_->name() + " does not exist in region us-east-1"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("run sandbox-broker migrate"), std::string::npos) << message;
    }
    EXPECT_TRUE(table_->client()
                    .call("DescribeTable", {{"TableName", table_->name()}})
                    .is("ResourceNotFoundException"));
}

TEST_F(DynamoStoreTest, PingFailsOnATableNeverMigrated) {
    EXPECT_THROW(store_->ping(), StoreUnavailable);
}

// ---- the outbox: each change carries its event ----

class DynamoOutboxTest : public DynamoStoreTest {
  protected:
    void SetUp() override {
        DynamoStoreTest::SetUp();
        if (IsSkipped()) return;
        store_->set_outbox_clock([this] { return clock_; });
        store_->migrate();
        store_->upsert_provider_sandboxes(
            std::vector<ProviderSandbox>{{"1", "a", "e/1", ""}, {"2", "b", "e/2", ""}}, kNow - 60);
        after_seed_ = store_->last_event_id();
    }

    std::vector<OutboxEvent> events_since_seed() { return store_->read_events(after_seed_, 100); }

    std::vector<OutboxEvent> allocated_events() {
        std::vector<OutboxEvent> out;
        for (auto& e : events_since_seed())
            if (e.type == kEventAllocated) out.push_back(std::move(e));
        return out;
    }

    json sandbox_item(const std::string& id) {
        json answer = table_->client().must("GetItem", {{"TableName", table_->name()},
                                                        {"Key", ddb::key_of("SBX#" + id, "META")},
                                                        {"ConsistentRead", true}});
        return answer["Item"];
    }

    // Items the outbox leaves in the pending partition (intents, pending events, fences).
    std::size_t pending_items() {
        std::size_t n = 0;
        for (const auto& item : scan_all())
            if (item["PK"]["S"] == "OUTBOX#PENDING") ++n;
        return n;
    }

    // A sandbox item holds the layout's attributes and nothing of the outbox.
    void expect_clean(const std::string& id) {
        const json item = sandbox_item(id);
        for (const auto& [name, value] : item.items())
            EXPECT_TRUE(layout_attributes().count(name)) << "SBX#" << id << " has attribute " << name;
    }

    std::int64_t clock_ = kNow;
    std::int64_t after_seed_ = 0;
};

TEST_F(DynamoOutboxTest, TheEventRidesOnTheChangeAndLeavesTheItemOnceRelayed) {
    auto r = store_->allocate(request("p1"));
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    const std::string id = r.sandbox->sandbox_id;
    // Written with the change: the item carries the event, and nothing else new.
    const json carried = sandbox_item(id);
    ASSERT_TRUE(carried.contains("outbox"));
    ASSERT_EQ(carried["outbox"]["L"].size(), 1u);
    EXPECT_EQ(carried["outbox"]["L"][0]["M"]["type"]["S"], "sandbox.allocated");
    for (const auto& [name, value] : carried.items())
        EXPECT_TRUE(layout_attributes().count(name) || name == "outbox") << name;

    const auto events = allocated_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].sandbox_id, id);
    EXPECT_EQ(json::parse(events[0].payload)["data"]["participant"], "p1");
    EXPECT_EQ(json::parse(events[0].payload)["data"]["status"], "allocated");
    // Relayed: the allocated item is as the original service writes it, the partition empty.
    expect_clean(id);
    EXPECT_EQ(pending_items(), 0u);
    // Outbox items stay out of the original's indexes.
    for (const auto& item : scan_all()) {
        if (item["PK"]["S"].get<std::string>().rfind("OUTBOX#", 0) != 0) continue;
        for (const char* attribute : {"status", "allocated_to_track", "idempotency_key"})
            EXPECT_FALSE(item.contains(attribute)) << item["SK"] << " carries " << attribute;
    }
}

// A sync's insert that loses to another writer (an import that wrote the same sandbox first)
// still counts as listed in the sync's pass: the pass's end leaves it available.
TEST_F(DynamoOutboxTest, ASandboxAnotherWriterInsertsDuringASyncStaysListed) {
    const std::vector<ProviderSandbox> listed{{"1", "a", "e/1", ""}, {"2", "b", "e/2", ""}, {"3", "c", "e/3", ""}};
    bool inserted = false;
    store_->set_outbox_step_hook([&](DynamoStore::OutboxStep step) {
        if (step != DynamoStore::OutboxStep::intent_written || inserted) return;
        inserted = true;  // the sync is about to insert "3": another writer does it first
        put(old_item("3", "available"));
    });
    const auto outcome = sync_in_one_pass(*store_, listed, kNow);
    store_->set_outbox_step_hook({});
    ASSERT_TRUE(inserted) << "the sync inserted nothing";
    EXPECT_EQ(outcome.upsert.inserted, 0);
    EXPECT_EQ(outcome.upsert.skipped, 1) << "the lost insert";
    EXPECT_EQ(outcome.marked_stale, 0);
    for (const char* id : {"1", "2", "3"}) {
        const auto s = store_->get(id);
        ASSERT_TRUE(s) << id;
        EXPECT_EQ(s->status, SandboxStatus::available) << id;
    }
}

TEST_F(DynamoOutboxTest, ACrashAfterTheChangeDeliversItsEventOnceAfterRecovery) {
    store_->set_outbox_step_hook([](DynamoStore::OutboxStep step) {
        if (step == DynamoStore::OutboxStep::change_written)
            throw std::runtime_error("died after the change");
    });
    EXPECT_THROW(store_->allocate(request("p1")), std::runtime_error);
    store_->set_outbox_step_hook({});
    // The change landed (not its count: the process died first, the counts' reconcile adds it).
    ASSERT_EQ(store_->list({SandboxStatus::allocated, "", 10}).items.size(), 1u);
    // Its intent is young: its writer may still be on its way, so the relay waits for it.
    EXPECT_TRUE(allocated_events().empty());
    clock_ += 61;
    const auto events = allocated_events();
    ASSERT_EQ(events.size(), 1u);
    const json data = json::parse(events[0].payload)["data"];
    EXPECT_EQ(data["participant"], "p1");
    EXPECT_EQ(data["previous_status"], "available");
    EXPECT_EQ(data["actor"], "p1");
    EXPECT_EQ(data["reason"], "allocate");
    EXPECT_EQ(events[0].at, kNow);
    EXPECT_EQ(events[0].track, "track-a");
    expect_clean(events[0].sandbox_id);
    EXPECT_EQ(pending_items(), 0u);
    // Once: later reads and later changes do not bring it again.
    ASSERT_EQ(store_->allocate(request("p2")).outcome, AllocateOutcome::allocated);
    EXPECT_EQ(allocated_events().size(), 2u);
}

TEST_F(DynamoOutboxTest, ACrashAfterThePendingWriteDeliversItsEventOnce) {
    store_->set_outbox_step_hook([](DynamoStore::OutboxStep step) {
        if (step == DynamoStore::OutboxStep::pending_written) throw std::runtime_error("died after pending");
    });
    try {
        store_->allocate(request("p1"));
    } catch (const std::runtime_error&) {
    }
    store_->set_outbox_step_hook({});
    ASSERT_EQ(store_->count_by_status()[SandboxStatus::allocated], 1);
    // Whole already: no wait.
    const auto events = allocated_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(json::parse(events[0].payload)["data"]["participant"], "p1");
    expect_clean(events[0].sandbox_id);
    clock_ += 3600 * 2;
    EXPECT_EQ(allocated_events().size(), 1u);
    EXPECT_EQ(pending_items(), 0u);
}

TEST_F(DynamoOutboxTest, ACrashBeforeTheChangeLeavesNeitherAndAFenceStopsItsLateWrite) {
    // The writer dies after its intent: no change, and once settled, no event.
    store_->set_outbox_step_hook([](DynamoStore::OutboxStep step) {
        if (step == DynamoStore::OutboxStep::intent_written)
            throw std::runtime_error("died after the intent");
    });
    EXPECT_THROW(store_->allocate(request("p1")), std::runtime_error);
    store_->set_outbox_step_hook({});
    clock_ += 61;
    EXPECT_TRUE(allocated_events().empty());
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 0);

    // A writer stalled after its intent for longer than the bound: the relay fences its token
    // meanwhile, and the change arriving late fails; the allocation takes the other sandbox.
    int stalls = 0;
    store_->set_outbox_step_hook([&](DynamoStore::OutboxStep step) {
        if (step != DynamoStore::OutboxStep::intent_written || stalls++ > 0) return;
        clock_ += 61;
        EXPECT_TRUE(store_->read_events(after_seed_, 100).empty());
    });
    auto r = store_->allocate(request("p2"));
    store_->set_outbox_step_hook({});
    EXPECT_EQ(stalls, 2);
    ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
    EXPECT_EQ(r.conflicts, 1);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 1);
    const auto events = allocated_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].sandbox_id, r.sandbox->sandbox_id);
    expect_clean(r.sandbox->sandbox_id);
    // The fenced sandbox is free and keeps its fence for a while, then loses it.
    const std::string other = r.sandbox->sandbox_id == "1" ? "2" : "1";
    EXPECT_EQ(sandbox_item(other)["status"]["S"], "available");
    EXPECT_TRUE(sandbox_item(other).contains("outbox_fence"));
    clock_ += 3601;
    EXPECT_EQ(allocated_events().size(), 1u);
    expect_clean(other);
    EXPECT_EQ(pending_items(), 0u);
}

TEST_F(DynamoOutboxTest, AnAllocationsEventCostsTwoWritesAndNoRead) {
    std::map<std::string, int> calls;
    DynamoOptions options = table_->options();
    options.client.lose_answer = [&](std::string_view op, const std::string&) {
        ++calls[std::string(op)];
        return false;
    };
    store_->upsert_provider_sandboxes(
        std::vector<ProviderSandbox>{{"3", "c", "e/3", ""}, {"4", "d", "e/4", ""}}, kNow - 60);
    DynamoStore counted(options, test_aws_credentials());
    counted.set_events_enabled(false);
    // The first allocation of a process reads what it keeps for later (rules, positions).
    ASSERT_EQ(counted.allocate(request("p0")).outcome, AllocateOutcome::allocated);
    calls.clear();
    ASSERT_EQ(counted.allocate(request("p1")).outcome, AllocateOutcome::allocated);
    const auto without = calls;
    calls.clear();
    counted.set_events_enabled(true);
    ASSERT_EQ(counted.allocate(request("p2")).outcome, AllocateOutcome::allocated);
    const auto with = calls;
    // With events: the intent and the pending event (PutItem); the item as the change left it
    // comes with the change's answer, so no read is added.
    EXPECT_EQ(with.at("PutItem") - without.at("PutItem"), 2);
    EXPECT_EQ(with.at("UpdateItem"), without.at("UpdateItem"));
    EXPECT_EQ(with.count("GetItem") ? with.at("GetItem") : 0,
              without.count("GetItem") ? without.at("GetItem") : 0);
    std::string figures;
    for (const auto& [op, n] : with) figures += " " + op + "=" + std::to_string(n);
    RecordProperty("requests_per_allocation_with_events", figures);
}

}  // namespace
}  // namespace broker::testing
