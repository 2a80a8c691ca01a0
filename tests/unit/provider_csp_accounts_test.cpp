// parse_csp_accounts: which provider entries become sandboxes, and how bad bodies are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "provider/csp_accounts.hpp"

namespace broker {
namespace {

using ::testing::HasSubstr;

// The message of the std::invalid_argument that parsing `body` throws; fails the test if none.
std::string rejection(std::string_view body) {
    try {
        parse_csp_accounts(body);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    ADD_FAILURE() << "accepted: " << body;
    return "";
}

TEST(CspAccounts, KeepsOnlyActiveSandboxesInOrder) {
    const auto list = parse_csp_accounts(R"({"results": [
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/aaa", "name": "lab-1",
         "csp_id": 2009521, "created_at": "2025-03-27T16:53:47.605459Z", "sfdc_account_id": "001X"},
        {"account_type": "regular", "state": "active", "id": "identity/accounts/bbb", "csp_id": 1},
        {"account_type": "sandbox", "state": "deleted", "id": "identity/accounts/ccc", "csp_id": 2},
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/ddd", "name": "lab-2",
         "csp_id": "2009522"}
    ]})");
    ASSERT_EQ(list.sandboxes.size(), 2u);
    EXPECT_EQ(list.ignored, 2u);

    const auto& first = list.sandboxes[0];
    EXPECT_EQ(first.sandbox_id, "2009521");
    EXPECT_EQ(first.external_id, "identity/accounts/aaa");
    EXPECT_EQ(first.name, "lab-1");
    EXPECT_EQ(first.sfdc_account_id, "001X");

    const auto& second = list.sandboxes[1];
    EXPECT_EQ(second.sandbox_id, "2009522");  // numeric string form of csp_id
    EXPECT_EQ(second.external_id, "identity/accounts/ddd");
    EXPECT_EQ(second.sfdc_account_id, "");
}

TEST(CspAccounts, MissingOrNullTextFieldsBecomeEmptyStrings) {
    const auto list = parse_csp_accounts(R"({"results": [
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/a", "csp_id": 7,
         "sfdc_account_id": null, "name": null},
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/b", "csp_id": 8}
    ]})");
    ASSERT_EQ(list.sandboxes.size(), 2u);
    for (const auto& sandbox : list.sandboxes) {
        EXPECT_EQ(sandbox.name, "");
        EXPECT_EQ(sandbox.sfdc_account_id, "");
    }
}

TEST(CspAccounts, EmptyListAndNonObjectEntries) {
    EXPECT_TRUE(parse_csp_accounts(R"({"results": []})").sandboxes.empty());

    const auto list = parse_csp_accounts(R"({"results": [42, "x", null, {"state": "active"}]})");
    EXPECT_TRUE(list.sandboxes.empty());
    EXPECT_EQ(list.ignored, 4u);
}

TEST(CspAccounts, FieldsOtherThanTheKnownOnesAreIgnored) {
    const auto list = parse_csp_accounts(R"({"count": 1, "next": null, "results": [
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/a", "csp_id": 9,
         "parent_id": "x", "tags": {"k": "v"}}]})");
    ASSERT_EQ(list.sandboxes.size(), 1u);
    EXPECT_EQ(list.sandboxes[0].sandbox_id, "9");
}

TEST(CspAccounts, ActiveSandboxWithoutCspIdNamesTheEntry) {
    const auto message = rejection(R"({"results": [
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/a", "csp_id": 1},
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/b"}]})");
    EXPECT_THAT(message, HasSubstr("results[1]"));
    EXPECT_THAT(message, HasSubstr("csp_id"));
}

TEST(CspAccounts, ActiveSandboxWithoutIdNamesTheEntry) {
    const auto message = rejection(R"({"results": [
        {"account_type": "sandbox", "state": "active", "csp_id": 1, "id": null}]})");
    EXPECT_THAT(message, HasSubstr("results[0]"));
    EXPECT_THAT(message, HasSubstr("id"));

    EXPECT_THAT(rejection(R"({"results": [{"account_type": "sandbox", "state": "active", "csp_id": 1}]})"),
                HasSubstr("results[0]"));
}

TEST(CspAccounts, MalformedCspIdIsRefused) {
    for (const char* bad : {R"("abc")", R"("")", "-5", "1.5", R"("12x")", "true", "[1]"}) {
        const std::string body = std::string(R"({"results": [{"account_type": "sandbox", "state": "active",
            "id": "identity/accounts/a", "csp_id": )") +
                                 bad + "}]}";
        EXPECT_THAT(rejection(body), HasSubstr("csp_id")) << bad;
    }
}

TEST(CspAccounts, InactiveEntryWithoutIdsIsIgnoredNotRefused) {
    const auto list = parse_csp_accounts(R"({"results": [{"account_type": "sandbox", "state": "closed"}]})");
    EXPECT_TRUE(list.sandboxes.empty());
    EXPECT_EQ(list.ignored, 1u);
}

TEST(CspAccounts, HtmlErrorPageIsRefusedWithItsBeginning) {
    std::string page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>";
    page += std::string(500, 'x') + "</body></html>";
    const auto message = rejection(page);
    EXPECT_THAT(message, HasSubstr("not JSON"));
    EXPECT_THAT(message, HasSubstr("<!DOCTYPE html> <html><head><title>502 Bad Gateway"));
    EXPECT_LT(message.size(), 200u) << "the excerpt must be short";
}

TEST(CspAccounts, EmptyBodyIsRefused) {
    EXPECT_THAT(rejection(""), HasSubstr("empty"));
    EXPECT_THAT(rejection("  \n"), HasSubstr("empty"));
}

TEST(CspAccounts, WrongShapeIsRefused) {
    EXPECT_THAT(rejection(R"({"detail": "Invalid token"})"), HasSubstr("results"));
    EXPECT_THAT(rejection(R"({"results": {"a": 1}})"), HasSubstr("not an array"));
    EXPECT_THAT(rejection(R"({"results": null})"), HasSubstr("not an array"));
    EXPECT_THAT(rejection(R"([{"account_type": "sandbox"}])"), HasSubstr("results"));
    EXPECT_THAT(rejection(R"({"results": [)"), HasSubstr("not JSON"));
}

TEST(CspAccounts, OtherMembersOfTheListAreSkippedWhateverTheirShape) {
    const auto list = parse_csp_accounts(R"({"count": 2, "links": {"next": [1, {"results": 5}]}, "results": [
        {"account_type": "sandbox", "state": "active", "id": "identity/accounts/a", "csp_id": 7,
         "tags": {"lab": ["x", {"deep": null}]}, "score": 1.5, "ok": true},
        [1, 2], 3, null
    ], "next": {"results": "no"}})");
    ASSERT_EQ(list.sandboxes.size(), 1u);
    EXPECT_EQ(list.sandboxes[0].sandbox_id, "7");
    EXPECT_EQ(list.ignored, 3u);
}

TEST(CspAccounts, ASyntaxErrorInsideTheListSaysWhere) {
    const std::string body =
        R"({"results": [{"account_type": "sandbox", "state": "active", "id": "a", "csp_id": 7},
        {"account_type": "sandbox",, }]})";
    const auto message = rejection(body);
    EXPECT_THAT(message, HasSubstr("not JSON (byte "));
    EXPECT_THAT(message, HasSubstr(R"(it starts with: {"results": [)"));
}

TEST(CspAccounts, StreamingFromAFileGivesEachSandboxInOrderAndRereadsFromTheStart) {
    std::ifstream in(std::string(BROKER_SOURCE_DIR) + "/examples/demo-accounts.json", std::ios::binary);
    ASSERT_TRUE(in);
    std::stringstream text;
    text << in.rdbuf();
    const auto whole = parse_csp_accounts(text.str());
    in.clear();
    in.seekg(0);
    std::vector<std::string> streamed;
    const auto counts =
        stream_csp_accounts(in, [&](ProviderSandbox&& sandbox) { streamed.push_back(sandbox.sandbox_id); });
    EXPECT_EQ(counts.active, whole.sandboxes.size());
    EXPECT_EQ(counts.ignored, whole.ignored);
    ASSERT_EQ(streamed.size(), whole.sandboxes.size());
    for (std::size_t i = 0; i < streamed.size(); ++i) EXPECT_EQ(streamed[i], whole.sandboxes[i].sandbox_id);

    std::istringstream html("<!DOCTYPE html><html>502</html>");
    try {
        stream_csp_accounts(html, [](ProviderSandbox&&) {});
        ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("<!DOCTYPE html>"));
    }
}

TEST(CspAccounts, DemoPoolParses) {
    std::ifstream in(std::string(BROKER_SOURCE_DIR) + "/examples/demo-accounts.json");
    ASSERT_TRUE(in) << "examples/demo-accounts.json missing";
    std::stringstream text;
    text << in.rdbuf();
    const auto list = parse_csp_accounts(text.str());
    ASSERT_EQ(list.sandboxes.size(), 50u);
    EXPECT_GT(list.ignored, 0u);

    std::set<std::string> ids;
    int with_sfdc = 0;
    for (const auto& sandbox : list.sandboxes) {
        ids.insert(sandbox.sandbox_id);
        EXPECT_THAT(sandbox.name, ::testing::StartsWith("demo-sandbox-"));
        EXPECT_THAT(sandbox.external_id, ::testing::StartsWith("identity/accounts/"));
        if (!sandbox.sfdc_account_id.empty()) ++with_sfdc;
    }
    EXPECT_EQ(ids.size(), 50u) << "sandbox ids must be unique";
    EXPECT_GT(with_sfdc, 0);
    EXPECT_LT(with_sfdc, 50);
}

}  // namespace
}  // namespace broker
