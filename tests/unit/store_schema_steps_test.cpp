// The expand-only rule over both stores' schema steps, the "compatible from" arithmetic, what
// schema_status reports, and what a process does with a store newer than it knows.
#include <gtest/gtest.h>

#include <cstdio>

#include "sql/postgres_schema.hpp"
#include "sql/sqlite_schema.hpp"
#include "store/postgres/schema.hpp"
#include "store/schema_steps.hpp"
#include "store/sqlite/schema.hpp"

namespace broker {
namespace {

const std::vector<SchemaStep> kSteps = {
    {"one", "CREATE TABLE a (x INTEGER)", false},
    {"two", "ALTER TABLE a ADD COLUMN y TEXT NOT NULL DEFAULT ''", true},
    {"three", "CREATE INDEX a_y ON a (y)", true},
};

TEST(SchemaSteps, CompatibleFromIsTheLastStepThatWasNotExpandOnly) {
    EXPECT_EQ(compatible_from(kSteps, 0), 0);
    EXPECT_EQ(compatible_from(kSteps, 1), 1);
    EXPECT_EQ(compatible_from(kSteps, 3), 1);  // steps 2 and 3 only add: binary 1 runs on a store at 3
    const std::vector<SchemaStep> contract_last = {{"one", "", true}, {"two", "DROP INDEX x", false}};
    EXPECT_EQ(compatible_from(contract_last, 2), 2);
}

TEST(SchemaSteps, StatusListsPendingStepsOneLineEach) {
    const SchemaStatus status = schema_status_of(kSteps, 1, 1);
    EXPECT_EQ(status.store_version, 1);
    EXPECT_EQ(status.binary_version, 3);
    EXPECT_EQ(status.compatible_from, 1);
    EXPECT_EQ(status.pending, (std::vector<std::string>{"step 2: two", "step 3: three"}));
    EXPECT_EQ(decide_schema(status), SchemaVerdict::migrate);

    const SchemaStatus fresh = schema_status_of(kSteps, 0, std::nullopt);
    EXPECT_EQ(fresh.compatible_from, 0);
    ASSERT_EQ(fresh.pending.size(), 3u);
    EXPECT_EQ(fresh.pending[0], "step 1: one (not expand-only)");
}

TEST(SchemaSteps, AnUpToDateStoreWithoutTheRecordHasTheRecordPending) {
    // Migrated by a release that did not record compatibility yet.
    const SchemaStatus old = schema_status_of(kSteps, 3, std::nullopt);
    EXPECT_EQ(old.compatible_from, 1);
    ASSERT_EQ(old.pending.size(), 1u);
    EXPECT_NE(old.pending[0].find("record"), std::string::npos);
    EXPECT_TRUE(schema_status_of(kSteps, 3, 1).pending.empty());
}

TEST(SchemaSteps, ANewerStoreRunsOnlyWhenItSaysThisBinaryIsCompatible) {
    const SchemaStatus compatible = schema_status_of(kSteps, 5, 3);
    EXPECT_TRUE(compatible.pending.empty());
    EXPECT_EQ(decide_schema(compatible), SchemaVerdict::run_newer);
    EXPECT_EQ(decide_schema(schema_status_of(kSteps, 5, 2)), SchemaVerdict::run_newer);
    const SchemaStatus incompatible = schema_status_of(kSteps, 5, 4);
    EXPECT_EQ(decide_schema(incompatible), SchemaVerdict::refuse_newer);
    // A newer store without a record: only a binary that knows all its steps may use it.
    EXPECT_EQ(schema_status_of(kSteps, 5, std::nullopt).compatible_from, 5);
    EXPECT_EQ(decide_schema(schema_status_of(kSteps, 5, std::nullopt)), SchemaVerdict::refuse_newer);
    const std::string message = describe_newer_store(incompatible);
    EXPECT_NE(message.find("store schema version 5 is newer than this binary's (3)"), std::string::npos)
        << message;
    EXPECT_NE(message.find("compatible from version 4"), std::string::npos) << message;
}

TEST(SchemaSteps, ExpandOnlyViolationsAreNamed) {
    EXPECT_FALSE(expand_only_violation("CREATE TABLE t (id INTEGER PRIMARY KEY, n TEXT NOT NULL)"));
    EXPECT_FALSE(expand_only_violation("ALTER TABLE t ADD COLUMN c TEXT NOT NULL DEFAULT '';"));
    EXPECT_FALSE(expand_only_violation("ALTER TABLE t ADD COLUMN c INTEGER; -- drop it later? no"));
    EXPECT_FALSE(expand_only_violation("CREATE INDEX t_c ON t (c)"));
    EXPECT_TRUE(expand_only_violation("DROP INDEX t_c"));
    EXPECT_TRUE(expand_only_violation("alter table t rename to u"));
    EXPECT_TRUE(expand_only_violation("ALTER TABLE t ALTER COLUMN c TYPE bigint"));
    EXPECT_TRUE(expand_only_violation("ALTER TABLE t ADD COLUMN c TEXT NOT NULL;"));
    EXPECT_TRUE(expand_only_violation("CREATE UNIQUE INDEX t_c ON t (c)"));
    EXPECT_FALSE(expand_only_violation("CREATE TABLE u (c TEXT); CREATE UNIQUE INDEX u_c ON u (c)"));
    // A replaced function passes: the checker reads the statement, not the function's body, so
    // that the replacement keeps the old signature and effect (the release before fires the
    // same triggers) is the step's own promise, held by its tests and review. A dropped one
    // is refused.
    EXPECT_FALSE(
        expand_only_violation("CREATE OR REPLACE FUNCTION s.f() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
                              "BEGIN RETURN NULL; END $fn$"));
    EXPECT_TRUE(expand_only_violation("DROP FUNCTION f()"));
    EXPECT_TRUE(expand_only_violation("DROP TRIGGER t ON s"));
}

// The rule itself: each step declared expand-only passes the check, and the last step that is
// not (pinned below) stays where it is. A step that must remove or rewrite is a decision to
// break the release before, made by marking it and moving the pin, not by accident.
void check_steps(std::span<const SchemaStep> steps, const char* store) {
    int last_contract = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        if (!steps[i].expand_only) last_contract = static_cast<int>(i) + 1;
        if (steps[i].expand_only) {
            const auto violation = expand_only_violation(steps[i].sql);
            EXPECT_FALSE(violation) << store << " step " << i + 1
                                    << " is declared expand-only but: " << *violation;
        }
        EXPECT_FALSE(steps[i].summary.empty()) << store << " step " << i + 1;
        EXPECT_EQ(steps[i].summary.find('\n'), std::string_view::npos) << store << " step " << i + 1;
    }
    EXPECT_EQ(compatible_from(steps, static_cast<int>(steps.size())), last_contract);
}

TEST(SchemaSteps, TheStoresStepsFollowTheRule) {
    check_steps(sqlite::schema_steps(), "sqlite");
    check_steps(pg::schema_steps(), "postgresql");
    // The steps before the rule: no step after these may be other than expand-only.
    EXPECT_EQ(compatible_from(sqlite::schema_steps(), static_cast<int>(sqlite::schema_steps().size())), 5);
    EXPECT_EQ(compatible_from(pg::schema_steps(), static_cast<int>(pg::schema_steps().size())), 3);
}

// The scripts of sql/schema/steps.sql are the steps, in their order: step N's script is named
// step_NN_..., and the list in schema.cpp takes each one once, at its place (the steps after
// the scripts are those whose SQL still lives in C++ constants).
template <class Scripts>
void check_scripts(std::span<const SchemaStep> steps, const Scripts& all, const char* store) {
    std::size_t n = 0;
    for (const auto& script : all) {
        if (script.file != "steps.sql") continue;
        SCOPED_TRACE(std::string(store) + ": " + std::string(script.name));
        char prefix[16];
        std::snprintf(prefix, sizeof prefix, "step_%02zu_", n + 1);
        EXPECT_EQ(script.name.substr(0, 8), prefix);
        ASSERT_LT(n, steps.size());
        EXPECT_EQ(steps[n].sql.data(), script.text.data()) << "step " << n + 1 << " is not its script";
        ++n;
    }
    EXPECT_GE(n, 7u) << store;
}

TEST(SchemaSteps, TheStepScriptsAreTheStepsInOrder) {
    check_scripts(sqlite::schema_steps(), sqlite::schema_sql::kAll, "sqlite");
    check_scripts(pg::schema_steps(), pg::schema_sql::kAll, "postgresql");
}

}  // namespace
}  // namespace broker
