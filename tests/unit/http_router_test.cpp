// Router: template matching, path parameters, 404 vs 405 with Allow, the enumerable table.
#include <gtest/gtest.h>

#include "http/router.hpp"

namespace broker {
namespace {

asio::awaitable<Response> nothing(RequestContext&) {
    co_return Response{};
}

class RouterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add(bhttp::verb::post, "/v1/allocate", Access::participant, nothing);
        router.add(bhttp::verb::get, "/v1/sandboxes/{id}", Access::participant, nothing);
        router.add(bhttp::verb::post, "/v1/sandboxes/{id}/mark-for-deletion", Access::participant, nothing);
        router.add(bhttp::verb::get, "/healthz", Access::open, nothing);
        router.add(bhttp::verb::get, "/", Access::open, nothing);
    }
    Router router;
    PathParams params;
};

TEST_F(RouterTest, MatchesLiteralRoute) {
    const auto m = router.match(bhttp::verb::post, "/v1/allocate", params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->path_template, "/v1/allocate");
    EXPECT_EQ(m.route->access, Access::participant);
    EXPECT_EQ(params.size(), 0u);
}

TEST_F(RouterTest, ExtractsPathParameter) {
    auto m = router.match(bhttp::verb::get, "/v1/sandboxes/2009521", params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->path_template, "/v1/sandboxes/{id}");
    EXPECT_EQ(params.get("id"), "2009521");
    EXPECT_EQ(params.get("other"), "");

    m = router.match(bhttp::verb::post, "/v1/sandboxes/abc/mark-for-deletion", params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->path_template, "/v1/sandboxes/{id}/mark-for-deletion");
    EXPECT_EQ(params.get("id"), "abc");
}

TEST_F(RouterTest, RootMatchesOnlySlash) {
    auto m = router.match(bhttp::verb::get, "/", params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(m.route->path_template, "/");
    EXPECT_EQ(router.match(bhttp::verb::get, "", params).route, nullptr);
    EXPECT_EQ(router.match(bhttp::verb::get, "healthz", params).route, nullptr);
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
    for (const char* path :
         {"/v1/nope", "/v1/allocate/", "/v1/sandboxes", "/v1/sandboxes/", "/v1/sandboxes//x",
          "/v1/sandboxes/1/mark-for-deletion/extra", "/v2/allocate", "//healthz", "*"}) {
        const auto m = router.match(bhttp::verb::get, path, params);
        EXPECT_EQ(m.route, nullptr) << path;
        EXPECT_FALSE(m.path_known) << path;
        EXPECT_EQ(params.size(), 0u) << path;
    }
}

TEST_F(RouterTest, KnownPathWithWrongMethodListsAllowedMethods) {
    auto m = router.match(bhttp::verb::get, "/v1/allocate", params);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_known);
    EXPECT_EQ(m.allow, "POST");

    m = router.match(bhttp::verb::delete_, "/v1/sandboxes/7", params);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_TRUE(m.path_known);
    EXPECT_EQ(m.allow, "GET");
    EXPECT_EQ(params.size(), 0u);
}

TEST_F(RouterTest, SeveralMethodsOnOnePath) {
    router.add(bhttp::verb::post, "/healthz", Access::open, nothing);
    const auto m = router.match(bhttp::verb::put, "/healthz", params);
    EXPECT_TRUE(m.path_known);
    EXPECT_EQ(m.allow, "GET, POST");
}

TEST_F(RouterTest, RoutesAreEnumerableInRegistrationOrder) {
    std::vector<std::pair<bhttp::verb, std::string>> seen;
    for (const auto& r : router.routes()) seen.emplace_back(r.method, r.path_template);
    const std::vector<std::pair<bhttp::verb, std::string>> expected = {
        {bhttp::verb::post, "/v1/allocate"},
        {bhttp::verb::get, "/v1/sandboxes/{id}"},
        {bhttp::verb::post, "/v1/sandboxes/{id}/mark-for-deletion"},
        {bhttp::verb::get, "/healthz"},
        {bhttp::verb::get, "/"},
    };
    EXPECT_EQ(seen, expected);
}

TEST_F(RouterTest, RejectsMalformedAndDuplicateTemplates) {
    EXPECT_THROW(router.add(bhttp::verb::get, "no-slash", Access::open, nothing), std::invalid_argument);
    EXPECT_THROW(router.add(bhttp::verb::get, "/a//b", Access::open, nothing), std::invalid_argument);
    EXPECT_THROW(router.add(bhttp::verb::get, "/a/{}", Access::open, nothing), std::invalid_argument);
    EXPECT_THROW(router.add(bhttp::verb::get, "/a/{id", Access::open, nothing), std::invalid_argument);
    EXPECT_THROW(router.add(bhttp::verb::get, "/a/x{id}", Access::open, nothing), std::invalid_argument);
    EXPECT_THROW(router.add(bhttp::verb::get, "/healthz", Access::open, nothing), std::invalid_argument);
    EXPECT_NO_THROW(router.add(bhttp::verb::get, "/a/{x}/{y}", Access::open, nothing));
    const auto m = router.match(bhttp::verb::get, "/a/1/2", params);
    ASSERT_NE(m.route, nullptr);
    EXPECT_EQ(params.get("x"), "1");
    EXPECT_EQ(params.get("y"), "2");
}

}  // namespace
}  // namespace broker
