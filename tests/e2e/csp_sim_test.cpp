// The provider simulator as a real process (`sandbox-broker csp-sim`) over real HTTP: the CSP
// and NIOSXaaS paths, the token check, the control paths, start-up flags and a clean exit on
// SIGTERM. Faults and latency are in csp_sim_faults_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>

#include "e2e/sim_process.hpp"

namespace broker::e2e {
namespace {

using nlohmann::json;

const std::regex kAccountId(
    "^identity/accounts/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
const std::regex kIsoTime(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$)");

bool active_sandbox(const json& a) {
    return a["account_type"] == "sandbox" && a["state"] == "active";
}

std::vector<json> active_sandboxes(const HttpResponse& list) {
    std::vector<json> out;
    for (const auto& a : list.json["results"]) {
        if (active_sandbox(a)) out.push_back(a);
    }
    return out;
}

std::string uuid_of(const json& account) {
    const auto id = account["id"].get<std::string>();
    return id.substr(id.rfind('/') + 1);
}

TEST(CspSim, ListenOnLoopbackByDefaultAndExitZeroOnSigterm) {
    SimProcess sim({"--sandboxes", "1"});
    EXPECT_EQ(sim.host(), "127.0.0.1");
    EXPECT_NE(sim.port(), 0);
    EXPECT_EQ(sim.client().get("/_sim/stats").status, 200);
    EXPECT_EQ(sim.stop(), 0) << sim.process().err();
}

TEST(CspSim, ListsActiveSandboxesNamedFromThePrefixAmongAccountsToIgnore) {
    SimProcess sim({"--sandboxes", "12", "--name-prefix", "lab-"});
    auto http = sim.client();
    const auto list = http.get("/v2/current_user/accounts");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.header("Content-Type"), "application/json");

    const auto sandboxes = active_sandboxes(list);
    ASSERT_EQ(sandboxes.size(), 12u);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < sandboxes.size(); ++i) {
        const auto& a = sandboxes[i];
        char name[32];
        std::snprintf(name, sizeof name, "lab-%04zu", i);
        EXPECT_EQ(a["name"], name);
        EXPECT_EQ(a["csp_id"], 2009521 + static_cast<int>(i));
        EXPECT_TRUE(std::regex_match(a["id"].get<std::string>(), kAccountId)) << a["id"];
        EXPECT_TRUE(std::regex_match(a["created_at"].get<std::string>(), kIsoTime)) << a["created_at"];
        EXPECT_FALSE(a["sfdc_account_id"].get<std::string>().empty());
        ids.insert(a["id"].get<std::string>());
    }
    EXPECT_EQ(ids.size(), 12u) << "ids are unique";

    int not_sandbox = 0, inactive = 0;
    for (const auto& a : list.json["results"]) {
        not_sandbox += a["account_type"] != "sandbox";
        inactive += a["account_type"] == "sandbox" && a["state"] != "active";
    }
    EXPECT_GE(not_sandbox, 1);
    EXPECT_GE(inactive, 1);

    const auto stats = sim.stats();
    EXPECT_EQ(stats["active"], 12);
    EXPECT_EQ(stats["list_calls"], 1);
    EXPECT_EQ(stats["deleted"], 0);
}

TEST(CspSim, IdsFollowTheSeed) {
    const auto first_ids = [](const std::string& seed) {
        SimProcess sim({"--sandboxes", "3", "--seed", seed});
        auto http = sim.client();
        std::vector<std::string> ids;
        for (const auto& a : active_sandboxes(http.get("/v2/current_user/accounts"))) ids.push_back(a["id"]);
        return ids;
    };
    const auto a = first_ids("7");
    EXPECT_EQ(a.size(), 3u);
    EXPECT_EQ(a, first_ids("7"));
    EXPECT_NE(a, first_ids("8"));
}

TEST(CspSim, TokenIsRequiredOnTheAccountPathsWhenConfigured) {
    SimProcess sim({"--sandboxes", "2", "--token", "s3cret-token"});
    auto http = sim.client();
    EXPECT_EQ(http.get("/v2/current_user/accounts").status, 401);
    EXPECT_EQ(http.get("/v2/current_user/accounts", {{"Authorization", "Token wrong"}}).status, 401);
    EXPECT_EQ(http.get("/v2/current_user/accounts", {{"Authorization", "Bearer s3cret-token"}}).status, 401);
    const auto ok = http.get("/v2/current_user/accounts", {{"Authorization", "Token s3cret-token"}});
    ASSERT_EQ(ok.status, 200);

    const std::string target = "/v2/sandbox/accounts/" + uuid_of(active_sandboxes(ok).at(0));
    EXPECT_EQ(http.request("DELETE", target).status, 401);
    EXPECT_EQ(sim.stats()["deleted"], 0) << "an unauthorized delete removes nothing";
    EXPECT_EQ(http.request("DELETE", target, {{"Authorization", "Token s3cret-token"}}).status, 204);
    EXPECT_EQ(sim.stats()["list_calls"], 4);
}

TEST(CspSim, DeleteRemovesASandboxOnceThenAnswers404) {
    SimProcess sim({"--sandboxes", "5"});
    auto http = sim.client();
    const auto victim = active_sandboxes(http.get("/v2/current_user/accounts")).at(2);
    const std::string target = "/v2/sandbox/accounts/" + uuid_of(victim);

    EXPECT_EQ(http.request("DELETE", target).status, 204);
    EXPECT_EQ(http.request("DELETE", target).status, 404);
    EXPECT_EQ(http.request("DELETE", "/v2/sandbox/accounts/00000000-0000-4000-8000-000000000000").status,
              404);

    const auto after = active_sandboxes(http.get("/v2/current_user/accounts"));
    EXPECT_EQ(after.size(), 4u);
    for (const auto& a : after) {
        EXPECT_NE(a["id"], victim["id"]);
    }
    const auto stats = sim.stats();
    EXPECT_EQ(stats["deleted"], 1);
    EXPECT_EQ(stats["delete_calls"], 3);
    EXPECT_EQ(stats["active"], 4);
}

TEST(CspSim, VanishedAccountsLeaveTheListWithoutADelete) {
    SimProcess sim({"--sandboxes", "4"});
    auto http = sim.client();
    const auto victim = active_sandboxes(http.get("/v2/current_user/accounts")).at(1);
    const std::string vanish = "/_sim/accounts/" + std::to_string(victim["csp_id"].get<long>()) + "/vanish";

    EXPECT_EQ(http.post(vanish).status, 200);
    EXPECT_EQ(http.post(vanish).status, 404);
    EXPECT_EQ(http.post("/_sim/accounts/not-a-number/vanish").status, 400);
    EXPECT_EQ(active_sandboxes(http.get("/v2/current_user/accounts")).size(), 3u);
    EXPECT_EQ(http.request("DELETE", "/v2/sandbox/accounts/" + uuid_of(victim)).status, 404);

    const auto stats = sim.stats();
    EXPECT_EQ(stats["vanished"], 1);
    EXPECT_EQ(stats["deleted"], 0);
    EXPECT_EQ(stats["active"], 3);
}

TEST(CspSim, ControlPathAddsAccounts) {
    SimProcess sim({"--sandboxes", "2", "--name-prefix", "base-"});
    auto http = sim.client();
    const auto added = http.post("/_sim/accounts", {}, R"({"count": 3, "name_prefix": "extra-"})");
    ASSERT_EQ(added.status, 201) << added.body;
    EXPECT_EQ(added.json["added"], 3);
    EXPECT_EQ(added.json["results"][0]["name"], "extra-0000");
    EXPECT_EQ(added.json["results"][2]["name"], "extra-0002");
    EXPECT_EQ(http.post("/_sim/accounts", {}, R"({"count": 1})").json["results"][0]["name"], "base-0002");

    const auto listed = http.post("/_sim/accounts", {},
                                  R"([{"name": "hand-made", "sfdc_account_id": "001SIM"},
                                      {"name": "old", "state": "inactive"}])");
    ASSERT_EQ(listed.status, 201) << listed.body;
    EXPECT_EQ(listed.json["results"][0]["sfdc_account_id"], "001SIM");

    EXPECT_EQ(http.post("/_sim/accounts", {}, R"({"count": 0})").status, 400);
    EXPECT_EQ(http.post("/_sim/accounts", {}, R"({"count": "3"})").status, 400);
    EXPECT_EQ(http.post("/_sim/accounts", {}, "not json").status, 400);

    const auto names = [&] {
        std::set<std::string> out;
        for (const auto& a : active_sandboxes(http.get("/v2/current_user/accounts"))) out.insert(a["name"]);
        return out;
    }();
    EXPECT_EQ(names, (std::set<std::string>{"base-0000", "base-0001", "base-0002", "extra-0000", "extra-0001",
                                            "extra-0002", "hand-made"}));
    EXPECT_EQ(sim.stats()["active"], 7);
}

TEST(CspSim, NiosxaasSessionListsAndDeletesTheAccountsServices) {
    SimProcess sim({"--sandboxes", "2", "--token", "csp-token"});
    auto http = sim.client();
    const auto account =
        active_sandboxes(http.get("/v2/current_user/accounts", {{"Authorization", "Token csp-token"}})).at(0);

    EXPECT_EQ(http.post("/v2/session/users/sign_in", {}, R"({"email": "ops@example.com"})").status, 400);
    const auto signed_in =
        http.post("/v2/session/users/sign_in", {}, R"({"email": "ops@example.com", "password": "pw"})");
    ASSERT_EQ(signed_in.status, 200) << signed_in.body;
    const std::string user_jwt = signed_in.json["jwt"];

    const json switch_body = {{"id", account["id"]}};
    EXPECT_EQ(http.post("/v2/session/account_switch", {}, switch_body.dump()).status, 401);
    const auto switched = http.post("/v2/session/account_switch", {{"Authorization", "Bearer " + user_jwt}},
                                    switch_body.dump());
    ASSERT_EQ(switched.status, 200) << switched.body;
    const Headers bearer{{"Authorization", "Bearer " + switched.json["jwt"].get<std::string>()}};

    const std::string services_path = "/api/universalinfra/v1/universalservices";
    EXPECT_EQ(http.get(services_path).status, 401);
    const auto services = http.get(services_path, bearer);
    ASSERT_EQ(services.status, 200) << services.body;
    ASSERT_EQ(services.json["results"].size(), 2u);
    std::string lab_service;
    for (const auto& s : services.json["results"]) {
        if (s["name"].get<std::string>().rfind("Instrqt-SaaS-", 0) == 0) lab_service = s["id"];
    }
    ASSERT_FALSE(lab_service.empty()) << services.body;

    EXPECT_EQ(http.request("DELETE", services_path + "/" + lab_service, bearer).status, 204);
    EXPECT_EQ(http.request("DELETE", services_path + "/" + lab_service, bearer).status, 404);
    EXPECT_EQ(http.get(services_path, bearer).json["results"].size(), 1u);

    const auto stats = sim.stats();
    EXPECT_EQ(stats["sign_in_calls"], 2);
    EXPECT_EQ(stats["account_switch_calls"], 2);
    EXPECT_EQ(stats["service_list_calls"], 3);
    EXPECT_EQ(stats["service_delete_calls"], 2);
    EXPECT_EQ(stats["services_deleted"], 1);
}

TEST(CspSim, BadFlagsStopStartUpWithAMessage) {
    TempDir dir;
    for (const auto& flags : std::vector<std::vector<std::string>>{{"csp-sim", "--fail-rate", "2"},
                                                                   {"csp-sim", "--latency-ms", "-5"},
                                                                   {"csp-sim", "--listen", "nowhere"}}) {
        const auto result = run_broker_command(flags, {}, dir.path(), std::chrono::seconds(10));
        EXPECT_FALSE(result.timed_out);
        EXPECT_EQ(result.exit_code, 2) << flags[1] << "\n" << result.err;
        EXPECT_NE(result.err.find(flags[1].substr(2)), std::string::npos) << result.err;
        EXPECT_EQ(result.out.find("listening on"), std::string::npos);
    }
}

}  // namespace
}  // namespace broker::e2e
