// sandbox-broker: subcommands and wiring. The only file that knows every part.
//   run      API and background jobs in one process, on the embedded store
//   serve    HTTP API only (admin job runs are requested from the workers)
//   worker   background jobs only (sync, cleanup, auto_expiry, auto_delete_stale, pool_sample)
//   migrate  create or upgrade the store's schema (--status: what it would do, changing nothing)
//   version  version, commit and the schema version of each store this binary needs
//   backup   copy the embedded store to a file while it serves; restore copies one back
//   import   load a provider account list (CSP format) as available sandboxes
//   copy     every sandbox with its history from one store to another (app/copy_command.cpp)
//   csp-sim  a local stand-in for the provider, with fault injection (demo and tests only)
//   settings every environment setting: default, secret or not, meaning (--json for tools)
//   healthcheck  GET /healthz of the local process, for a container's HEALTHCHECK (exit 0 or 1)
//   admin    the operator's command line over a running broker's admin API (app/admin_cli.cpp)
// Exit codes: 0 success, 2 bad usage or configuration (message names the problem), 1 runtime failure.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef BROKER_MIMALLOC
#include <mimalloc.h>
#endif

#include "app/account_import.hpp"
#include "app/admin_api.hpp"
#include "app/admin_cli.hpp"
#include "app/allocate_waiting.hpp"
#include "app/background_jobs.hpp"
#include "app/clock_wiring.hpp"
#include "app/copy_command.hpp"
#include "app/event_stream_api.hpp"
#include "app/healthcheck.hpp"
#include "app/outbox_wiring.hpp"
#include "app/quota_api.hpp"
#include "app/schema_check.hpp"
#include "app/settings_command.hpp"
#include "app/shutdown_drain.hpp"
#include "app/version_command.hpp"
#include "app/webhooks.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/cpu_count.hpp"
#include "core/errors.hpp"
#include "http/auth.hpp"
#include "http/edge.hpp"
#include "http/handlers/ops_handlers.hpp"
#include "http/handlers/participant_handlers.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "obs/log.hpp"
#include "provider/csp_accounts.hpp"
#include "provider/sim/csp_sim.hpp"
#include "runtime/blocking_pool.hpp"
#include "runtime/stop_signals.hpp"
#include "service/allocation_service.hpp"
#include "store/dynamodb/open_dynamo_store.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/backup.hpp"
#include "store/sqlite/schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store_handle.hpp"
#include "store/store_url.hpp"

namespace broker {
namespace {

// The allocator behind this process's malloc, for `version`: "mimalloc
// 2.0.9" when the binary was linked with it (BROKER_MIMALLOC) and malloc really returns its
// memory, else "system malloc". Naming mi_version here also keeps a linker that drops unused
// libraries (--as-needed) from dropping mimalloc, which is otherwise only interposed.
std::string allocator_in_use() {
#ifdef BROKER_MIMALLOC
    void* probe = std::malloc(64);
    const bool ours = mi_is_in_heap_region(probe);
    std::free(probe);
    if (ours) {
        const int v = mi_version();
        return fmt::format("mimalloc {}.{}.{}", v / 100, v / 10 % 10, v % 10);
    }
#endif
    return "system malloc";
}

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// Bad input from the operator (a file that is not a CSP list, ...): exit 2 like a ConfigError.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct CommonFlags {
    std::string listen;
    std::string store;
    std::string env_file;  // empty: .env in the working directory, when there is one
    // --test-clock (builds with BROKER_TEST_HOOKS only); empty: the system clock
    std::string test_clock;
};

// The KEY=VALUE file beneath the environment: .env when present, or the file --env-file
// names, which must exist (a mistyped name must not silently mean "no settings").
std::map<std::string, std::string> dotenv(const CommonFlags& flags) {
    return flags.env_file.empty() ? read_dotenv(".env") : read_required_dotenv(flags.env_file);
}

Config load(const CommonFlags& flags) {
    const auto file = dotenv(flags);
    Config config = load_config(process_env(file), present_setting_names(file));
    if (!flags.listen.empty()) config.listen = flags.listen;
    if (!flags.store.empty()) config.store = flags.store;
    for (auto& password : store_url_passwords(config.store))
        config.other_secrets.push_back(std::move(password));
    return config;
}

// The environment the settings are read from: the process's, with the .env file beneath it.
EnvLookup environment(const CommonFlags& flags) {
    return process_env(dotenv(flags));
}

// The store named by `url`; PostgreSQL settings (DB_POOL_SIZE, ...) come from the same
// environment and .env file as the rest of the configuration. `create_table`: only `migrate`
// and `copy` (its target) may create a DynamoDB table; every other command stops on a missing one.
StoreHandle open_store_as_configured(const std::string& url, const CommonFlags& flags, bool create_table);

// The store with its outbox set as EVENTS_ENABLED says.
StoreHandle open_store(const std::string& url, const CommonFlags& flags, bool create_table = false) {
    auto store = open_store_as_configured(url, flags, create_table);
    configure_outbox(store.part<OutboxControl>(), events_enabled_from_env(environment(flags)));
    return store;
}

StoreHandle open_store_as_configured(const std::string& url, const CommonFlags& flags, bool create_table) {
    const StoreUrl parsed = parse_store_url(url);
    refuse_dynamo_settings_elsewhere(url, environment(flags));
    if (parsed.kind == StoreUrl::Kind::postgresql) {
        return StoreHandle(
            std::make_unique<PostgresStore>(postgres_options_from_env(parsed.target, environment(flags))));
    }
    if (parsed.kind == StoreUrl::Kind::dynamodb) {
        static const SystemClock clock;  // outlives the store: its credentials are refreshed by it
        return StoreHandle(open_dynamo_store(parsed, environment(flags), clock, create_table));
    }
    SqliteOptions options;
    options.path = parsed.target;
    options.create_dir = parsed.create_dir;
    return StoreHandle(std::make_unique<SqliteStore>(options));
}

// The connections the store at `url` holds at most, when the store threads should stay within
// them: DB_POOL_SIZE with PostgreSQL; nothing for SQLite (its own readers and writer) and
// DynamoDB (HTTP requests).
std::optional<std::size_t> store_connections(const std::string& url, const CommonFlags& flags) {
    const StoreUrl parsed = parse_store_url(url);
    if (parsed.kind != StoreUrl::Kind::postgresql) return std::nullopt;
    return postgres_options_from_env(parsed.target, environment(flags)).pool_size;
}

int migrate_command(const CommonFlags& flags, bool status_only) {
    const Config config = load(flags);
    setup_logging(config);
    const std::string where = redact_store_url(config.store);
    if (status_only) {
        // A SQLite file that is not there stays so: opening the store would create it.
        const StoreUrl parsed = parse_store_url(config.store);
        if (parsed.kind == StoreUrl::Kind::sqlite && !std::filesystem::exists(parsed.target)) {
            print_schema_status(schema_status_of(sqlite::schema_steps(), 0, std::nullopt), where, std::cout);
            return 0;
        }
        print_schema_status(open_store(config.store, flags).store().schema_status(), where, std::cout);
        return 0;
    }
    auto store = open_store(config.store, flags, true);
    migrate_store(store.store(), where, std::cout);
    return 0;
}

// The file path of an embedded store URL; backup and restore work on SQLite files only.
StoreUrl sqlite_store(const std::string& url, std::string_view command) {
    const StoreUrl parsed = parse_store_url(url);
    if (parsed.kind != StoreUrl::Kind::sqlite) {
        throw UsageError(std::string(command) +
                         " works on the embedded store (sqlite:PATH); back up PostgreSQL " +
                         "with its own tools (pg_dump, base backups)");
    }
    return parsed;
}

std::string describe(const sqlite::StoreFileSummary& summary) {
    return std::to_string(summary.sandboxes) + " sandboxes (" + std::to_string(summary.allocated) +
           " allocated), " + std::to_string(summary.history_events) + " history events, schema version " +
           std::to_string(summary.schema_version);
}

// `backup`: reads only, so it runs beside the broker that serves the store.
int backup_command(const CommonFlags& flags, const std::string& target) {
    const Config config = load(flags);
    const StoreUrl store = sqlite_store(config.store, "backup");
    const auto summary = sqlite::backup_store(store.target, target);
    std::cout << "backed up " << store.target << " to " << target << ": " << describe(summary) << std::endl;
    return 0;
}

// `restore`: takes the store's lock, so it refuses while a broker uses the store.
int restore_command(const CommonFlags& flags, const std::string& from) {
    const Config config = load(flags);
    const StoreUrl store = sqlite_store(config.store, "restore");
    const auto summary = sqlite::restore_store(from, store.target, store.create_dir);
    std::cout << "restored " << store.target << " from " << from << ": " << describe(summary) << std::endl;
    return 0;
}

int import_command(const CommonFlags& flags, const std::string& file) {
    const Config config = load(flags);
    setup_logging(config);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw UsageError("cannot read " + file + ": " + std::strerror(errno));
    // The list is read twice, never held whole (app/account_import.hpp): once to check it, so
    // a faulty list writes nothing, then in chunks into the store.
    try {
        check_account_list(in);
    } catch (const std::invalid_argument& e) {
        throw UsageError(file + " is not a CSP account list: " + e.what());
    }
    if (in.bad()) throw UsageError("cannot read " + file);
    in.clear();
    in.seekg(0);
    auto store = open_store(config.store, flags);
    prepare_store(store.store(), redact_store_url(config.store), "import");
    SystemClock clock;
    const AccountImport imported = import_account_list(in, store.store(), clock.now());
    const UpsertSummary& summary = imported.summary;
    std::cout << "imported " << imported.listed << " sandboxes from " << file << ": " << summary.inserted
              << " new, " << summary.revived << " revived, " << summary.refreshed << " refreshed, "
              << summary.skipped << " skipped (held or deleting), " << imported.ignored
              << " entries ignored (not active sandboxes)" << std::endl;
    return 0;
}

// The jobs of `run`: all four against the provider when CSP_BASE_URL is set; otherwise the
// API still serves (a store filled by `import` is a fine first try) with the store-only jobs,
// and one log line says that sync and cleanup are off (see warn_without_provider). A half-set
// provider stops start-up.
std::unique_ptr<BackgroundJobs> make_background_jobs(const EnvLookup& env, const Config& config,
                                                     const StoreHandle& store, const Clock& clock,
                                                     JobMetrics* metrics) {
    const BackgroundConfig background = load_background_config(env, config, /*provider_required=*/false);
    return std::make_unique<BackgroundJobs>(store, clock, background, metrics);
}

void warn_without_provider(const BackgroundJobs* jobs) {
    if (!jobs || jobs->provider_enabled()) return;
    spdlog::warn(
        "provider jobs disabled: CSP_BASE_URL is not set, so sync and cleanup do not run "
        "(auto_expiry, auto_delete_stale and pool_sample do); set CSP_BASE_URL and CSP_API_TOKEN, "
        "or run `sandbox-broker worker` with them");
}

// Descriptors besides the API's connections: store files and connections, log output,
// provider calls, the metrics listener.
constexpr std::size_t kReservedDescriptors = 256;

int serve_command(const CommonFlags& flags, bool with_jobs) {
    // Before any thread starts, so that every thread inherits the mask.
    const StopSignals signals;

    Config config = load(flags);
    validate_for_serving(config);
    const auto drain = load_shutdown_drain(environment(flags));
    setup_logging(config);
    const auto where = parse_listen_address(config.listen);

    // Declared in dependency order: each object outlives everything that uses it.
    auto store = open_store(config.store, flags);
    prepare_store(store.store(), redact_store_url(config.store), with_jobs ? "run" : "serve");
    fit_store_threads(config, store_connections(config.store, flags), usable_cores());
    const std::unique_ptr<Clock> clock_holder = make_clock(flags.test_clock);
    Clock& clock = *clock_holder;
    AllocationService service(store.store(), clock, config.lease, config.max_sandboxes_per_participant,
                              store.find<AsyncWriteStore>());
    BlockingPool pool(config.store_threads, static_cast<std::size_t>(config.store_queue_max));

    // Edge and observability: metrics first (handlers and jobs count into them), routes,
    // then the middlewares once every route is registered.
    Edge edge(config, clock, store.store(), with_jobs ? Edge::Role::api_and_jobs : Edge::Role::api);
    count_events_written(store.part<OutboxControl>(), edge.registry());

    // `run` only. Without CSP_BASE_URL it runs the store-only jobs and says so.
    const auto jobs =
        with_jobs ? make_background_jobs(environment(flags), config, store, clock, edge.metrics().jobs())
                  : nullptr;

    Router router;
    ParticipantHandlers participant(service, pool, std::chrono::seconds(config.no_sandboxes_retry_after_sec),
                                    ParticipantMetrics(*edge.metrics().api()));
    AllocateWaiting waiting(load_allocate_wait_options(environment(flags)), store, config.store,
                            environment(flags), edge.registry(), pool);
    participant.enable_waiting(waiting.registry(), waiting.max_wait(), clock);
    std::vector<std::function<void()>> on_clock_move{[&waiting] { waiting.clock_moved(); }};
    if (jobs) on_clock_move.emplace_back([&jobs] { jobs->wake(); });
    ClockWatch clock_watch(clock, on_clock_move);
    participant.add_routes(router, config.base_path);
    OpsHandlers ops(store.store(), pool);
    ops.add_routes(router);
    const bool exclusive_store = parse_store_url(config.store).kind == StoreUrl::Kind::sqlite;
    AdminApi admin(store, clock, pool, load_job_config(environment(flags)), jobs.get(), exclusive_store);
    admin.add_routes(router, config.base_path);
    EventStreamApi event_stream(load_event_stream_options(environment(flags)), &store.part<EventStore>(),
                                pool, edge.registry());
    event_stream.add_routes(router, config.base_path);
    QuotaApi quota(store.store(), clock, pool, edge.registry(), config.metrics_pool_cache);
    quota.add_routes(router, config.base_path);
    const WebhookConfig webhook_config = load_webhook_config(environment(flags));
    WebhookApi webhook_api(store, clock, pool, webhook_config);
    webhook_api.add_routes(router, config.base_path);
    const auto webhook_worker =
        jobs ? WebhookWorker::make(store, clock, webhook_config, &edge.registry(), jobs->worker_id())
             : nullptr;
    edge.add_routes(router, pool);

    Pipeline pipeline(router, edge.authenticator());
    edge.add_middlewares(pipeline, router);

    ServerOptions server_options = ServerOptions::from(config);
    const DescriptorFit descriptors = fit_descriptor_limit(config.max_connections, kReservedDescriptors);
    server_options.max_connections = descriptors.max_connections;
    HttpServer server(server_options, pipeline);
    asio::ip::tcp::endpoint bound;
    try {
        bound = server.start(where);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + config.listen + ": " + e.code().message());
    }
    const std::optional<asio::ip::tcp::endpoint> metrics_bound = edge.start_metrics_listener();
    // The first line on stdout, before any log line: tests and scripts read the port from it.
    std::cout << "listening on " << endpoint_url(bound) << std::endl;
    spdlog::info("listening on {}", endpoint_url(bound));
    if (metrics_bound) spdlog::info("metrics listening on {}", endpoint_url(*metrics_bound));
    spdlog::info("serving {} store={} http_threads={} store_threads={} max_connections={}{}{}",
                 endpoint_url(bound), redact_store_url(config.store), config.http_threads,
                 config.store_threads, server_options.max_connections,
                 with_jobs ? " with background jobs" : "",
                 config.metrics_token.empty() ? "" : " metrics behind METRICS_TOKEN");
    if (descriptors.warning) spdlog::warn("{}", *descriptors.warning);
    warn_without_provider(jobs.get());
    if (jobs) jobs->start();
    if (webhook_worker) webhook_worker->start();

    const int received = signals.wait();
    if (drain.count() > 0) {
        spdlog::info("received {}, draining for {} s (/readyz answers 503) before stopping",
                     StopSignals::name(received), drain.count());
        ops.start_draining();
        if (wait_out_drain(signals.set(), drain, clock))
            spdlog::info("received another signal, drain cut short");
        spdlog::info("drained, stopping");
    } else {
        spdlog::info("received {}, stopping", StopSignals::name(received));
    }
    clock_watch.stop();
    if (jobs) jobs->interrupt();  // waits in job runs (also admin-started ones) end now
    waiting.stop();               // waiting allocations are answered now, not held to the end
    event_stream.stop();          // live streams end now; their clients resume elsewhere by id
    server.stop();
    edge.stop_metrics_listener();
    if (jobs) jobs->stop();                      // the item in hand finishes
    if (webhook_worker) webhook_worker->stop();  // the attempts in flight end, each within its timeout
    pool.stop();
    spdlog::info("stopped");
    spdlog::default_logger()->flush();
    return 0;
}

// `sandbox-broker worker`: the background jobs alone. Needs the provider (CSP_BASE_URL,
// CSP_API_TOKEN); several workers may share one store, each job still runs once per interval.
// With METRICS_LISTEN it serves /metrics and /healthz there (its only port).
int worker_command(const CommonFlags& flags) {
    const StopSignals signals;  // before any thread starts

    const Config config = load(flags);
    const BackgroundConfig background = load_background_config(environment(flags), config, true);
    setup_logging(config);
    auto store = open_store(config.store, flags);
    prepare_store(store.store(), redact_store_url(config.store), "worker");
    const std::unique_ptr<Clock> clock_holder = make_clock(flags.test_clock);
    Clock& clock = *clock_holder;
    // The worker's metrics, the jobs' and the provider's, on METRICS_LISTEN when set.
    Edge edge(config, clock, store.store(), Edge::Role::jobs);
    count_events_written(store.part<OutboxControl>(), edge.registry());
    BlockingPool scrape_pool(1, 16);  // the metrics listener's scrapes read the store
    edge.add_metrics_listener_routes(scrape_pool);
    BackgroundJobs jobs(store, clock, background, edge.metrics().jobs());
    ClockWatch clock_watch(clock, {[&jobs] { jobs.wake(); }});
    const auto webhook_worker = WebhookWorker::make(store, clock, load_webhook_config(environment(flags)),
                                                    &edge.registry(), jobs.worker_id());
    const std::optional<asio::ip::tcp::endpoint> metrics_bound = edge.start_metrics_listener();
    if (metrics_bound) {
        // On stdout before the "started" line: tests and scripts read the port from it.
        std::cout << "metrics listening on " << endpoint_url(*metrics_bound) << std::endl;
        spdlog::info("metrics listening on {}", endpoint_url(*metrics_bound));
    }
    jobs.start();
    if (webhook_worker) webhook_worker->start();
    // A line on stdout the end-to-end tests and scripts wait for.
    std::cout << "worker " << jobs.worker_id() << " started on " << redact_store_url(config.store)
              << std::endl;

    spdlog::info("received {}, stopping the worker", StopSignals::name(signals.wait()));
    clock_watch.stop();
    jobs.stop();
    if (webhook_worker) webhook_worker->stop();
    edge.stop_metrics_listener();
    scrape_pool.stop();
    spdlog::info("stopped");
    return 0;
}

// What was wrong with the command line, in the operator's words: CLI11 reports a first word
// that is no command as "A subcommand is required", which hides the typo.
std::string usage_problem(const CLI::App& app, int argc, char** argv, const CLI::ParseError& e) {
    if (!app.get_subcommands().empty()) return e.what();  // a command's own flags: CLI11 names them
    std::string commands;
    for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        commands += (commands.empty() ? "" : ", ") + sub->get_name();
    }
    if (argc < 2) return "a command is required (commands: " + commands + ")";
    const std::string first = argv[1];
    if (first.starts_with("-")) return "unknown option " + first + " (commands: " + commands + ")";
    return "unknown command \"" + first + "\" (commands: " + commands + ")";
}

void add_common_flags(CLI::App& command, CommonFlags& flags, bool with_listen) {
    if (with_listen) {
        command.add_option("--listen", flags.listen,
                           "HOST:PORT to listen on (env BROKER_LISTEN; port 0: any free port)");
    }
    command.add_option("--store", flags.store, "store URL, e.g. sqlite:data/broker.db (env BROKER_STORE)");
    command.add_option("--env-file", flags.env_file,
                       "KEY=VALUE file read beneath the environment (default: .env, when present)");
}

// The end-to-end tests' clock, in builds for tests only (BROKER_TEST_HOOKS; the release image
// is built without): hidden from --help, and a production binary rejects the flag as unknown.
void add_test_clock_flag(CLI::App& command, CommonFlags& flags) {
#ifdef BROKER_TEST_HOOKS
    command.add_option("--test-clock", flags.test_clock, "file holding the time (ms since the epoch)")
        ->group("");
#else
    (void)command;
    (void)flags;
#endif
}

int run_main(int argc, char** argv) {
    CLI::App app{"sandbox-broker: hands out pre-created cloud sandbox accounts to lab participants"};
    app.set_version_flag("--version",
                         std::string("sandbox-broker ") + BROKER_VERSION + " (commit " + BROKER_COMMIT + ")");
    app.require_subcommand(1);

    CommonFlags run_flags, serve_flags, migrate_flags, import_flags, worker_flags;
    std::string import_file;
    auto* run = app.add_subcommand("run", "API and background jobs in one process, on the embedded store");
    add_common_flags(*run, run_flags, true);
    add_test_clock_flag(*run, run_flags);
    auto* serve =
        app.add_subcommand("serve", "HTTP API only (stateless; run several behind a load balancer)");
    add_common_flags(*serve, serve_flags, true);
    add_test_clock_flag(*serve, serve_flags);
    auto* worker = app.add_subcommand(
        "worker",
        "background jobs only (sync, cleanup, expiry, stale); needs CSP_BASE_URL and CSP_API_TOKEN");
    add_common_flags(*worker, worker_flags, false);
    add_test_clock_flag(*worker, worker_flags);
    auto* migrate = app.add_subcommand("migrate", "create or upgrade the store's schema");
    add_common_flags(*migrate, migrate_flags, false);
    bool migrate_status = false;
    migrate->add_flag(
        "--status", migrate_status,
        "print the store's schema version, this binary's and the pending steps; change nothing");
    bool version_json = false;
    auto* version =
        app.add_subcommand("version", "print version, commit and the schema version each store needs");
    version->add_flag("--json", version_json, "as one JSON object");
    auto* import = app.add_subcommand("import", "load a CSP account list (JSON) as available sandboxes");
    import->add_option("FILE", import_file, "the account list, {\"results\": [...]}")->required();
    add_common_flags(*import, import_flags, false);
    CommonFlags backup_flags, restore_flags;
    std::string backup_to, restore_from;
    auto* backup = app.add_subcommand(
        "backup", "copy the embedded store (sqlite:PATH) to a new file, consistently, while it serves");
    backup->add_option("--to", backup_to, "the backup file to create (never overwritten)")->required();
    add_common_flags(*backup, backup_flags, false);
    auto* restore = app.add_subcommand(
        "restore", "copy a backup into the embedded store; refused while a broker uses the store");
    restore->add_option("--from", restore_from, "the backup file (made by `backup`)")->required();
    add_common_flags(*restore, restore_flags, false);
    CopyOptions copy_options;
    auto* copy = add_copy_command(app, copy_options);
    CspSimOptions sim_options;
    auto* csp_sim =
        app.add_subcommand("csp-sim", "a local stand-in for the provider API, with fault injection");
    add_csp_sim_flags(*csp_sim, sim_options);
    SettingsOptions settings_options;
    auto* settings = add_settings_command(app, settings_options);
    CommonFlags healthcheck_flags;
    std::optional<std::string> healthcheck_url;
    auto* healthcheck = app.add_subcommand(
        "healthcheck", "GET /healthz of the local broker (METRICS_LISTEN, else BROKER_LISTEN); exit 0 or 1");
    healthcheck->add_option("--url", healthcheck_url,
                            "the URL to GET instead, e.g. http://127.0.0.1:8080/healthz");
    healthcheck->add_option("--env-file", healthcheck_flags.env_file,
                            "KEY=VALUE file read beneath the environment (default: .env, when present)");
    AdminCliOptions admin_options;
    auto* admin = add_admin_command(app, admin_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
        std::cerr << "sandbox-broker: " << usage_problem(app, argc, argv, e) << " (see sandbox-broker --help)"
                  << std::endl;
        return kExitUsage;
    }

    try {
        if (run->parsed()) return serve_command(run_flags, true);
        if (serve->parsed()) return serve_command(serve_flags, false);
        if (worker->parsed()) return worker_command(worker_flags);
        if (migrate->parsed()) return migrate_command(migrate_flags, migrate_status);
        if (version->parsed()) {
            print_version(BROKER_VERSION, BROKER_COMMIT, allocator_in_use(), version_json, std::cout);
            return 0;
        }
        if (import->parsed()) return import_command(import_flags, import_file);
        if (backup->parsed()) return backup_command(backup_flags, backup_to);
        if (restore->parsed()) return restore_command(restore_flags, restore_from);
        if (csp_sim->parsed()) return run_csp_sim(sim_options);
        if (settings->parsed()) return settings_command(settings_options, std::cout);
        if (admin->parsed())
            return run_admin_command(admin_options, std::cout, std::cerr, std::cin, isatty(0));
        if (copy->parsed()) {
            CommonFlags flags;
            flags.env_file = copy_options.env_file;
            const auto open = [&](const std::string& url, bool create_table) {
                return open_store(url, flags, create_table);
            };
            return run_copy(copy_options, open, SystemClock(), std::cout, std::cerr);
        }
        if (healthcheck->parsed()) {
            // Read lazily, so that an unreadable .env is "unhealthy" (exit 1), never exit 2.
            const EnvLookup env = [&](const std::string& name) {
                return environment(healthcheck_flags)(name);
            };
            return healthcheck_command(env, healthcheck_url);
        }
    } catch (const ConfigError& e) {
        std::cerr << "sandbox-broker: " << e.what() << std::endl;
        return kExitUsage;
    } catch (const UsageError& e) {
        std::cerr << "sandbox-broker: " << e.what() << std::endl;
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "sandbox-broker: " << e.what() << std::endl;
        return kExitRuntime;
    }
    return kExitUsage;
}

}  // namespace
}  // namespace broker

int main(int argc, char** argv) {
    return broker::run_main(argc, argv);
}
