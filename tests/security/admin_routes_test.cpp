// Threat: a participant (whose token every lab script holds) reaching the admin API, which
// can empty the pool, pause the clean-up or read every participant's sandbox. Defence: every
// /admin route is Access::admin; the pipeline answers the participant token 403 FORBIDDEN
// and no token 401 before any handler runs. The routes are read from the OpenAPI document,
// so a new admin route is covered without touching this test.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

struct Operation {
    std::string method;
    std::string path;  // parameters filled in
};

std::vector<Operation> admin_operations() {
    std::ifstream in(std::string(BROKER_SOURCE_DIR) + "/src/http/openapi/openapi.json");
    std::stringstream text;
    text << in.rdbuf();
    const auto document = nlohmann::json::parse(text.str());
    std::vector<Operation> operations;
    for (const auto& [path, item] : document.at("paths").items()) {
        if (path.find("/admin/") == std::string::npos) continue;
        std::string filled = path;
        for (const auto& [name, value] : {std::pair{"{id}", "790000"}, std::pair{"{name}", "cleanup"}}) {
            if (auto at = filled.find(name); at != std::string::npos)
                filled.replace(at, std::string(name).size(), value);
        }
        for (const char* method : {"get", "post", "put", "delete", "patch"}) {
            if (!item.contains(method)) continue;
            std::string upper = method;
            for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            operations.push_back({upper, filled});
        }
    }
    return operations;
}

TEST(AdminRoutes, TheParticipantTokenIs403AndNoTokenIs401OnEveryAdminRoute) {
    const auto operations = admin_operations();
    ASSERT_GE(operations.size(), 10u) << "the document lists the admin API";
    BrokerInstance broker(sandboxes("admin-sec-", 3, 790000));
    auto client = broker.client();
    for (const auto& op : operations) {
        const auto as_participant =
            client.request(op.method, op.path, {{"Authorization", "Bearer " + kApiToken}});
        EXPECT_EQ(as_participant.status, 403) << op.method << " " << op.path << ": " << as_participant.body;
        EXPECT_EQ(error_code(as_participant), "FORBIDDEN") << as_participant.body;
        const auto anonymous = client.request(op.method, op.path);
        EXPECT_EQ(anonymous.status, 401) << op.method << " " << op.path;
    }
    // Nothing changed: the pool is whole and no job was paused.
    const Headers admin = {{"Authorization", "Bearer " + kAdminToken}};
    EXPECT_EQ(client.get("/v1/admin/stats", admin).json.value("available", -1), 3);
    const auto jobs = client.get("/v1/admin/jobs", admin).json;
    ASSERT_TRUE(jobs.contains("jobs")) << jobs.dump();
    for (const auto& job : jobs["jobs"]) {
        EXPECT_FALSE(job.value("paused", true)) << job.dump();
    }
}

}  // namespace
}  // namespace broker::e2e
