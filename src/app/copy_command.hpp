// `sandbox-broker copy --from URL --to URL [--merge]`: every sandbox of one store (every
// status, with its history) written into another, in chunks, resumable, verified at the end.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "store/store_handle.hpp"

namespace broker {

struct CopyOptions {
    std::string from;
    std::string to;
    bool merge = false;  // write into a target that already holds sandboxes (and resume)
    int chunk = 500;     // sandboxes per read page and per target write
    std::string env_file;
};

// Opens the store a URL names, configured from the environment like every other command.
// `create_table`: true for the target, whose DynamoDB table copy creates when absent.
using StoreOpener = std::function<StoreHandle(const std::string& url, bool create_table)>;

// One status of the verification: how many sandboxes each store holds in it, and how many of
// the source's are not in the target in it.
struct StatusCheck {
    std::int64_t source = 0;
    std::int64_t target = 0;
    std::int64_t missing = 0;  // in the source in this status, not in the target in it
};

// A store's sandboxes as its list showed them: id -> status.
using Listing = std::unordered_map<std::string, SandboxStatus>;
// The target's sandbox read so that it sees the writes just made (nothing: it has none).
using ConsistentStatus = std::function<std::optional<SandboxStatus>(const std::string& sandbox_id)>;

// The verification, one StatusCheck per status in kAllStatuses order. A list may come from an
// eventually consistent index (DynamoDB's) that lags the writes of a moment ago, so every
// source sandbox the target's list shows missing or in another status is read again with
// `target_now` before it counts as missing, and is then counted where that read finds it.
std::vector<StatusCheck> compare_listings(const Listing& source, const Listing& target_listed,
                                          const ConsistentStatus& target_now);

// Adds the `copy` subcommand to `app`; its flags fill `options`.
CLI::App* add_copy_command(CLI::App& app, CopyOptions& options);

// Runs the copy: progress lines on `progress`, the verification table on `out`. Returns the
// exit code: 0 when the target holds every sandbox of the source in the same status, 1 when
// the verification finds a difference, 2 when the target is not empty and --merge was not
// given. Store failures throw (StoreUnavailable) like every command's.
int run_copy(const CopyOptions& options, const StoreOpener& open, const Clock& clock, std::ostream& out,
             std::ostream& progress);

}  // namespace broker
