// parse_csp_accounts: which provider entries become sandboxes, and how bad bodies are refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
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

// A list read from a reader, as it arrives over the network: handed out `piece` bytes a call.
struct PieceReader {
    std::string text;
    std::size_t piece = 7;
    std::size_t at = 0;
    std::size_t calls = 0;
    std::size_t operator()(char* out, std::size_t size) {
        ++calls;
        const std::size_t n = std::min({size, piece, text.size() - at});
        std::copy_n(text.data() + at, n, out);
        at += n;
        return n;
    }
};

// What stream_csp_accounts(reader) keeps, or the message it refuses `text` with.
struct ReaderOutcome {
    std::vector<ProviderSandbox> sandboxes;
    CspAccountCounts counts;
    std::string refused;
};
ReaderOutcome read_pieces(std::string text, std::size_t piece = 7) {
    PieceReader reader{std::move(text), piece};
    ReaderOutcome out;
    try {
        out.counts = stream_csp_accounts([&](char* o, std::size_t n) { return reader(o, n); },
                                         [&](ProviderSandbox&& s) { out.sandboxes.push_back(std::move(s)); });
    } catch (const std::invalid_argument& e) {
        out.refused = e.what();
    }
    return out;
}

std::string entry(int csp_id, std::string_view state = "active", std::string_view name = "lab") {
    return R"({"account_type": "sandbox", "state": ")" + std::string(state) +
           R"(", "id": "identity/accounts/u)" + std::to_string(csp_id) + R"(", "name": ")" +
           std::string(name) + R"(", "csp_id": )" + std::to_string(csp_id) + "}";
}

TEST(CspAccountsReader, ReadsTheSameListAsTheBodyInSmallPieces) {
    const std::string text = R"({"next": {"deep": [1, {"x": "y"}]}, "results": [)" + entry(1) + "," +
                             entry(2, "deleted") +
                             R"(, {"account_type": "regular", "state": "active"}, 5, )" + entry(3) + "]}";
    const auto out = read_pieces(text, 3);
    ASSERT_EQ(out.refused, "");
    ASSERT_EQ(out.sandboxes.size(), 2u);
    EXPECT_EQ(out.sandboxes[0].sandbox_id, "1");
    EXPECT_EQ(out.sandboxes[1].sandbox_id, "3");
    EXPECT_EQ(out.counts.active, 2u);
    EXPECT_EQ(out.counts.ignored, 3u) << "not active, not a sandbox, not an object";
    EXPECT_EQ(parse_csp_accounts(text).sandboxes.size(), 2u) << "the same as the whole-body reading";
}

TEST(CspAccountsReader, RefusesMalformedTruncatedAndEmptyLists) {
    EXPECT_THAT(read_pieces("<!DOCTYPE html><html>oops</html>").refused, HasSubstr("not JSON"));
    EXPECT_THAT(read_pieces("<!DOCTYPE html><html>oops</html>").refused, HasSubstr("<!DOCTYPE html>"));
    EXPECT_THAT(read_pieces("").refused, HasSubstr("empty"));
    EXPECT_THAT(read_pieces(R"({"count": 3})").refused, HasSubstr("no \"results\""));
    EXPECT_THAT(read_pieces(R"({"results": {}})").refused, HasSubstr("not an array"));

    // Cut off half-way, as when the connection drops: the entries before the cut were handed
    // over, and the list is refused all the same.
    const std::string whole = R"({"results": [)" + entry(1) + "," + entry(2) + "]}";
    const auto cut = read_pieces(whole.substr(0, whole.size() - 30));
    EXPECT_THAT(cut.refused, HasSubstr("not JSON"));
    EXPECT_EQ(cut.sandboxes.size(), 1u);
    EXPECT_THAT(read_pieces(whole.substr(0, whole.size() - 1)).refused, HasSubstr("not JSON"));
    EXPECT_THAT(read_pieces(whole + " trailing").refused, HasSubstr("not JSON"));

    // A bad entry is refused with its index, as the whole-body reading does.
    EXPECT_THAT(read_pieces(R"({"results": [)" + entry(1) +
                            R"(, {"account_type": "sandbox", "state": "active", "id": "x"}]})")
                    .refused,
                HasSubstr("results[1]"));
}

TEST(CspAccountsReader, RefusesAHugeStringBeforeHoldingIt) {
    const std::string huge(4 * kMaxCspValueBytes, 'x');
    PieceReader reader{R"({"results": [)" + entry(1, "active", huge) + "]}", 4096};
    std::string refused;
    try {
        stream_csp_accounts([&](char* o, std::size_t n) { return reader(o, n); }, [](ProviderSandbox&&) {});
    } catch (const std::invalid_argument& e) {
        refused = e.what();
    }
    EXPECT_THAT(refused, HasSubstr("a value longer than 65536 bytes"));
    EXPECT_LT(reader.at, reader.text.size()) << "refused before the whole list was read";

    // Outside the entries too (another member of the root), and for a bare token.
    EXPECT_THAT(read_pieces(R"({"next": ")" + huge + R"(", "results": []})", 4096).refused,
                HasSubstr("a value longer than"));
    EXPECT_THAT(
        read_pieces(R"({"results": [)" + std::string(kMaxCspValueBytes + 1, '1') + "]}", 4096).refused,
        HasSubstr("a value longer than"));
    // One just under the bound is read (with escapes, which do not end the string).
    const std::string fits = std::string(kMaxCspValueBytes - 10, 'y') + R"(\"q\")";
    const auto ok = read_pieces(R"({"results": [)" + entry(1, "active", fits) + "]}", 4096);
    ASSERT_EQ(ok.refused, "");
    ASSERT_EQ(ok.sandboxes.size(), 1u);
    EXPECT_EQ(ok.sandboxes[0].name.size(), kMaxCspValueBytes - 10 + 3);
}

TEST(CspAccountsReader, RefusesAHugeEntry) {
    // Many small members: no one value is long, the entry is.
    std::string members;
    for (std::size_t i = 0; members.size() <= kMaxCspEntryBytes; ++i) {
        members += R"("k)" + std::to_string(i) + R"(": "0123456789012345678901234567890123456789", )";
    }
    const auto out = read_pieces(R"({"results": [{)" + members + R"("state": "active"}]})", 65536);
    EXPECT_THAT(out.refused, HasSubstr("an entry of \"results\" longer than"));
    // The same bytes spread over many entries are a long list, not a long entry.
    std::string many = R"({"results": [)";
    for (int i = 0; i < 30000; ++i) many += (i ? "," : "") + entry(i);
    many += "]}";
    ASSERT_GT(many.size(), kMaxCspEntryBytes);
    const auto fine = read_pieces(many, 65536);
    EXPECT_EQ(fine.refused, "");
    EXPECT_EQ(fine.counts.active, 30000u);
}

}  // namespace
}  // namespace broker
