// schema_status on every store: a migrated store is at this binary's version with nothing
// pending; a store a newer release migrated is reported as such, never downgraded by migrate, and says from
// which binary version on it may be used.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "store/schema_steps.hpp"
#include "store_harness.hpp"

namespace broker::testing {
namespace {

class SchemaConformance : public StoreConformance {};

TEST_P(SchemaConformance, AMigratedStoreIsAtThisBinarysVersionWithNothingPending) {
    const SchemaStatus status = store().schema_status();
    EXPECT_GE(status.binary_version, 1);
    EXPECT_EQ(status.store_version, status.binary_version);
    EXPECT_TRUE(status.pending.empty()) << status.pending.front();
    EXPECT_GE(status.compatible_from, 1);
    EXPECT_LE(status.compatible_from, status.binary_version);
    EXPECT_EQ(decide_schema(status), SchemaVerdict::migrate);
    // Reading the status changes nothing: asking again answers the same, data included.
    seed(2);
    const SchemaStatus again = store().schema_status();
    EXPECT_EQ(again.store_version, status.store_version);
    EXPECT_EQ(again.compatible_from, status.compatible_from);
    EXPECT_EQ(store().count_by_status()[SandboxStatus::available], 2);
}

TEST_P(SchemaConformance, ANewerCompatibleStoreIsReportedAndNeverMigratedDown) {
    seed(3);
    const int binary = store().schema_status().binary_version;
    harness().record_schema(binary + 2, binary);

    const SchemaStatus status = store().schema_status();
    EXPECT_EQ(status.store_version, binary + 2);
    EXPECT_EQ(status.binary_version, binary);
    EXPECT_EQ(status.compatible_from, binary);
    EXPECT_TRUE(status.pending.empty());
    EXPECT_EQ(decide_schema(status), SchemaVerdict::run_newer);
    try {
        store().migrate();
        ADD_FAILURE() << "migrate() went ahead on a newer store";
    } catch (const StoreUnavailable& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("schema version " + std::to_string(binary + 2)), std::string::npos) << message;
        EXPECT_NE(message.find("(" + std::to_string(binary) + ")"), std::string::npos) << message;
    }
    // Still newer, data untouched, and usable as it is.
    EXPECT_EQ(store().schema_status().store_version, binary + 2);
    EXPECT_EQ(allocate("p-1").outcome, AllocateOutcome::allocated);
}

TEST_P(SchemaConformance, ANewerIncompatibleStoreIsRefused) {
    const int binary = store().schema_status().binary_version;
    harness().record_schema(binary + 1, binary + 1);
    const SchemaStatus status = store().schema_status();
    EXPECT_EQ(status.store_version, binary + 1);
    EXPECT_EQ(status.compatible_from, binary + 1);
    EXPECT_EQ(decide_schema(status), SchemaVerdict::refuse_newer);
    EXPECT_THROW(store().migrate(), StoreUnavailable);
    EXPECT_EQ(store().schema_status().store_version, binary + 1);
}

BROKER_FOR_EVERY_STORE(SchemaConformance);

}  // namespace
}  // namespace broker::testing
