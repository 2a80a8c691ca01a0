// `sandbox-broker copy`: reads the source page by page (the pool, then the deleted ones),
// with each sandbox's history, and hands each page to the target's insert_copied, which skips
// what the target already has; that is what makes a rerun carry on where an interrupted copy
// stopped. At the end both stores are listed again and compared per status.
#include "app/copy_command.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iomanip>
#include <optional>
#include <ostream>
#include <unordered_map>
#include <vector>

#include "core/errors.hpp"
#include "store/lifecycle_store.hpp"
#include "store/store_url.hpp"

namespace broker {
namespace {

constexpr int kMaxChunk = 1000;  // the stores answer list pages of at most this many
// Histories are read one sandbox at a time (the interface has no bulk read); a few at once
// hide the round trips to a database server, within any store's connection pool.
constexpr std::size_t kHistoryReaders = 4;
constexpr auto kProgressEvery = std::chrono::seconds(1);

std::int64_t all_of(const StatusCounts& counts) {
    std::int64_t n = 0;
    for (SandboxStatus s : kAllStatuses) n += counts[s];
    return n;
}

// The sandboxes of `status` in `store` (none: every status but deleted), page by page.
template <class Fn>
void each_page(Store& store, std::optional<SandboxStatus> status, int chunk, Fn&& fn) {
    ListQuery query;
    query.status = status;
    query.limit = chunk;
    for (;;) {
        const ListPage page = store.list(query);
        fn(page.items);
        if (!page.next_after || page.items.empty()) return;
        query.after_sandbox_id = *page.next_after;
    }
}

// The source opened for reading. A SQLite file that does not exist is a typo, not an empty
// store (opening would create it); one a running broker holds is refused by its lock.
StoreHandle open_source(const std::string& url, const StoreOpener& open) {
    const StoreUrl parsed = parse_store_url(url);
    if (parsed.kind == StoreUrl::Kind::sqlite && !std::filesystem::exists(parsed.target)) {
        throw ConfigError("copy: the source store " + parsed.target + " does not exist");
    }
    try {
        return open(url, false);
    } catch (const StoreUnavailable& e) {
        if (parsed.kind != StoreUrl::Kind::sqlite) throw;
        throw StoreUnavailable(std::string(e.what()) +
                               "; copy reads a SQLite store alone: stop the broker first, or take a "
                               "consistent copy while it serves (`sandbox-broker backup --store " +
                               url + " --to FILE`) and copy from that file");
    }
}

class Progress {
  public:
    Progress(const Clock& clock, std::ostream& out, std::int64_t total)
        : clock_(clock), out_(out), total_(total), started_(clock.steady_now()) {}

    void add(std::int64_t read, std::int64_t written) {
        read_ += read;
        written_ += written;
        const auto now = clock_.steady_now();
        // The first chunk at once (the copy has started), then once a second.
        if (printed_ && now - last_ < kProgressEvery) return;
        print(now);
    }
    void finish() {
        if (read_ != printed_read_ || !printed_) print(clock_.steady_now());
    }

    std::int64_t read() const { return read_; }
    std::int64_t written() const { return written_; }

  private:
    void print(std::chrono::steady_clock::time_point now) {
        printed_ = true;
        printed_read_ = read_;
        last_ = now;
        const double seconds = std::chrono::duration<double>(now - started_).count();
        const double rate = seconds > 0 ? static_cast<double>(read_) / seconds : 0.0;
        char line[200];
        std::snprintf(
            line, sizeof line, "copy: %lld/%lld sandboxes (%lld written, %lld already there), %.0f/s, %.1f s",
            static_cast<long long>(read_), static_cast<long long>(total_), static_cast<long long>(written_),
            static_cast<long long>(read_ - written_), rate, seconds);
        out_ << line << std::endl;
    }

    const Clock& clock_;
    std::ostream& out_;
    const std::int64_t total_;
    const std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_{};
    bool printed_ = false;
    std::int64_t printed_read_ = 0;
    std::int64_t read_ = 0;
    std::int64_t written_ = 0;
};

// Every sandbox of `store`, all statuses: the pool in id order, then the deleted ones. Not
// status by status: the pool's pages follow the primary key whatever the database's
// statistics say, where a page of one status of a freshly written PostgreSQL table may be
// planned as a sort of the whole status.
template <class Fn>
void each_sandbox(Store& store, int chunk, Fn&& fn) {
    const auto each = [&](const std::vector<Sandbox>& page) {
        for (const auto& s : page) fn(s);
    };
    each_page(store, std::nullopt, chunk, each);
    each_page(store, SandboxStatus::deleted, chunk, each);
}

std::size_t index_of(SandboxStatus status) {
    return static_cast<std::size_t>(status);
}

// Lists both stores again and compares them (compare_listings), the target's own get() as
// the consistent read.
std::vector<StatusCheck> verify(Store& source, Store& target, int chunk) {
    Listing in_source;
    each_sandbox(source, chunk, [&](const Sandbox& s) { in_source.emplace(s.sandbox_id, s.status); });
    Listing listed;
    each_sandbox(target, chunk, [&](const Sandbox& s) { listed.emplace(s.sandbox_id, s.status); });
    return compare_listings(in_source, listed, [&](const std::string& id) -> std::optional<SandboxStatus> {
        const auto now = target.get(id);
        if (!now) return std::nullopt;
        return now->status;
    });
}

// The page with each sandbox's history, read by a few threads at once.
std::vector<CopiedSandbox> with_history(const std::vector<Sandbox>& page, LifecycleStore& source) {
    std::vector<CopiedSandbox> batch(page.size());
    const std::size_t readers = std::min(kHistoryReaders, page.size());
    std::vector<std::future<void>> running;
    for (std::size_t r = 0; r < readers; ++r) {
        running.push_back(std::async(std::launch::async, [&, r] {
            for (std::size_t i = r; i < page.size(); i += readers) {
                batch[i] = {page[i], source.history(page[i].sandbox_id)};
            }
        }));
    }
    for (auto& f : running) f.get();  // rethrows a reader's StoreUnavailable
    return batch;
}

void print_table(std::ostream& out, const std::vector<StatusCheck>& checks) {
    out << std::left << std::setw(18) << "status" << std::right << std::setw(10) << "source" << std::setw(10)
        << "target" << std::setw(10) << "missing"
        << "\n";
    StatusCheck all;
    for (std::size_t i = 0; i < checks.size(); ++i) {
        const auto& c = checks[i];
        out << std::left << std::setw(18) << to_string(kAllStatuses[i]) << std::right << std::setw(10)
            << c.source << std::setw(10) << c.target << std::setw(10) << c.missing << "\n";
        all.source += c.source;
        all.target += c.target;
        all.missing += c.missing;
    }
    out << std::left << std::setw(18) << "all" << std::right << std::setw(10) << all.source << std::setw(10)
        << all.target << std::setw(10) << all.missing << std::endl;
}

}  // namespace

std::vector<StatusCheck> compare_listings(const Listing& source, const Listing& target_listed,
                                          const ConsistentStatus& target_now) {
    std::vector<StatusCheck> checks(kAllStatuses.size());
    for (const auto& [id, status] : source) ++checks[index_of(status)].source;
    for (const auto& [id, status] : target_listed) ++checks[index_of(status)].target;
    for (const auto& [id, status] : source) {
        const auto seen = target_listed.find(id);
        if (seen != target_listed.end() && seen->second == status) continue;
        if (target_now(id) == status) {
            // The list lagged: count the sandbox where it really is.
            if (seen != target_listed.end()) --checks[index_of(seen->second)].target;
            ++checks[index_of(status)].target;
            continue;
        }
        ++checks[index_of(status)].missing;
    }
    return checks;
}

CLI::App* add_copy_command(CLI::App& app, CopyOptions& options) {
    auto* copy = app.add_subcommand(
        "copy", "copy every sandbox (every status, with its history) from one store to another");
    copy->add_option("--from", options.from, "the source store URL (read only)")->required();
    copy->add_option("--to", options.to, "the target store URL (migrated first)")->required();
    copy->add_flag("--merge", options.merge,
                   "write into a target that already holds sandboxes; also how an interrupted copy "
                   "is resumed");
    copy->add_option("--chunk", options.chunk, "sandboxes per read page and per target write")
        ->capture_default_str()
        ->check(CLI::Range(1, kMaxChunk));
    copy->add_option("--env-file", options.env_file,
                     "KEY=VALUE file read beneath the environment (default: .env, when present)");
    copy->footer(
        "The target must be empty unless --merge is given. Sandboxes are written as the source has "
        "them (status, owner, key, times, retry count) with their history; one the target already "
        "has (by id) is left as it is. To resume an interrupted copy, run the same command again "
        "with --merge: what was written is skipped and the rest follows. Freeze the source while "
        "it runs (stop its brokers, or copy from a `backup`). At the end both stores are listed "
        "again and compared per status; the exit code is 1 when a sandbox of the source is not in "
        "the target in the same status (or, without --merge, the target holds more).\n");
    return copy;
}

int run_copy(const CopyOptions& options, const StoreOpener& open, const Clock& clock, std::ostream& out,
             std::ostream& progress) {
    if (options.from == options.to) throw ConfigError("copy: --from and --to name the same store");
    const std::string from = redact_store_url(options.from);
    const std::string to = redact_store_url(options.to);

    const StoreHandle source_handle = open_source(options.from, open);
    Store& source = source_handle.store();
    source.ping();
    LifecycleStore& source_history = source_handle.part<LifecycleStore>();
    const StoreHandle target_handle = open(options.to, true);
    Store& target = target_handle.store();
    target.migrate();
    LifecycleStore& target_writer = target_handle.part<LifecycleStore>();

    const std::int64_t already = all_of(target.count_by_status());
    if (already > 0 && !options.merge) {
        progress << "sandbox-broker: copy: the target " << to << " already holds " << already
                 << " sandboxes; copy writes into an empty store. Run it again with --merge to add to "
                    "them (sandboxes the target has are skipped), which is also how an interrupted "
                    "copy is resumed."
                 << std::endl;
        return 2;
    }

    const std::int64_t total = all_of(source.count_by_status());
    progress << "copy: " << total << " sandboxes from " << from << " to " << to
             << (already > 0 ? " (merging: the target holds " + std::to_string(already) + ")" : "")
             << std::endl;
    Progress meter(clock, progress, total);
    const int chunk = std::clamp(options.chunk, 1, kMaxChunk);
    const auto copy_page = [&](const std::vector<Sandbox>& page) {
        if (page.empty()) return;
        const auto batch = with_history(page, source_history);
        const std::int64_t written = target_writer.insert_copied(batch);
        meter.add(static_cast<std::int64_t>(page.size()), written);
    };
    // Every status: the pool (every status but deleted) in id order, then the deleted ones.
    each_page(source, std::nullopt, chunk, copy_page);
    each_page(source, SandboxStatus::deleted, chunk, copy_page);
    meter.finish();

    const auto checks = verify(source, target, chunk);
    print_table(out, checks);
    std::int64_t missing = 0;
    std::int64_t extra = 0;
    for (const auto& c : checks) {
        missing += c.missing;
        extra += c.target - (c.source - c.missing);
    }
    if (missing > 0) {
        out << "verification failed: " << missing
            << " sandboxes of the source are not in the target in the same status (the target had "
               "them in another status, or the source changed during the copy)"
            << std::endl;
        return 1;
    }
    if (extra > 0 && !options.merge) {
        out << "verification failed: the target holds " << extra
            << " sandboxes the source does not have in that status (something else wrote to it)" << std::endl;
        return 1;
    }
    out << "verified: the target holds every sandbox of the source in the same status";
    if (extra > 0) out << " (and " << extra << " of its own)";
    out << "; " << meter.written() << " written, " << meter.read() - meter.written() << " were already there"
        << std::endl;
    return 0;
}

}  // namespace broker
