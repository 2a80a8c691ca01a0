// The OpenAPI document against the routes actually served: a route without documentation
// or a documented operation nobody serves fails here. The router is built by the real
// handler groups; the check itself walks Router::routes(), whatever routes exist.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "../store/temp_dir.hpp"
#include "app/admin_api.hpp"
#include "app/event_stream_api.hpp"
#include "app/quota_api.hpp"
#include "app/webhooks.hpp"
#include "core/clock.hpp"
#include "core/errors.hpp"
#include "http/dashboard/dashboard_page.hpp"
#include "http/handlers/docs_handlers.hpp"
#include "http/handlers/metrics_handler.hpp"
#include "http/handlers/ops_handlers.hpp"
#include "http/handlers/participant_handlers.hpp"
#include "http/openapi/embedded.hpp"
#include "http/openapi/openapi_check.hpp"
#include "runtime/blocking_pool.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace broker {
namespace {

asio::awaitable<Response> nothing(RequestContext&) {
    co_return Response{};
}

// Every handler group main.cpp registers, on a router of its own.
struct ServedRoutes {
    explicit ServedRoutes(const std::string& base_path) : docs(base_path) {
        SqliteOptions options;
        options.path = (dir.path() / "broker.db").string();
        store = StoreHandle(std::make_unique<SqliteStore>(options));
        service = std::make_unique<AllocationService>(store.store(), clock, LeasePolicy{});
        participant = std::make_unique<ParticipantHandlers>(*service, pool, std::chrono::seconds(30));
        ops = std::make_unique<OpsHandlers>(store.store(), pool);
        metrics = std::make_unique<MetricsHandler>(registry, pool);
        admin = std::make_unique<AdminApi>(store, clock, pool, JobConfig{}, nullptr, true);
        participant->add_routes(router, base_path);
        admin->add_routes(router, base_path);
        quota = std::make_unique<QuotaApi>(store.store(), clock, pool, registry, std::chrono::seconds(60));
        quota->add_routes(router, base_path);
        events = std::make_unique<EventStreamApi>(EventStreamOptions{}, &store.part<EventStore>(), pool, registry);
        events->add_routes(router, base_path);
        webhooks = std::make_unique<WebhookApi>(store, clock, pool, WebhookConfig{});
        webhooks->add_routes(router, base_path);
        ops->add_routes(router);
        metrics->add_routes(router);
        docs.add_routes(router);
        dashboard.add_routes(router);
    }

    ManualClock clock;
    testing::TempDir dir;
    BlockingPool pool{1, 4};
    MetricsRegistry registry;
    StoreHandle store;
    std::unique_ptr<AllocationService> service;
    std::unique_ptr<ParticipantHandlers> participant;
    std::unique_ptr<OpsHandlers> ops;
    std::unique_ptr<MetricsHandler> metrics;
    std::unique_ptr<AdminApi> admin;
    std::unique_ptr<QuotaApi> quota;
    std::unique_ptr<EventStreamApi> events;
    std::unique_ptr<WebhookApi> webhooks;
    DocsHandlers docs;
    Authenticator auth{"api-token", "admin-token"};
    DashboardPage dashboard{auth, "/v1", "auto"};
    Router router;
};

TEST(HttpOpenApi, EveryServedRouteIsDocumentedAndNothingElse) {
    ServedRoutes served("/v1");
    const auto mismatches = route_document_mismatches(served.router, served.docs.document());
    EXPECT_TRUE(mismatches.empty()) << ::testing::PrintToString(mismatches);
}

// The viewer role (viewer token, dashboard session) reads the whole admin API and changes
// nothing: a new admin GET registered as Access::admin, or an admin change registered as
// admin_read, fails here whichever handler group adds it.
TEST(HttpOpenApi, EveryAdminGetIsOpenToTheViewerAndEveryAdminChangeIsNot) {
    ServedRoutes served("/v1");
    std::size_t reads = 0;
    for (const Route& route : served.router.routes()) {
        if (!route.path_template.starts_with("/v1/admin/")) continue;
        const bool get = route.method == bhttp::verb::get;
        reads += get ? 1 : 0;
        EXPECT_EQ(route.access, get ? Access::admin_read : Access::admin)
            << route.method << " " << route.path_template;
    }
    EXPECT_GE(reads, 10u) << "the admin API's reads are all registered";
}

TEST(HttpOpenApi, TheCheckNoticesAnUndocumentedRouteAndAnUnservedOperation) {
    ServedRoutes served("/v1");
    served.router.add(bhttp::verb::post, "/v1/admin/unlisted", Access::admin, nothing);
    auto document = nlohmann::json::parse(served.docs.document());
    document["paths"]["/v1/ghost"]["get"] = {{"responses", nlohmann::json::object()}};
    const auto mismatches = route_document_mismatches(served.router, document.dump());
    ASSERT_EQ(mismatches.size(), 2u) << ::testing::PrintToString(mismatches);
    EXPECT_EQ(mismatches[0], "POST /v1/admin/unlisted: served but not in the OpenAPI document");
    EXPECT_EQ(mismatches[1], "GET /v1/ghost: in the OpenAPI document but not served");
}

TEST(HttpOpenApi, AnotherBasePathMovesTheDocumentedPathsWithIt) {
    ServedRoutes served("/api/v2");
    EXPECT_TRUE(route_document_mismatches(served.router, served.docs.document()).empty());
    const auto document = nlohmann::json::parse(served.docs.document());
    EXPECT_TRUE(document["paths"].contains("/api/v2/allocate"));
    EXPECT_TRUE(document["paths"].contains("/healthz"));
}

TEST(HttpOpenApi, DocumentsEveryErrorCodeAndIsOpenApi3) {
    const auto document = nlohmann::json::parse(embedded_openapi_json());
    EXPECT_TRUE(document["openapi"].get<std::string>().starts_with("3."));
    const auto& codes = document["components"]["schemas"]["ErrorCode"]["enum"];
    for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
        const std::string name(code_name(static_cast<ErrorCode>(i)));
        EXPECT_NE(std::find(codes.begin(), codes.end(), name), codes.end()) << name;
    }
}

TEST(HttpOpenApi, DocsPolicyAllowsExactlyThePagesInlineScriptAndStyle) {
    DocsHandlers docs("/v1");
    const std::string& csp = docs.docs_csp();
    EXPECT_NE(csp.find("script-src 'sha256-"), std::string::npos) << csp;
    EXPECT_NE(csp.find("style-src 'sha256-"), std::string::npos) << csp;
    EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("http"), std::string::npos) << "no external origin: " << csp;
    // The page loads nothing from elsewhere.
    const std::string_view page = embedded_docs_html();
    EXPECT_EQ(page.find("src=\"http"), std::string_view::npos);
    EXPECT_EQ(page.find("href=\"http"), std::string_view::npos);
    EXPECT_NE(page.find("fetch(\"openapi.json\")"), std::string_view::npos);
}

// What the edge answers on every route is in the document: 405/413/431 everywhere, 429 on every
// rate-limited route, Retry-After on 409/429/503, and the job routes' own error codes.
TEST(HttpOpenApi, DocumentsTheEdgeAnswersAndTheJobErrors) {
    const auto document = nlohmann::json::parse(embedded_openapi_json());
    EXPECT_EQ(document["openapi"], "3.1.0");
    EXPECT_EQ(std::string(embedded_openapi_json()).find("\"nullable\""), std::string::npos)
        << "3.1 spells nullable as a type array";
    const auto& responses = document["components"]["responses"];
    for (const char* name : {"Conflict", "RateLimited", "Unavailable"}) {
        EXPECT_TRUE(responses[name]["headers"].contains("Retry-After")) << name;
    }
    auto resolve = [&](const nlohmann::json& r) -> const nlohmann::json& {
        if (!r.contains("$ref")) return r;
        const std::string ref = r["$ref"];
        return responses[ref.substr(ref.rfind('/') + 1)];
    };
    const std::set<std::string> exempt = {"/healthz", "/readyz", "/metrics"};
    for (const auto& [path, item] : document["paths"].items()) {
        for (const auto& [method, op] : item.items()) {
            if (method == "parameters") continue;
            const auto& r = op["responses"];
            const std::string where = method + " " + path;
            for (const char* status : {"405", "413", "431"})
                EXPECT_TRUE(r.contains(status)) << where << " " << status;
            EXPECT_EQ(r.contains("429"), !exempt.contains(path)) << where;
            if (path.starts_with("/v1/admin/jobs/{name}")) {
                ASSERT_TRUE(r.contains("404")) << where;
                EXPECT_NE(resolve(r["404"])["description"].get<std::string>().find("JOB_NOT_FOUND"),
                          std::string::npos)
                    << where;
            }
            if (r.contains("409") && (path.starts_with("/v1/admin/jobs/") || path == "/v1/admin/sync" ||
                                      path == "/v1/admin/cleanup")) {
                EXPECT_NE(resolve(r["409"])["description"].get<std::string>().find("JOB_PAUSED"),
                          std::string::npos)
                    << where;
            }
        }
    }
}

}  // namespace
}  // namespace broker
