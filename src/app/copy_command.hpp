// `sandbox-broker copy --from URL --to URL [--merge]`: every sandbox of one store (every
// status, with its history) written into another, in chunks, resumable, verified at the end.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "store/store.hpp"

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
using StoreOpener = std::function<std::unique_ptr<Store>(const std::string& url, bool create_table)>;

// Adds the `copy` subcommand to `app`; its flags fill `options`.
CLI::App* add_copy_command(CLI::App& app, CopyOptions& options);

// Runs the copy: progress lines on `progress`, the verification table on `out`. Returns the
// exit code: 0 when the target holds every sandbox of the source in the same status, 1 when
// the verification finds a difference, 2 when the target is not empty and --merge was not
// given. Store failures throw (StoreUnavailable) like every command's.
int run_copy(const CopyOptions& options, const StoreOpener& open, const Clock& clock, std::ostream& out,
             std::ostream& progress);

}  // namespace broker
