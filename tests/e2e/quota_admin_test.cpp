// Reservations and track limits over HTTP on the real binary: create, list, get and cancel a
// reservation (with the shortfall warning and gauge), the 400s, a track limit put, listed and
// deleted, and the participants' answers under them (409 TRACK_LIMIT_REACHED, and
// NO_SANDBOXES_AVAILABLE for what another track's reservation holds back).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

using nlohmann::json;

long long unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class QuotaAdmin : public ::testing::Test {
  protected:
    QuotaAdmin() : broker_(sandboxes("quo-", 6, 8100), quick_metrics()), http_(broker_.client()) {}

    static Environment quick_metrics() {
        Environment env = serving_env();
        env["METRICS_POOL_CACHE_SEC"] = "0";
        return env;
    }

    Headers admin_json() {
        Headers h = admin_headers();
        h.push_back({"Content-Type", "application/json"});
        return h;
    }
    HttpResponse create(const json& body) {
        return http_.request("POST", "/v1/admin/reservations", admin_json(), body.dump());
    }
    HttpResponse put_limit(const std::string& track, const std::string& body) {
        return http_.request("PUT", "/v1/admin/tracks/" + track + "/limit", admin_json(), body);
    }
    HttpResponse allocate_in(const std::string& participant, const std::string& track) {
        return allocate(http_, participant, {{"X-Instruqt-Track-ID", track}});
    }
    double gauge(const std::string& series) { return metric_sample(http_.get("/metrics").body, series); }
    void expect_400(const json& body, const std::string& mentions) {
        const auto res = create(body);
        EXPECT_EQ(res.status, 400) << body.dump() << ": " << res.body;
        EXPECT_EQ(error_code(res), "INVALID_REQUEST");
        const std::string message =
            res.json["error"]["message"].is_string() ? res.json["error"]["message"] : "";
        EXPECT_NE(message.find(mentions), std::string::npos) << message;
    }

    BrokerInstance broker_;
    HttpClient http_;
};

TEST_F(QuotaAdmin, ReservationsAreCreatedListedFetchedAndCancelled) {
    const long long now = unix_now();
    const auto created =
        create({{"track", "class"}, {"count", 2}, {"starts_at", now + 3600}, {"ends_at", now + 7200}});
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string id = created.json["id"];
    EXPECT_EQ(id.rfind("res_", 0), 0u);
    EXPECT_EQ(created.json["track"], "class");
    EXPECT_EQ(created.json["count"], 2);
    EXPECT_EQ(created.json["used"], 0);
    EXPECT_EQ(created.json["outstanding"], 0) << "its window has not opened";
    EXPECT_EQ(created.json["active"], false);
    EXPECT_EQ(created.json["shortfall"], 0);
    EXPECT_TRUE(created.json["warning"].is_null());

    const auto list = admin_get(http_, "/v1/admin/reservations");
    ASSERT_EQ(list.status, 200);
    ASSERT_EQ(list.json["count"], 1);
    EXPECT_EQ(list.json["reservations"][0]["id"], id);
    const auto one = admin_get(http_, "/v1/admin/reservations/" + id);
    ASSERT_EQ(one.status, 200);
    EXPECT_EQ(one.json["ends_at"], now + 7200);

    const auto cancelled = http_.request("DELETE", "/v1/admin/reservations/" + id, admin_headers());
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(cancelled.json["cancelled"], true);
    EXPECT_EQ(admin_get(http_, "/v1/admin/reservations/" + id).status, 404);
    EXPECT_EQ(error_code(http_.request("DELETE", "/v1/admin/reservations/" + id, admin_headers())),
              "RESERVATION_NOT_FOUND");
}

TEST_F(QuotaAdmin, MalformedReservationsAre400) {
    const long long now = unix_now();
    expect_400({{"count", 1}, {"starts_at", now}, {"ends_at", now + 60}}, "track");
    expect_400({{"track", ""}, {"count", 1}, {"starts_at", now}, {"ends_at", now + 60}}, "track");
    expect_400({{"track", "t"}, {"count", 0}, {"starts_at", now}, {"ends_at", now + 60}}, "count");
    expect_400({{"track", "t"}, {"count", "two"}, {"starts_at", now}, {"ends_at", now + 60}}, "count");
    expect_400({{"track", "t"}, {"count", 1}, {"starts_at", now}, {"ends_at", now}}, "after starts_at");
    expect_400({{"track", "t"}, {"count", 1}, {"starts_at", now - 120}, {"ends_at", now - 60}}, "future");
    expect_400({{"track", "t"}, {"count", 1}, {"ends_at", now + 60}}, "starts_at");
    const auto not_json = http_.request("POST", "/v1/admin/reservations", admin_json(), "{nope");
    EXPECT_EQ(not_json.status, 400);
    EXPECT_EQ(put_limit("t", R"({"max_active": -1})").status, 400);
    EXPECT_EQ(put_limit("t", R"({"max_active": "3"})").status, 400);
    EXPECT_EQ(put_limit("t", R"({})").status, 400);
}

TEST_F(QuotaAdmin, AReservationHoldsSandboxesBackAndWarnsWhenThePoolCannotCoverIt) {
    const long long now = unix_now();
    const auto held =
        create({{"track", "class"}, {"count", 4}, {"starts_at", now - 10}, {"ends_at", now + 3600}});
    ASSERT_EQ(held.status, 201) << held.body;
    EXPECT_EQ(held.json["outstanding"], 4);
    EXPECT_EQ(gauge("broker_reservation_shortfall"), 0);
    EXPECT_EQ(gauge("broker_reservation_outstanding"), 4);

    // 6 sandboxes, 4 held back: the self-paced track gets 2, then an empty pool.
    EXPECT_EQ(allocate_in(unique_participant("o"), "self-paced").status, 201);
    EXPECT_EQ(allocate_in(unique_participant("o"), "self-paced").status, 201);
    const auto refused = allocate_in(unique_participant("o"), "self-paced");
    EXPECT_EQ(refused.status, 409);
    EXPECT_EQ(error_code(refused), "NO_SANDBOXES_AVAILABLE");
    EXPECT_EQ(allocate_in(unique_participant("c"), "class").status, 201);
    EXPECT_EQ(admin_get(http_, "/v1/admin/reservations/" + std::string(held.json["id"])).json["used"], 1);

    // Thursday's class of 5 cannot be covered by the 3 left (of which 3 are held for today).
    const auto thursday =
        create({{"track", "thursday"}, {"count", 5}, {"starts_at", now + 86400}, {"ends_at", now + 90000}});
    ASSERT_EQ(thursday.status, 201) << thursday.body;
    EXPECT_EQ(thursday.json["shortfall"], 2);
    ASSERT_TRUE(thursday.json["warning"].is_string());
    EXPECT_NE(std::string(thursday.json["warning"]).find("cannot cover"), std::string::npos);
    EXPECT_EQ(gauge("broker_reservation_shortfall"), 2);
}

TEST_F(QuotaAdmin, ATrackLimitIs409TrackLimitReachedAndCanBeRemoved) {
    const auto put = put_limit("dns%20basics", R"({"max_active": 1})");
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.json["track"], "dns basics");
    EXPECT_EQ(put.json["max_active"], 1);
    EXPECT_EQ(put.json["active"], 0);

    const std::string holder = unique_participant("p");
    const auto first = allocate_in(holder, "dns basics");
    ASSERT_EQ(first.status, 201) << first.body;
    const auto second = allocate_in(unique_participant("p"), "dns basics");
    EXPECT_EQ(second.status, 409);
    EXPECT_EQ(error_code(second), "TRACK_LIMIT_REACHED");
    EXPECT_TRUE(second.json["error"]["retry_after"].is_number());
    EXPECT_EQ(allocate_in(holder, "dns basics").status, 200) << "the holder's repeat gets its sandbox";

    const auto limits = admin_get(http_, "/v1/admin/tracks/limits");
    ASSERT_EQ(limits.status, 200);
    ASSERT_EQ(limits.json["count"], 1);
    EXPECT_EQ(limits.json["limits"][0]["active"], 1);
    EXPECT_EQ(metric_sample(http_.get("/metrics").body, "broker_track_active{track=\"dns basics\"}"), 1);

    EXPECT_EQ(http_.request("DELETE", "/v1/admin/tracks/dns%20basics/limit", admin_headers()).status, 200);
    EXPECT_EQ(error_code(http_.request("DELETE", "/v1/admin/tracks/dns%20basics/limit", admin_headers())),
              "TRACK_LIMIT_NOT_FOUND");
    EXPECT_EQ(allocate_in(unique_participant("p"), "dns basics").status, 201);
}

TEST_F(QuotaAdmin, TheRoutesNeedTheAdminToken) {
    const auto anonymous = http_.get("/v1/admin/reservations");
    EXPECT_EQ(anonymous.status, 401);
    const auto participant =
        http_.request("PUT", "/v1/admin/tracks/t/limit", {{"Authorization", "Bearer " + kApiToken}},
                      R"({"max_active": 1})");
    EXPECT_EQ(participant.status, 403);
}

}  // namespace
}  // namespace broker::e2e
