// `sandbox-broker admin …` run as a process against a running broker: every command's JSON
// output checked against the admin API's own answer, the tables people read, paging with
// --all and export (CSV and JSON parsed back), bulk-delete's confirmation, and the exit codes:
// 1 refused (the broker's code printed), 2 bad usage, 3 unreachable.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "e2e/jobs_fixture.hpp"

namespace broker::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Sandbox fields that a CSV must carry through quoting intact.
std::vector<PoolEntry> awkward_pool(int count) {
    auto pool = sandboxes("adm-cli-", count, 8200000);
    pool[3].sfdc_account_id = "Acme, Inc.";
    pool[4].sfdc_account_id = "say \"hi\"";
    pool[5].sfdc_account_id = "two\nlines";
    pool[6].name = "adm-cli-comma,6";
    return pool;
}

// RFC 4180 records: fields split on commas, quoted fields may hold commas, quotes (doubled)
// and line ends; every record ends with CRLF. A bare LF outside quotes stays in the field,
// so a writer that ends records wrongly fails the comparisons.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c != '"') {
                field += c;
            } else if (i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else {
                quoted = false;
            }
        } else if (c == '"' && field.empty()) {
            quoted = true;
        } else if (c == ',') {
            record.push_back(std::move(field));
            field.clear();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            record.push_back(std::move(field));
            field.clear();
            records.push_back(std::move(record));
            record.clear();
            ++i;
        } else {
            field += c;
        }
    }
    EXPECT_FALSE(quoted) << "an unterminated quoted field";
    EXPECT_TRUE(record.empty() && field.empty()) << "the last record does not end with CRLF";
    return records;
}

struct TerminalRun {
    int exit_code = -1;
    std::string screen;  // everything the command wrote (stdout and stderr share the terminal)
};

// Runs `sandbox-broker args...` with a pseudo-terminal as its standard input and output, and
// types `reply` once `prompt` has appeared: an operator at a terminal. Bounded by `limit`.
TerminalRun run_on_terminal(const std::vector<std::string>& args, const Environment& env,
                            const std::string& prompt, const std::string& reply,
                            std::chrono::milliseconds limit = 20s) {
    std::vector<std::string> argv_text{BROKER_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<std::string> env_text;
    for (const auto& [name, value] : env) env_text.push_back(name + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : argv_text) argv.push_back(a.data());
    for (auto& e : env_text) envp.push_back(e.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);

    int terminal = -1;
    const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
    if (pid == 0) {
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    TerminalRun run;
    if (pid < 0) return run;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    bool answered = false;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd ready{terminal, POLLIN, 0};
        if (::poll(&ready, 1, 100) <= 0) continue;
        char buffer[4096];
        const ssize_t got = ::read(terminal, buffer, sizeof buffer);
        if (got <= 0) break;  // EIO: the command exited and closed the terminal
        run.screen.append(buffer, static_cast<std::size_t>(got));
        if (!answered && run.screen.find(prompt) != std::string::npos) {
            answered = ::write(terminal, reply.data(), reply.size()) == static_cast<ssize_t>(reply.size());
        }
    }
    if (std::chrono::steady_clock::now() >= deadline) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(terminal);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

class AdminCli : public ::testing::Test {
  protected:
    explicit AdminCli(int sandboxes = 300) : broker_(awkward_pool(sandboxes)), http_(broker_.client()) {}

    std::string url() const { return "http://127.0.0.1:" + std::to_string(broker_.process().port()); }

    // The CLI's environment: the broker's address and the admin token, nothing else.
    Environment cli_env() const { return {{"BROKER_URL", url()}, {"BROKER_ADMIN_TOKEN", kAdminToken}}; }

    CommandResult admin(const std::vector<std::string>& args, const Environment& env) const {
        std::vector<std::string> argv{"admin"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_broker_command(argv, env, dir_.path(), 30s);
    }
    CommandResult admin(const std::vector<std::string>& args) const { return admin(args, cli_env()); }

    // `admin --output json ARGS`: must succeed, and print one JSON document.
    json admin_json(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{"--output", "json"};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto result = admin(argv);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        const auto parsed = json::parse(result.out, nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << result.out;
        return parsed;
    }

    json api_get(const std::string& target) {
        const auto res = admin_get(http_, target);
        EXPECT_EQ(res.status, 200) << target << ": " << res.body;
        return res.json;
    }

    // The stats answer without the fields read from the clock ("now" and the window it ends), so two
    // reads a second boundary apart still compare equal.
    static json stats_without_clock(json stats) {
        stats.erase("now");
        stats.erase("window");
        return stats;
    }

    // Every sandbox the API lists, page by page.
    std::vector<json> api_all(const std::string& query = "") {
        std::vector<json> all;
        std::string cursor;
        for (int page = 0; page < 1000; ++page) {
            const json answer = api_get("/v1/admin/sandboxes?limit=1000" + query +
                                        (cursor.empty() ? "" : "&cursor=" + cursor));
            for (const auto& s : answer["sandboxes"]) all.push_back(s);
            if (answer["next_cursor"].is_null()) break;
            cursor = answer["next_cursor"].get<std::string>();
        }
        return all;
    }

    TempDir dir_;
    BrokerInstance broker_;
    HttpClient http_;
};

TEST_F(AdminCli, StatsIsTheApisAnswerAndATableOfStatuses) {
    const json from_cli = admin_json({"stats"});
    ASSERT_TRUE(from_cli.contains("now")) << from_cli;
    EXPECT_EQ(stats_without_clock(from_cli), stats_without_clock(api_get("/v1/admin/stats")));

    const auto table = admin({"stats"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(table.out.rfind("STATUS", 0), 0u) << table.out;
    EXPECT_NE(table.out.find("\navailable         300\n"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("\ntotal             300\n"), std::string::npos) << table.out;
}

TEST_F(AdminCli, ListShowsOnePageAndSaysHowToGetTheNext) {
    EXPECT_EQ(admin_json({"list", "--status", "available", "--limit", "7"}),
              api_get("/v1/admin/sandboxes?status=available&limit=7"));

    const auto table = admin({"list", "--limit", "5"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 6) << "a heading and 5 rows:\n"
                                                                       << table.out;
    EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
    EXPECT_NE(table.out.find("adm-cli-0"), std::string::npos) << table.out;
    const auto next = api_get("/v1/admin/sandboxes?limit=5")["next_cursor"].get<std::string>();
    EXPECT_NE(table.err.find("--cursor " + next), std::string::npos) << table.err;

    // The page after it, by the cursor the first one gave.
    EXPECT_EQ(admin_json({"list", "--limit", "5", "--cursor", next}),
              api_get("/v1/admin/sandboxes?limit=5&cursor=" + next));

    const auto bad = admin({"list", "--status", "lost"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("INVALID_REQUEST"), std::string::npos) << bad.err;
}

TEST_F(AdminCli, ListAllFollowsTheCursorOverSeveralPages) {
    const auto result = admin({"--output", "json", "list", "--all", "--limit", "40"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const json all = json::parse(result.out);
    std::vector<json> api = api_all();
    ASSERT_EQ(api.size(), 300u);
    EXPECT_EQ(all["count"], 300);
    EXPECT_TRUE(all["next_cursor"].is_null());
    EXPECT_EQ(all["sandboxes"], json(api)) << "every row once, in the API's order";
    EXPECT_NE(result.err.find("300 sandboxes, 8 pages, done"), std::string::npos) << result.err;

    const auto table = admin({"list", "--all", "--limit", "100", "--status", "available"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 301) << table.out.substr(0, 500);
}

TEST_F(AdminCli, ShowPrintsTheSandboxWithItsHistory) {
    const auto participant = unique_participant("admin-cli");
    const auto allocated = allocate(http_, participant);
    ASSERT_EQ(allocated.status, 201) << allocated.body;
    const std::string id = allocated.json["sandbox_id"];

    const json shown = admin_json({"show", id});
    EXPECT_EQ(shown, api_get("/v1/admin/sandboxes/" + id));
    ASSERT_EQ(shown["history"].size(), 2u) << shown.dump();
    EXPECT_EQ(shown["history"][1]["to"], "allocated");

    const auto table = admin({"show", id});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("allocated_to_track     " + participant), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("available  allocated  " + participant), std::string::npos) << table.out;

    const auto missing = admin({"show", "no-such/../stats"});
    EXPECT_EQ(missing.exit_code, 1) << missing.out;
    EXPECT_NE(missing.err.find("SANDBOX_NOT_FOUND"), std::string::npos) << missing.err;
}

TEST_F(AdminCli, JobsPauseAndResumeAreTheApisAnswers) {
    const json jobs = admin_json({"jobs"});
    const json api = api_get("/v1/admin/jobs");
    ASSERT_EQ(jobs["jobs"].size(), api["jobs"].size());
    for (std::size_t i = 0; i < api["jobs"].size(); ++i) {
        EXPECT_EQ(jobs["jobs"][i]["name"], api["jobs"][i]["name"]);
        EXPECT_EQ(jobs["jobs"][i]["interval_sec"], api["jobs"][i]["interval_sec"]);
        EXPECT_EQ(jobs["jobs"][i]["paused"], api["jobs"][i]["paused"]);
    }

    const json paused = admin_json({"pause", "auto_expiry"});
    EXPECT_EQ(paused["name"], "auto_expiry");
    EXPECT_EQ(paused["paused"], true);
    const auto table = admin({"jobs"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("auto_expiry        300s      yes"), std::string::npos) << table.out;
    bool api_paused = false;
    const json after = api_get("/v1/admin/jobs");
    for (const auto& j : after["jobs"]) api_paused |= j["name"] == "auto_expiry" && j["paused"] == true;
    EXPECT_TRUE(api_paused);

    // A paused job is refused a run, with the broker's code.
    const auto refused = admin({"run", "auto_expiry"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("JOB_PAUSED"), std::string::npos) << refused.err;

    EXPECT_EQ(admin_json({"resume", "auto_expiry"})["paused"], false);
    const auto unknown = admin({"pause", "nightly"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_NE(unknown.err.find("JOB_NOT_FOUND"), std::string::npos) << unknown.err;
}

TEST_F(AdminCli, RunWaitsForTheRunAndPrintsItsResult) {
    const json run = admin_json({"run", "auto_delete_stale"});
    EXPECT_EQ(run["status"], "finished") << run.dump();
    EXPECT_EQ(run["ok"], true);
    EXPECT_EQ(run["result"]["job"], "auto_delete_stale");
    EXPECT_EQ(run,
              api_get("/v1/admin/jobs/auto_delete_stale/runs/" + std::to_string(run["run_id"].get<long>())));

    const auto table = admin({"run", "auto_expiry"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("auto_expiry run "), std::string::npos) << table.out;
    EXPECT_NE(table.out.find(": ok in "), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("\nexpired  0\n"), std::string::npos) << table.out;
}

TEST_F(AdminCli, BulkDeleteNeedsYesWithoutATerminal) {
    const auto participant = unique_participant("admin-cli-bulk");
    const auto allocated = allocate(http_, participant);
    ASSERT_EQ(allocated.status, 201);
    ASSERT_EQ(mark_for_deletion(http_, allocated.json["sandbox_id"], participant).status, 200);
    ASSERT_EQ(admin_stats(http_)["pending_deletion"], 1);

    // Standard input is /dev/null here: no terminal to ask on.
    const auto refused = admin({"bulk-delete", "--status", "pending_deletion"});
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.err.find("--yes"), std::string::npos) << refused.err;
    EXPECT_EQ(admin_stats(http_)["pending_deletion"], 1) << "nothing removed";

    const json removed = admin_json({"bulk-delete", "--status", "pending_deletion", "--yes"});
    EXPECT_EQ(removed, json({{"status", "pending_deletion"}, {"removed", 1}}));
    EXPECT_EQ(admin_stats(http_)["pending_deletion"], 0);

    const auto allocated_refused = admin({"bulk-delete", "--status", "allocated", "--yes"});
    EXPECT_EQ(allocated_refused.exit_code, 1);
    EXPECT_NE(allocated_refused.err.find("INVALID_REQUEST"), std::string::npos) << allocated_refused.err;
    EXPECT_EQ(admin({"bulk-delete"}).exit_code, 2) << "--status is required";
}

TEST_F(AdminCli, BulkDeleteAsksOnTheTerminal) {
    const auto participant = unique_participant("admin-cli-tty");
    const auto allocated = allocate(http_, participant);
    ASSERT_EQ(allocated.status, 201);
    ASSERT_EQ(mark_for_deletion(http_, allocated.json["sandbox_id"], participant).status, 200);

    const std::vector<std::string> args{"admin", "bulk-delete", "--status", "pending_deletion"};
    const auto declined = run_on_terminal(args, cli_env(), "Type yes", "no\n");
    EXPECT_EQ(declined.exit_code, 1) << declined.screen;
    EXPECT_NE(declined.screen.find("Remove 1 sandboxes in status pending_deletion"), std::string::npos)
        << declined.screen;
    EXPECT_NE(declined.screen.find("nothing removed"), std::string::npos) << declined.screen;
    EXPECT_EQ(admin_stats(http_)["pending_deletion"], 1);

    const auto confirmed = run_on_terminal(args, cli_env(), "Type yes", "yes\n");
    EXPECT_EQ(confirmed.exit_code, 0) << confirmed.screen;
    EXPECT_NE(confirmed.screen.find("removed 1 sandboxes in status pending_deletion"), std::string::npos)
        << confirmed.screen;
    EXPECT_EQ(admin_stats(http_)["pending_deletion"], 0);
}

TEST_F(AdminCli, AutoDeleteStaleAnswersTheRunsResult) {
    const json result = admin_json({"auto-delete-stale", "--grace-hours", "1.5"});
    EXPECT_EQ(result["ok"], true) << result.dump();
    EXPECT_EQ(result["grace_period_hours"], 1.5);
    EXPECT_EQ(result["counts"]["removed"], 0);

    const auto table = admin({"auto-delete-stale"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("auto_delete_stale: ok"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("\nremoved "), std::string::npos) << table.out;
}

TEST_F(AdminCli, ExportWritesEveryRowAsCsvAndAsJson) {
    const std::vector<json> api = api_all();
    ASSERT_EQ(api.size(), 300u);

    const auto csv = admin({"export", "--format", "csv", "--limit", "70"});
    ASSERT_EQ(csv.exit_code, 0) << csv.err;
    EXPECT_NE(csv.err.find("export: 300 sandboxes, 5 pages, done"), std::string::npos) << csv.err;
    const auto records = parse_csv(csv.out);
    ASSERT_EQ(records.size(), 301u) << "a header and a record per sandbox";
    const auto& header = records[0];
    ASSERT_EQ(header.front(), "sandbox_id");
    for (std::size_t i = 0; i < api.size(); ++i) {
        const auto& record = records[i + 1];
        ASSERT_EQ(record.size(), header.size()) << i;
        for (std::size_t c = 0; c < header.size(); ++c) {
            const json& value = api[i][header[c]];
            const std::string expected = value.is_null()     ? ""
                                         : value.is_string() ? value.get<std::string>()
                                                             : value.dump();
            EXPECT_EQ(record[c], expected) << header[c] << " of " << api[i]["sandbox_id"];
        }
    }
    std::set<std::string> sfdc;
    for (const auto& record : records) sfdc.insert(record[3]);
    EXPECT_TRUE(sfdc.contains("Acme, Inc.") && sfdc.contains("say \"hi\"") && sfdc.contains("two\nlines"));

    const auto array = admin({"export", "--format", "json"});
    ASSERT_EQ(array.exit_code, 0) << array.err;
    EXPECT_EQ(json::parse(array.out), json(api));

    const auto lines = admin({"export", "--format", "jsonl", "--limit", "1000"});
    ASSERT_EQ(lines.exit_code, 0) << lines.err;
    std::istringstream in(lines.out);
    std::vector<json> parsed;
    for (std::string line; std::getline(in, line);) parsed.push_back(json::parse(line));
    EXPECT_EQ(json(parsed), json(api));

    // A filter narrows the export as it narrows the list.
    const auto none = admin({"export", "--format", "csv", "--status", "stale"});
    ASSERT_EQ(none.exit_code, 0) << none.err;
    EXPECT_EQ(parse_csv(none.out).size(), 1u) << "the header alone:\n" << none.out;
    const auto empty_array = admin({"export", "--format", "json", "--status", "stale"});
    EXPECT_EQ(json::parse(empty_array.out), json::array());
}

// --track, --prefix and --query are the broker's list filters where it has them (its
// OpenAPI document lists the parameter); elsewhere they are refused, never silently dropped.
TEST_F(AdminCli, OptionalFiltersArePassedThroughOrRefused) {
    const json doc = json::parse(http_.get("/v1/openapi.json").body);
    std::set<std::string> parameters;
    for (const auto& p : doc["paths"]["/v1/admin/sandboxes"]["get"]["parameters"])
        parameters.insert(p["name"]);
    const std::vector<std::tuple<std::string, std::string, std::string>> filters = {
        {"--track", "track", "dns-basics"},
        {"--prefix", "prefix", "adm-cli-1"},
        {"--query", "q", "adm-cli-2"}};
    for (const auto& [flag, parameter, value] : filters) {
        const auto result = admin({"--output", "json", "list", flag, value, "--limit", "1000"});
        if (parameters.contains(parameter)) {
            ASSERT_EQ(result.exit_code, 0) << flag << ": " << result.err;
            EXPECT_EQ(json::parse(result.out),
                      api_get("/v1/admin/sandboxes?limit=1000&" + parameter + "=" + value));
        } else {
            EXPECT_EQ(result.exit_code, 1) << flag;
            EXPECT_NE(result.err.find("FILTER_NOT_SUPPORTED"), std::string::npos) << result.err;
            EXPECT_NE(result.err.find(flag), std::string::npos) << result.err;
        }
    }
}

TEST_F(AdminCli, AWrongTokenIsRefusedWithTheBrokersCodeAndNeverPrinted) {
    const std::string wrong = "wrong-admin-token-0123456789";
    const auto refused = admin({"stats"}, {{"BROKER_URL", url()}, {"BROKER_ADMIN_TOKEN", wrong}});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("UNAUTHORIZED"), std::string::npos) << refused.err;
    EXPECT_EQ((refused.out + refused.err).find(wrong), std::string::npos);

    const auto participant = admin({"stats"}, {{"BROKER_URL", url()}, {"BROKER_ADMIN_TOKEN", kApiToken}});
    EXPECT_EQ(participant.exit_code, 1);
    EXPECT_NE(participant.err.find("FORBIDDEN"), std::string::npos) << participant.err;

    // From a file, with the line end an editor leaves; --url instead of BROKER_URL.
    const auto file = dir_.path() / "admin-token";
    std::ofstream(file) << kAdminToken << "\n";
    const auto from_file =
        admin({"--url", url(), "--token-file", file.string(), "--output", "json", "stats"}, {});
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(stats_without_clock(json::parse(from_file.out)), stats_without_clock(api_get("/v1/admin/stats")));
    // The options may follow the command's name too.
    EXPECT_EQ(admin({"stats", "--url", url(), "--token-file", file.string()}, {}).exit_code, 0);
}

TEST_F(AdminCli, BadUsageExitsTwo) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {"frobnicate"},
             {"stats", "--no-such-flag"},
             {"--output", "xml", "stats"},
             {"show"},
             {"run"},
             {"export", "--format", "xlsx"},
             {"--url", "127.0.0.1:8080", "stats"},
         }) {
        const auto result = admin(args);
        EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.err;
        EXPECT_FALSE(result.err.empty());
    }
    const auto no_token = admin({"stats"}, {{"BROKER_URL", url()}});
    EXPECT_EQ(no_token.exit_code, 2);
    EXPECT_NE(no_token.err.find("BROKER_ADMIN_TOKEN"), std::string::npos) << no_token.err;
}

long long unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A Unix time as ISO-8601 UTC, the way an operator types it.
std::string iso_utc(long long unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// reserve (ISO and Unix times), reservations and cancel-reservation against the API's own
// answers; the pool's shortfall as a warning on stderr; refusals exit 1, bad times exit 2.
TEST_F(AdminCli, ReservationsAreMadeListedAndCancelled) {
    const long long now = unix_now();
    const std::string starts = iso_utc(now + 3600);
    const json created =
        admin_json({"reserve", "--track", "dns basics", "--count", "5", "--starts-at", starts, "--ends-at",
                    std::to_string(now + 7200), "--prefix", "adm-cli-1"});
    ASSERT_TRUE(created["id"].is_string()) << created.dump();
    const std::string id = created["id"];
    EXPECT_EQ(created["track"], "dns basics");
    EXPECT_EQ(created["count"], 5);
    EXPECT_EQ(created["name_prefix"], "adm-cli-1");
    EXPECT_EQ(created["starts_at"], now + 3600);
    EXPECT_EQ(created["ends_at"], now + 7200);
    EXPECT_TRUE(created["warning"].is_null()) << created.dump();

    // More than the pool holds: made all the same, with the broker's warning on stderr.
    const auto short_pool = admin({"reserve", "--track", "class", "--count", "1000", "--starts-at",
                                   std::to_string(now + 3600), "--ends-at", iso_utc(now + 7200)});
    ASSERT_EQ(short_pool.exit_code, 0) << short_pool.err;
    EXPECT_NE(short_pool.err.find("warning: the pool cannot cover this reservation"), std::string::npos)
        << short_pool.err;
    EXPECT_EQ(short_pool.out.rfind("ID", 0), 0u) << short_pool.out;
    EXPECT_NE(short_pool.out.find("SHORTFALL"), std::string::npos) << short_pool.out;

    const json listed = admin_json({"reservations"});
    EXPECT_EQ(listed["reservations"], api_get("/v1/admin/reservations")["reservations"]);
    ASSERT_EQ(listed["count"], 2) << listed.dump();
    const auto table = admin({"reservations"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 3) << table.out;
    EXPECT_NE(table.out.find("dns basics"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find(starts), std::string::npos) << "times shown as UTC dates:\n" << table.out;

    const json cancelled = admin_json({"cancel-reservation", id});
    EXPECT_EQ(cancelled["id"], id);
    EXPECT_EQ(cancelled["cancelled"], true);
    EXPECT_EQ(api_get("/v1/admin/reservations")["count"], 1);

    const auto again = admin({"cancel-reservation", id});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("RESERVATION_NOT_FOUND"), std::string::npos) << again.err;
    const auto none = admin({"reserve", "--track", "t", "--count", "0", "--starts-at",
                             std::to_string(now + 60), "--ends-at", std::to_string(now + 120)});
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_NE(none.err.find("INVALID_REQUEST"), std::string::npos) << none.err;

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"reserve", "--track", "t", "--count", "1", "--starts-at", "tomorrow", "--ends-at",
              "1896288400"},
             {"reserve", "--track", "t", "--count", "1", "--starts-at", "2026-12-03T09:00:00", "--ends-at",
              "1896288400"},
             {"reserve", "--count", "1", "--starts-at", "1796288400", "--ends-at", "1896288400"},
             {"reserve", "--track", "t", "--count", "many", "--starts-at", "1796288400", "--ends-at",
              "1896288400"},
             {"cancel-reservation"},
         }) {
        const auto result = admin(args);
        EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.err;
    }
    EXPECT_EQ(api_get("/v1/admin/reservations")["count"], 1) << "bad usage sends nothing";
}

// set-limit, limits and remove-limit against the API's own answers.
TEST_F(AdminCli, TrackLimitsAreSetListedAndRemoved) {
    const json set = admin_json({"set-limit", "dns basics", "2"});
    EXPECT_EQ(set, json({{"track", "dns basics"}, {"max_active", 2}, {"active", 0}}));
    EXPECT_EQ(admin_json({"set-limit", "other", "7"})["max_active"], 7);
    EXPECT_EQ(admin_json({"limits"}), api_get("/v1/admin/tracks/limits"));
    EXPECT_EQ(api_get("/v1/admin/tracks/limits")["count"], 2);
    const auto table = admin({"limits"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(table.out.rfind("TRACK", 0), 0u) << table.out;
    EXPECT_NE(table.out.find("\ndns basics  2    0\n"), std::string::npos) << table.out;

    const json removed = admin_json({"remove-limit", "dns basics"});
    EXPECT_EQ(removed, json({{"track", "dns basics"}, {"removed", true}}));
    EXPECT_EQ(api_get("/v1/admin/tracks/limits")["count"], 1);
    const auto again = admin({"remove-limit", "dns basics"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("TRACK_LIMIT_NOT_FOUND"), std::string::npos) << again.err;
    const auto negative = admin({"set-limit", "x", "1000001"});
    EXPECT_EQ(negative.exit_code, 1) << negative.err;
    EXPECT_NE(negative.err.find("INVALID_REQUEST"), std::string::npos) << negative.err;

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"set-limit", "x"}, {"set-limit", "x", "many"}, {"remove-limit"}}) {
        const auto result = admin(args);
        EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.err;
    }
}

TEST_F(AdminCli, WebhooksAreCreatedListedRedeliveredAndDeleted) {
    // Port 9 refuses: its deliveries stay pending, retried.
    const json created = admin_json({"webhooks", "create", "--url", "http://127.0.0.1:9/hook", "--events",
                                     "sandbox.allocated,sandbox.returned", "--description", "chat"});
    const std::string id = created.value("id", "");
    ASSERT_EQ(id.rfind("wh_", 0), 0u) << created.dump();
    EXPECT_EQ(created.value("secret", "").rfind("whsec_", 0), 0u);
    EXPECT_EQ(created["event_types"], json({"sandbox.allocated", "sandbox.returned"}));
    EXPECT_EQ(created["description"], "chat");
    const auto shown = admin({"webhooks", "create", "--url", "http://127.0.0.1:9/all", "--events", "*"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_NE(shown.out.find("secret (shown only now): whsec_"), std::string::npos) << shown.out;

    const json listed = admin_json({"webhooks", "list"});
    EXPECT_EQ(listed, api_get("/v1/admin/webhooks"));
    EXPECT_EQ(listed["webhooks"].size(), 2u);
    const auto table = admin({"webhooks", "list"});
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_EQ(table.out.rfind("ID", 0), 0u) << table.out;
    EXPECT_NE(table.out.find(id), std::string::npos) << table.out;
    EXPECT_EQ(table.out.find("whsec_"), std::string::npos) << "never a secret after creation";

    ASSERT_EQ(allocate(http_, unique_participant("adm-wh")).status, 201);
    const std::string deliveries_path = "/v1/admin/webhooks/" + id + "/deliveries";
    ASSERT_TRUE(wait_until([&] { return !api_get(deliveries_path)["deliveries"].empty(); }, 10s));
    const json page = admin_json({"webhooks", "deliveries", id, "--limit", "10"});
    ASSERT_EQ(page["deliveries"].size(), 1u) << page.dump();
    EXPECT_EQ(page["deliveries"][0]["event_type"], "sandbox.allocated");
    const auto n = std::to_string(page["deliveries"][0]["id"].get<long long>());
    const json again = admin_json({"webhooks", "redeliver", id, n});
    EXPECT_EQ(again["status"], "pending");
    EXPECT_EQ(admin({"webhooks", "redeliver", id, "999999"}).exit_code, 1);

    EXPECT_EQ(admin_json({"webhooks", "delete", id}), json({{"id", id}, {"deleted", true}}));
    const auto gone = admin({"webhooks", "delete", id});
    EXPECT_EQ(gone.exit_code, 1) << gone.err;
    EXPECT_EQ(api_get("/v1/admin/webhooks")["webhooks"].size(), 1u);

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"webhooks"}, {"webhooks", "create", "--url", "http://x/"}, {"webhooks", "redeliver", id}}) {
        const auto result = admin(args);
        EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.err;
    }
}

// A port nobody listens on (bound, then closed) and a listener that never answers.
TEST_F(AdminCli, AnUnreachableBrokerExitsThree) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const std::string silent = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));

    // Bound but not listening: the connection is refused.
    const auto refused = admin({"--url", silent, "stats"});
    EXPECT_EQ(refused.exit_code, 3) << refused.err;
    EXPECT_NE(refused.err.find("cannot reach the broker"), std::string::npos) << refused.err;

    // Listening, never accepting nor answering: the timeout.
    ASSERT_EQ(::listen(listener, 4), 0);
    const auto started = std::chrono::steady_clock::now();
    const auto timed_out = admin({"--url", silent, "--timeout", "0.5", "jobs"});
    EXPECT_EQ(timed_out.exit_code, 3) << timed_out.err;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 15s) << "bounded by --timeout";
    ::close(listener);

    const auto unknown_host = admin({"--url", "http://no-such-host.invalid:8080", "stats"});
    EXPECT_EQ(unknown_host.exit_code, 3) << unknown_host.err;
}

// `run` of a job that fails prints the failed result and exits 1; against the provider
// simulator, whose account list fails every time.
TEST(AdminCliRun, AFailedRunExitsOneWithItsResult) {
    SimProcess sim(sim_flags(8));
    SimBroker broker(jobs_env(sim));
    auto http = broker.client();
    ASSERT_TRUE(wait_until([&] { return admin_stats(http)["available"] == 8; }, 10s));
    const Environment env{{"BROKER_URL", "http://127.0.0.1:" + std::to_string(broker.process().port())},
                          {"BROKER_ADMIN_TOKEN", kAdminToken}};
    const TempDir cwd;

    // A sync that works: its counts printed.
    ASSERT_EQ(sim.client().post("/_sim/accounts/2009522/vanish").status, 200);
    const auto ok = run_broker_command({"admin", "run", "sync"}, env, cwd.path(), 60s);
    ASSERT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_NE(ok.out.find("sync run "), std::string::npos) << ok.out;
    EXPECT_NE(ok.out.find("\nmarked_stale  1\n"), std::string::npos) << ok.out;

    sim.set_faults({{"fail_rate", 1}});
    const auto failed =
        run_broker_command({"admin", "--output", "json", "run", "sync"}, env, cwd.path(), 60s);
    EXPECT_EQ(failed.exit_code, 1) << failed.err;
    const json run = json::parse(failed.out, nullptr, false);
    ASSERT_FALSE(run.is_discarded()) << failed.out;
    EXPECT_EQ(run["status"], "finished");
    EXPECT_EQ(run["ok"], false);
    EXPECT_FALSE(run["result"]["errors"].empty()) << run.dump();
    EXPECT_EQ(admin_stats(http)["stale"], 1) << "a failed list changes nothing";
}

}  // namespace
}  // namespace broker::e2e
