// The DynamoDB store's maintained counts: counter items of their own kind (no attribute of
// the original's indexes), read instead of a count of the status index; a reconcile repairs
// what a writer that does not keep them (the original service) or a planted drift left, adds
// only differences so that the counts other writers add meanwhile are not lost, defers a
// status that changed during its recount, never corrects twice with another reconcile, and
// runs only when its period has passed.
#include <gtest/gtest.h>

#include "dynamo_harness.hpp"

namespace broker::testing {
namespace {

using ddb::N;
using ddb::S;
using nlohmann::json;

constexpr UnixSeconds kNow = 1'700'000'000;

class DynamoCountsTest : public DynamoTableTest {
  protected:
    void SetUp() override {
        DynamoTableTest::SetUp();
        if (IsSkipped()) return;
        store_->migrate();
        std::vector<ProviderSandbox> listed;
        for (int i = 0; i < 12; ++i) {
            const std::string id = "sbx-" + std::to_string(10 + i);
            listed.push_back({id, "lab-" + id, "identity/accounts/" + id, ""});
        }
        store_->upsert_provider_sandboxes(listed, kNow);
    }

    // The sandboxes by status, counted from the items themselves (a scan of the table).
    StatusCounts scanned() {
        StatusCounts counts;
        for (const auto& item : scan_all()) {
            if (!ddb::s_or(item, "PK").starts_with("SBX#")) continue;
            const auto status = parse_status(ddb::s_or(item, "status"));
            if (status) ++counts[*status];
        }
        return counts;
    }

    void expect_true_counts(const std::string& after) {
        const StatusCounts counts = store_->count_by_status();
        const StatusCounts truth = scanned();
        for (const SandboxStatus status : kAllStatuses)
            EXPECT_EQ(counts[status], truth[status]) << to_string(status) << " after " << after;
    }

    // Adds to the counters as a drift would leave them (a shard item, as a lost ADD's repeat).
    void plant_drift(SandboxStatus status, std::int64_t by) {
        table_->client().must("UpdateItem",
                              {{"TableName", table_->name()},
                               {"Key", {{"PK", S("BROKER#COUNTS")}, {"SK", S("SHARD#3")}}},
                               {"UpdateExpression", "ADD #n :by"},
                               {"ExpressionAttributeNames", {{"#n", "n_" + std::string(to_string(status))}}},
                               {"ExpressionAttributeValues", {{":by", N(by)}}}});
    }

    // One allocation and, when `give_back`, its return: transitions that add to the counters.
    void allocate(const std::string& participant, bool give_back) {
        const auto r = store_->allocate(request(participant));
        ASSERT_EQ(r.outcome, AllocateOutcome::allocated);
        if (!give_back) return;
        MarkForDeletionRequest mark;
        mark.sandbox_id = r.sandbox->sandbox_id;
        mark.participant_id = participant;
        mark.now = kNow;
        mark.lease = request(participant).lease;
        ASSERT_EQ(store_->mark_for_deletion(mark).outcome, MarkOutcome::marked);
    }
};

TEST_F(DynamoCountsTest, CountsAreCounterItemsOutsideTheOriginalsIndexes) {
    allocate("p1", true);
    allocate("p2", false);
    expect_true_counts("allocations and a return");
    int counters = 0;
    for (const auto& item : scan_all()) {
        if (ddb::s_or(item, "PK") != "BROKER#COUNTS") continue;
        ++counters;
        for (const char* index_key : {"status", "allocated_to_track", "idempotency_key", "allocated_at"})
            EXPECT_FALSE(item.contains(index_key)) << ddb::s_or(item, "SK") << " has " << index_key;
    }
    EXPECT_GE(counters, 2);  // the base and at least one shard

    // A sandbox the original service adds is not counted until a reconcile counts it.
    table_->client().must("PutItem", {{"TableName", table_->name()},
                                      {"Item",
                                       {{"PK", S("SBX#old-1")},
                                        {"SK", S("META")},
                                        {"sandbox_id", S("old-1")},
                                        {"name", S("lab-old-1")},
                                        {"external_id", S("identity/accounts/old-1")},
                                        {"status", S("available")},
                                        {"lab_duration_hours", N(4)},
                                        {"deletion_retry_count", N(0)},
                                        {"allocated_at", N(0)}}}});
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], scanned()[SandboxStatus::available] - 1);
    const auto report = store_->reconcile_counts(kNow);
    EXPECT_TRUE(report.ran);
    EXPECT_EQ(report.corrected, 1);
    EXPECT_TRUE(report.deferred.empty());
    expect_true_counts("the reconcile");
}

TEST_F(DynamoCountsTest, AReconcileRepairsAPlantedDrift) {
    allocate("p1", true);
    plant_drift(SandboxStatus::available, 5);
    plant_drift(SandboxStatus::deleted, 2);
    plant_drift(SandboxStatus::allocated, -3);  // shows as 0, not as a negative count
    const StatusCounts drifted = store_->count_by_status();
    EXPECT_EQ(drifted[SandboxStatus::available], scanned()[SandboxStatus::available] + 5);
    EXPECT_EQ(drifted[SandboxStatus::allocated], 0);
    const auto report = store_->reconcile_counts(kNow);
    EXPECT_EQ(report.corrected, 10);
    expect_true_counts("the reconcile");
    // A second reconcile finds nothing to correct.
    EXPECT_EQ(store_->reconcile_counts(kNow).corrected, 0);
    expect_true_counts("a second reconcile");
}

TEST_F(DynamoCountsTest, CountsAddedDuringAReconcileAreNotLost) {
    plant_drift(SandboxStatus::available, 4);
    plant_drift(SandboxStatus::stale, -1);
    int recounted = 0;
    int compared = 0;
    store_->set_count_step_hook([&](DynamoStore::CountStep step) {
        // Other writers' transitions land between the recount and the counters' second read
        // (those statuses are recounted in a later round), and between the comparison and the
        // correction (their ADDs and the correction's add up).
        if (step == DynamoStore::CountStep::recounted && recounted++ == 0) {
            allocate("during-recount-1", true);
            allocate("during-recount-2", false);
        }
        if (step == DynamoStore::CountStep::compared && compared++ == 0) {
            allocate("during-compare-1", true);
            allocate("during-compare-2", false);
        }
    });
    const auto report = store_->reconcile_counts(kNow);
    store_->set_count_step_hook({});
    EXPECT_GE(recounted, 2);  // the busy statuses took a second round
    EXPECT_TRUE(report.deferred.empty());
    expect_true_counts("a reconcile with transitions during it");
}

TEST_F(DynamoCountsTest, AStatusThatKeepsChangingIsDeferredNotGuessed) {
    plant_drift(SandboxStatus::available, 2);
    int n = 0;
    store_->set_count_step_hook([&](DynamoStore::CountStep step) {
        if (step == DynamoStore::CountStep::recounted) allocate("busy-" + std::to_string(n++), false);
    });
    const auto report = store_->reconcile_counts(kNow + 5);
    store_->set_count_step_hook({});
    // available and allocated changed in every round: left as they were, the others settled.
    EXPECT_EQ(report.deferred, (std::vector{SandboxStatus::available, SandboxStatus::allocated}));
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], scanned()[SandboxStatus::available] + 2);
    // Still due (not complete): the next run repairs them.
    const auto next = store_->reconcile_counts_if_due(kNow + 6);
    EXPECT_TRUE(next.ran);
    EXPECT_EQ(next.corrected, 2);
    expect_true_counts("the next reconcile");
}

TEST_F(DynamoCountsTest, TwoReconcilesAtOnceCorrectOnce) {
    plant_drift(SandboxStatus::available, 3);
    DynamoStore other(table_->options(), test_aws_credentials());
    CountReconcileReport other_report;
    bool once = false;
    store_->set_count_step_hook([&](DynamoStore::CountStep step) {
        if (step == DynamoStore::CountStep::compared && !once) {
            once = true;
            other_report = other.reconcile_counts(kNow);  // corrects first
        }
    });
    const auto report = store_->reconcile_counts(kNow);
    store_->set_count_step_hook({});
    EXPECT_EQ(other_report.corrected, 3);
    EXPECT_EQ(report.corrected, 0);
    expect_true_counts("two reconciles");
}

TEST_F(DynamoCountsTest, ReconcileRunsOncePerPeriod) {
    plant_drift(SandboxStatus::available, 1);
    EXPECT_TRUE(store_->reconcile_counts_if_due(kNow).ran);
    plant_drift(SandboxStatus::available, 1);
    const auto period = table_->options().count_reconcile_period.count();
    EXPECT_FALSE(store_->reconcile_counts_if_due(kNow + period - 1).ran);
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::available], scanned()[SandboxStatus::available] + 1);
    const auto report = store_->reconcile_counts_if_due(kNow + period);
    EXPECT_TRUE(report.ran);
    EXPECT_EQ(report.corrected, 1);
}

TEST_F(DynamoCountsTest, ATableWithoutCountersIsCountedUntilAMigrateCountsIt) {
    allocate("p1", false);
    // As a table the release before the counts left (its counter items gone, version 1).
    for (const auto& item : scan_all()) {
        if (ddb::s_or(item, "PK") != "BROKER#COUNTS") continue;
        table_->client().must(
            "DeleteItem", {{"TableName", table_->name()}, {"Key", {{"PK", item["PK"]}, {"SK", item["SK"]}}}});
    }
    table_->put_schema_item(1, 1);
    expect_true_counts("losing the counters (counted from the index)");
    EXPECT_EQ(store_->migrate().from_version, 1);
    expect_true_counts("migrate");
    plant_drift(SandboxStatus::allocated, 1);  // the counters are read now, not the index
    EXPECT_EQ(store_->count_by_status()[SandboxStatus::allocated], 2);
}

}  // namespace
}  // namespace broker::testing
