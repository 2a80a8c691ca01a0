// `sandbox-broker admin …`: the operator's command line over a running broker's admin API
// (stats, list, show, jobs, pause, resume, run, bulk-delete, auto-delete-stale, export, and the
// reservations and track limits: reservations, reserve, cancel-reservation, limits, set-limit,
// remove-limit; and webhooks list, create, delete, deliveries, redeliver).
// Tables for people, --output json for scripts. Exit codes: 0 done, 1 refused by the broker
// (its error code and message printed) or a job run that failed, 2 bad usage (a missing
// token included), 3 the broker could not be reached.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace broker {

inline constexpr int kAdminExitRefused = 1;
inline constexpr int kAdminExitUsage = 2;
inline constexpr int kAdminExitUnreachable = 3;

struct AdminCommand;

// Everything the admin commands' flags fill in; each command reads the ones it declared.
struct AdminCliOptions {
    // The connection and the output, shared by every command.
    std::optional<std::string> url;         // else BROKER_URL, else from BROKER_LISTEN
    std::optional<std::string> token_file;  // else BROKER_ADMIN_TOKEN
    std::string output = "table";           // table or json
    double timeout_sec = 30;                // one request's bound, connect included
    std::string env_file;                   // empty: .env in the working directory, when present

    // The commands' own.
    std::string status, track, prefix, query, cursor, id, job;
    std::string format = "csv";  // export: csv, json (an array) or jsonl (one object a line)
    int limit = 0;               // page size; 0: the command's default
    bool all = false;            // list: every page
    bool yes = false;            // bulk-delete: no confirmation
    std::optional<double> grace_hours;
    std::string starts_at, ends_at;        // reserve: Unix seconds or ISO-8601 UTC
    long long count = 0;                   // reserve: sandboxes held back
    long long max_active = 0;              // set-limit: the track's most sandboxes at once
    std::string url_target;                // webhooks create: where the events are POSTed
    std::vector<std::string> event_types;  // webhooks create: the types it receives ("*": all)
    std::string description;               // webhooks create
    long long delivery = 0;                // webhooks redeliver: the delivery's number

    const AdminCommand* chosen = nullptr;  // set when a command's words were parsed
};

// Adds `admin` and its commands to `app`; their flags land in `options`.
CLI::App* add_admin_command(CLI::App& app, AdminCliOptions& options);

// Runs the command parsed into `options`: answers on `out`, progress and errors on `err`,
// bulk-delete's confirmation read from `in` (when `in_is_terminal`). Returns the exit code.
int run_admin_command(const AdminCliOptions& options, std::ostream& out, std::ostream& err, std::istream& in,
                      bool in_is_terminal);

}  // namespace broker
