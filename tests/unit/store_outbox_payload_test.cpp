// The outbox's shared payload text (store/outbox): the event data every store writes on each
// change is written straight into its text, so it is checked here against a JSON tree of the
// same fields (the way it was built before, byte for byte), and the times against the C
// library's calendar.
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "store/outbox.hpp"

namespace broker::testing {
namespace {

std::string c_library_time(UnixSeconds at) {
    const std::time_t t = static_cast<std::time_t>(at);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}

nlohmann::json tree_time(const std::optional<UnixSeconds>& at) {
    return at ? nlohmann::json(c_library_time(*at)) : nlohmann::json(nullptr);
}

// What the data was before it was written without a tree: an nlohmann object (keys sorted),
// invalid UTF-8 replaced.
std::string tree_data(const Sandbox& row, std::optional<SandboxStatus> from, std::string_view actor,
                      std::string_view reason) {
    nlohmann::json data = {
        {"id", row.sandbox_id},
        {"name", row.name},
        {"external_id", row.external_id},
        {"sfdc_account_id", row.sfdc_account_id},
        {"status", to_string(row.status)},
        {"previous_status", from ? nlohmann::json(to_string(*from)) : nlohmann::json(nullptr)},
        {"allocated_at", tree_time(row.allocated_at)},
        {"expires_at", tree_time(row.expires_at)},
        {"deletion_requested_at", tree_time(row.deletion_requested_at)},
        {"deletion_retry_count", row.deletion_retry_count},
        {"participant", row.allocated_to_track},
        {"track", row.track_name},
        {"actor", actor},
        {"reason", reason},
    };
    return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Sandbox allocated_row() {
    Sandbox s;
    s.sandbox_id = "sbx-0001";
    s.name = "lab-0001";
    s.external_id = "ext-1";
    s.sfdc_account_id = "001A000001";
    s.status = SandboxStatus::allocated;
    s.allocated_to_track = "participant-7";
    s.track_name = "track-a";
    s.allocated_at = 1'767'225'600;  // 2026-01-01T00:00:00Z
    s.expires_at = 1'767'225'600 + 7200;
    s.deletion_retry_count = 0;
    return s;
}

TEST(OutboxPayload, DataIsTheTreesTextByteForByte) {
    const Sandbox allocated = allocated_row();
    EXPECT_EQ(transition_event_data(allocated, SandboxStatus::available, "participant-7", "allocate"),
              tree_data(allocated, SandboxStatus::available, "participant-7", "allocate"));

    // A new sandbox: no previous status, no times; a retry count above 9.
    Sandbox fresh;
    fresh.sandbox_id = "new";
    fresh.status = SandboxStatus::deletion_failed;
    fresh.deletion_retry_count = 123;
    EXPECT_EQ(transition_event_data(fresh, std::nullopt, "sync", ""),
              tree_data(fresh, std::nullopt, "sync", ""));

    // Text that needs escaping, non-ASCII and invalid UTF-8 (replaced, never thrown).
    Sandbox odd = allocated_row();
    odd.name = "quote \" back \\ tab \t nl \n ctl \x01 é ☃";
    odd.track_name = std::string("bad \xff\xfe utf-8");
    odd.deletion_requested_at = 951'782'400;  // 2000-02-29T00:00:00Z
    odd.status = SandboxStatus::pending_deletion;
    EXPECT_EQ(transition_event_data(odd, SandboxStatus::allocated, "auto_expiry", "reason \"x\""),
              tree_data(odd, SandboxStatus::allocated, "auto_expiry", "reason \"x\""));
    EXPECT_TRUE(nlohmann::json::accept(transition_event_data(odd, SandboxStatus::allocated, "a", "r")));

    // Appending keeps what the buffer held.
    std::string buffer = "prefix:";
    append_transition_event_data(buffer, allocated, SandboxStatus::available, "p", "allocate");
    EXPECT_EQ(buffer, "prefix:" + tree_data(allocated, SandboxStatus::available, "p", "allocate"));
}

TEST(OutboxPayload, TimesAreTheCalendarsUtc) {
    for (const UnixSeconds at :
         {UnixSeconds{0}, UnixSeconds{59}, UnixSeconds{86'399}, UnixSeconds{86'400}, UnixSeconds{951'782'399},
          UnixSeconds{951'782'400}, UnixSeconds{1'767'225'599}, UnixSeconds{2'147'483'647},
          UnixSeconds{4'102'444'800}, UnixSeconds{253'402'300'799}, UnixSeconds{-1}, UnixSeconds{-86'401}}) {
        EXPECT_EQ(iso8601_utc(at), c_library_time(at)) << at;
    }
    // Every day of four years around a leap day, at a time of day that moves.
    for (UnixSeconds at = 946'684'800; at < 946'684'800 + 4 * 366 * 86'400; at += 86'400 + 3'607)
        ASSERT_EQ(iso8601_utc(at), c_library_time(at)) << at;
}

TEST(OutboxPayload, PayloadWrapsTheData) {
    const std::string payload = event_payload(42, "sandbox.allocated", 1'767'225'600, R"({"k":1})");
    EXPECT_EQ(payload,
              R"({"id":42,"type":"sandbox.allocated","time":"2026-01-01T00:00:00Z","data":{"k":1}})");
    EXPECT_EQ(event_payload(7, "job.failed", 0, ""),
              R"({"id":7,"type":"job.failed","time":"1970-01-01T00:00:00Z","data":{}})");
    const auto parsed = nlohmann::json::parse(event_payload(-1 + 10'000'000'000, "t\"q", 5, "{}"));
    EXPECT_EQ(parsed["id"], 9'999'999'999);
    EXPECT_EQ(parsed["type"], "t\"q");
}

}  // namespace
}  // namespace broker::testing
