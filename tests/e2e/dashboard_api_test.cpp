// The dashboard's admin endpoints over HTTP on the real binary (`run` on an imported pool):
// statistics equal to what was set up, the time series after a pool_sample run, the list's
// filters, the CSV export parsed back with every row of its filter, failed deletions, and
// the 400s for bad parameters.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

std::vector<PoolEntry> dashboard_pool() {
    auto pool = sandboxes("dash-", 30, 8100);
    const auto other = sandboxes("other-", 5, 9100);
    pool.insert(pool.end(), other.begin(), other.end());
    return pool;
}

// RFC 4180 records (quoted fields with doubled quotes, CRLF line ends) read back.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            row.push_back(std::move(field));
            field.clear();
            rows.push_back(std::move(row));
            row.clear();
            ++i;
        } else {
            field += c;
        }
    }
    EXPECT_TRUE(field.empty() && row.empty()) << "the export ends with CRLF";
    return rows;
}

class DashboardApi : public ::testing::Test {
  protected:
    DashboardApi() : broker_(dashboard_pool()), http_(broker_.client()) {}

    // Allocates a sandbox for the participant under the track; its id.
    std::string take(const std::string& participant, const std::string& track) {
        const auto res = allocate(http_, participant, {{"X-Instruqt-Track-ID", track}});
        EXPECT_EQ(res.status, 201) << res.body;
        return res.json["sandbox_id"].get<std::string>();
    }

    std::set<std::string> listed(const std::string& query) {
        std::set<std::string> ids;
        std::string cursor;
        for (int pages = 0; pages < 100; ++pages) {
            const auto res = admin_get(
                http_, "/v1/admin/sandboxes?limit=7&" + query + (cursor.empty() ? "" : "&cursor=" + cursor));
            EXPECT_EQ(res.status, 200) << res.body;
            for (const auto& s : res.json["sandboxes"]) ids.insert(s["sandbox_id"].get<std::string>());
            if (res.json["next_cursor"].is_null()) break;
            cursor = res.json["next_cursor"].get<std::string>();
        }
        return ids;
    }

    void expect_bad_request(const std::string& target, const std::string& mentions) {
        const auto res = admin_get(http_, target);
        EXPECT_EQ(res.status, 400) << target << ": " << res.body;
        EXPECT_EQ(error_code(res), "INVALID_REQUEST") << target;
        const std::string message =
            res.json["error"]["message"].is_string() ? res.json["error"]["message"] : "";
        EXPECT_NE(message.find(mentions), std::string::npos) << target << ": " << message;
    }

    BrokerInstance broker_;
    HttpClient http_;
};

TEST_F(DashboardApi, StatsCountDurationsTracksCleanupAndTheTimeUntilThePoolRunsOut) {
    const std::string p1 = unique_participant("dash-p1");
    const std::string p2 = unique_participant("dash-p2");
    const std::string p3 = unique_participant("dash-p3");
    const std::string returned = take(p1, "dns-basics");
    take(p2, "dns-basics");
    take(p3, "dhcp-basics");
    ASSERT_EQ(mark_for_deletion(http_, returned, p1).status, 200);

    const auto res = admin_get(http_, "/v1/admin/stats");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto& s = res.json;
    EXPECT_EQ(s["available"], 32);
    EXPECT_EQ(s["allocated"], 2);
    EXPECT_EQ(s["pending_deletion"], 1);
    EXPECT_EQ(s["total"], 35);
    EXPECT_NEAR(s["percentages"]["available"].get<double>(), 91.43, 0.001);
    EXPECT_NEAR(s["percentages"]["allocated"].get<double>(), 5.71, 0.001);
    EXPECT_EQ(s["window"]["hours"], 24.0);
    EXPECT_EQ(s["lab_duration"]["allocations"], 3);
    EXPECT_EQ(s["lab_duration"]["active"], 2);
    EXPECT_EQ(s["lab_duration"]["finished"], 1);
    EXPECT_LT(s["lab_duration"]["longest_hours"].get<double>(), 0.1);
    ASSERT_EQ(s["tracks"].size(), 2u) << s.dump();
    EXPECT_EQ(s["tracks"][0]["track"], "dns-basics");
    EXPECT_EQ(s["tracks"][0]["total"], 2);
    EXPECT_EQ(s["tracks"][0]["active"], 1);
    EXPECT_EQ(s["tracks"][1]["track"], "dhcp-basics");
    EXPECT_EQ(s["cleanup"]["pending"], 1);
    EXPECT_EQ(s["cleanup"]["failed"], 0);
    EXPECT_EQ(s["niosxaas"]["pending"], 1);
    EXPECT_EQ(s["allocation_rate"]["window_sec"], 900);
    EXPECT_EQ(s["allocation_rate"]["allocations"], 3);
    // 32 available at 3 allocations per 15 minutes: 9600 s.
    EXPECT_EQ(s["exhaustion"]["seconds"], 9600.0);
    EXPECT_EQ(s["exhaustion"]["at"].get<std::int64_t>(), s["now"].get<std::int64_t>() + 9600);

    const auto top = admin_get(http_, "/v1/admin/stats?top=1&window_hours=0.5");
    ASSERT_EQ(top.status, 200) << top.body;
    EXPECT_EQ(top.json["tracks"].size(), 1u);
    EXPECT_EQ(top.json["window"]["hours"], 0.5);

    expect_bad_request("/v1/admin/stats?window_hours=0", "window_hours");
    expect_bad_request("/v1/admin/stats?top=101", "top");
}

TEST_F(DashboardApi, TimeseriesShowsThePoolSampledByThePoolSampleJob) {
    take(unique_participant("dash-ts"), "ts");
    const auto run = admin_post(http_, "/v1/admin/jobs/pool_sample/run?wait=20");
    ASSERT_EQ(run.status, 200) << run.body;
    EXPECT_EQ(run.json["ok"], true) << run.body;

    const auto res = admin_get(http_, "/v1/admin/timeseries");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.json["step"], 60);
    EXPECT_EQ(res.json["to"].get<std::int64_t>() - res.json["from"].get<std::int64_t>(), 86400);
    const auto& samples = res.json["samples"];
    ASSERT_FALSE(samples.empty()) << res.body;
    const auto& last = samples.back();
    EXPECT_EQ(last["at"].get<std::int64_t>() % 60, 0);
    EXPECT_EQ(last["available"], 34);
    EXPECT_EQ(last["allocated"], 1);
    EXPECT_EQ(last["total"], 35);
    EXPECT_LE(last["allocations"].get<int>(), 1);

    const auto hourly = admin_get(http_, "/v1/admin/timeseries?step=3600");
    ASSERT_EQ(hourly.status, 200) << hourly.body;
    ASSERT_FALSE(hourly.json["samples"].empty());
    EXPECT_EQ(hourly.json["samples"].back()["at"].get<std::int64_t>() % 3600, 0);
    EXPECT_EQ(hourly.json["samples"].back()["available"], 34);

    expect_bad_request("/v1/admin/timeseries?step=30", "step");
    expect_bad_request("/v1/admin/timeseries?from=200&to=100", "from");
    expect_bad_request("/v1/admin/timeseries?from=0&to=99999999", "31 days");
}

TEST_F(DashboardApi, ListFiltersByQueryTrackAndPrefix) {
    const std::string p1 = unique_participant("dash-list");
    const std::string first = take(p1, "dns-basics");
    const std::string second = take(unique_participant("dash-list2"), "dhcp-basics");

    EXPECT_EQ(listed("prefix=other-").size(), 5u);
    EXPECT_EQ(listed("prefix=dash-").size(), 30u);
    EXPECT_EQ(listed("track=dns-basics"), (std::set<std::string>{first}));
    EXPECT_EQ(listed("q=" + p1), (std::set<std::string>{first}));
    EXPECT_EQ(listed("q=" + second), (std::set<std::string>{second}));
    EXPECT_EQ(listed("q=ther-").size(), 5u);  // a substring of the name
    EXPECT_EQ(listed("status=allocated&prefix=dash-").size(), 2u);
    EXPECT_EQ(listed("status=available&track=dns-basics").size(), 0u);
    EXPECT_EQ(listed("").size(), 35u);

    const auto detail = admin_get(http_, "/v1/admin/sandboxes/" + first);
    ASSERT_EQ(detail.status, 200);
    EXPECT_EQ(detail.json["history"].back()["to"], "allocated");

    expect_bad_request("/v1/admin/sandboxes?q=%ff", "UTF-8");
    expect_bad_request("/v1/admin/sandboxes?prefix=" + std::string(300, 'a'), "prefix");
}

TEST_F(DashboardApi, CsvExportStreamsEveryRowOfTheFilter) {
    const std::string participant = unique_participant("dash-csv");
    const std::string held = take(participant, "csv, \"quoted\" track");

    const auto all = http_.get("/v1/admin/sandboxes.csv", admin_headers());
    ASSERT_EQ(all.status, 200) << all.body;
    EXPECT_EQ(all.header("Transfer-Encoding"), "chunked");
    EXPECT_NE(all.header("Content-Type").find("text/csv"), std::string::npos);
    EXPECT_NE(all.header("Content-Disposition").find("attachment; filename=\"sandboxes-"), std::string::npos);
    const auto rows = parse_csv(all.body);
    ASSERT_EQ(rows.size(), 36u);
    EXPECT_EQ(rows[0][0], "sandbox_id");
    EXPECT_EQ(rows[0][2], "status");
    std::set<std::string> ids;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size(), rows[0].size());
        ids.insert(rows[i][0]);
        if (rows[i][0] == held) {
            EXPECT_EQ(rows[i][2], "allocated");
            EXPECT_EQ(rows[i][3], participant);
            EXPECT_EQ(rows[i][4], "csv, \"quoted\" track");
        }
    }
    EXPECT_EQ(ids, listed(""));

    const auto other = http_.get("/v1/admin/sandboxes.csv?prefix=other-", admin_headers());
    ASSERT_EQ(other.status, 200);
    const auto other_rows = parse_csv(other.body);
    ASSERT_EQ(other_rows.size(), 6u);
    std::set<std::string> other_ids;
    for (std::size_t i = 1; i < other_rows.size(); ++i) other_ids.insert(other_rows[i][0]);
    EXPECT_EQ(other_ids, listed("prefix=other-"));

    // The connection stays usable after a streamed answer.
    EXPECT_EQ(admin_get(http_, "/v1/admin/stats").status, 200);
    const auto bad = http_.get("/v1/admin/sandboxes.csv?status=sleeping", admin_headers());
    EXPECT_EQ(bad.status, 400);
}

TEST_F(DashboardApi, CleanupFailuresListIsEmptyWithoutFailures) {
    const auto res = admin_get(http_, "/v1/admin/cleanup/failures");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(res.json["count"], 0);
    EXPECT_TRUE(res.json["failures"].empty());
    expect_bad_request("/v1/admin/cleanup/failures?limit=0", "limit");
}

// With the simulator refusing every delete, the returned sandbox shows up with the
// provider's error, its attempts and when cleanup tries again.
TEST(DashboardCleanupFailures, ListTheSandboxesTheProviderRefusesToDelete) {
    using namespace std::chrono_literals;
    SimProcess sim(sim_flags(4, {"--seed", "5"}));
    SimBroker broker(jobs_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 4; }, 10s));
    sim.set_faults({{"fail_rate", 1.0}});
    const std::string participant = unique_participant("dash-fail");
    const auto res = allocate(http, participant);
    ASSERT_EQ(res.status, 201) << res.body;
    const std::string id = res.json["sandbox_id"].get<std::string>();
    ASSERT_EQ(mark_for_deletion(http, id, participant).status, 200);

    nlohmann::json failures;
    ASSERT_TRUE(wait_until(
        [&] {
            failures = admin_get(http, "/v1/admin/cleanup/failures").json;
            return failures["count"] == 1;
        },
        20s))
        << failures.dump();
    const auto& f = failures["failures"][0];
    EXPECT_EQ(f["sandbox_id"], id);
    EXPECT_GE(f["attempts"].get<int>(), 1);
    EXPECT_EQ(f["attempts"], f["deletion_retry_count"]);
    EXPECT_FALSE(f["reason"].get<std::string>().empty()) << f.dump();
    EXPECT_TRUE(f["next_attempt_at"].is_number()) << f.dump();
    const auto stats = admin_stats(http);
    EXPECT_GE(stats["cleanup"]["retrying"].get<int>() + stats["cleanup"]["failed"].get<int>(), 1)
        << stats.dump();
    EXPECT_EQ(broker.stop(), 0);
}

}  // namespace
}  // namespace broker::e2e
