#include "provider/sim/csp_sim.hpp"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "core/clock.hpp"
#include "core/errors.hpp"
#include "http/auth.hpp"
#include "http/middleware/access_log.hpp"
#include "http/pipeline.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "obs/log.hpp"
#include "provider/sim/fault_injector.hpp"
#include "provider/sim/sim_routes.hpp"
#include "provider/sim/sim_state.hpp"
#include "runtime/stop_signals.hpp"

namespace broker {
namespace {

constexpr std::int64_t kMaxSandboxes = 1'000'000;

void validate(const CspSimOptions& o) {
    if (o.sandboxes < 0)
        throw ConfigError("--sandboxes must be at least 0, not " + std::to_string(o.sandboxes));
    if (o.sandboxes > kMaxSandboxes) {
        throw ConfigError("--sandboxes must be at most " + std::to_string(kMaxSandboxes));
    }
    if (o.threads < 1 || o.threads > 64) throw ConfigError("--threads must be from 1 to 64");
    sim::FaultSettings faults;
    faults.fail_rate = o.fail_rate;
    if (auto why = sim::invalid_reason(faults)) throw ConfigError("--fail-rate: " + *why);
    faults.latency = std::chrono::milliseconds(o.latency_ms);
    if (auto why = sim::invalid_reason(faults)) throw ConfigError("--latency-ms: " + *why);
    faults.jitter = o.jitter;
    faults.capacity_rps = o.capacity_rps;
    faults.overload_status = o.overload;
    faults.retry_after_sec = o.retry_after_sec;
    if (auto why = sim::invalid_reason(faults)) throw ConfigError(*why);
}

}  // namespace

void add_csp_sim_flags(CLI::App& command, CspSimOptions& o) {
    command.add_option("--listen", o.listen, "HOST:PORT to listen on (port 0: any free port)")
        ->capture_default_str();
    command.add_option("--sandboxes", o.sandboxes, "active sandboxes to start with")->capture_default_str();
    command.add_option("--name-prefix", o.name_prefix, "sandbox names are PREFIX0000, PREFIX0001, ...")
        ->capture_default_str();
    command.add_option("--fail-rate", o.fail_rate, "share of provider requests answered 500 (HTML) or 429")
        ->capture_default_str();
    command.add_option("--latency-ms", o.latency_ms, "delay added to every provider request")
        ->capture_default_str();
    command.add_option("--jitter", o.jitter, "latency varies by up to this share of it, either way (0-1)")
        ->capture_default_str();
    command
        .add_option("--capacity-rps", o.capacity_rps,
                    "provider requests a second served; beyond, refused at once (0: no limit)")
        ->capture_default_str();
    command.add_option("--overload", o.overload, "beyond capacity: 429 (with Retry-After) or 500 (bursts)")
        ->capture_default_str();
    command.add_option("--retry-after-sec", o.retry_after_sec, "the Retry-After of its 429s")
        ->capture_default_str();
    command.add_option("--token", o.token, "require `Authorization: Token <T>` on the account paths");
    command.add_option("--seed", o.seed, "seed for ids and faults (same seed, same ids)")
        ->capture_default_str();
    command.add_option("--threads", o.threads, "I/O threads")->capture_default_str();
    command.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off")
        ->capture_default_str();
}

int run_csp_sim(const CspSimOptions& options) {
    const StopSignals signals;  // before any thread starts

    validate(options);
    setup_logging(options.log_level);
    const auto where = parse_listen_address(options.listen);

    SystemClock clock;
    sim::SimState state(options.seed, clock);
    state.add_sandboxes(static_cast<std::uint64_t>(options.sandboxes), options.name_prefix);
    state.add_ignored_accounts();
    sim::FaultSettings fault_settings;
    fault_settings.fail_rate = options.fail_rate;
    fault_settings.latency = std::chrono::milliseconds(options.latency_ms);
    fault_settings.jitter = options.jitter;
    fault_settings.capacity_rps = options.capacity_rps;
    fault_settings.overload_status = options.overload;
    fault_settings.retry_after_sec = options.retry_after_sec;
    // A different stream from the ids', so adding accounts does not change which requests fail.
    sim::FaultInjector faults(fault_settings, options.seed ^ 0x9e3779b97f4a7c15ULL);
    sim::Simulator simulator{state, faults, options.token, options.name_prefix};

    Router router;
    sim::add_csp_routes(router, simulator);
    sim::add_niosxaas_routes(router, simulator);
    sim::add_control_routes(router, simulator);
    const Authenticator no_bearer_tokens("", "");  // every route is open; handlers check credentials
    Pipeline pipeline(router, no_bearer_tokens);
    pipeline.use(std::make_unique<AccessLog>(clock, /*refused_per_second=*/1e9));  // test traffic only

    ServerOptions server_options;
    server_options.threads = options.threads;
    server_options.max_body_bytes = 4 * 1024 * 1024;  // room for a long list of accounts to add
    server_options.shutdown_grace = std::chrono::seconds(2);
    HttpServer server(server_options, pipeline);
    asio::ip::tcp::endpoint bound;
    try {
        bound = server.start(where);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + options.listen + ": " + e.code().message());
    }
    std::cout << "listening on " << endpoint_url(bound) << std::endl;
    spdlog::info("csp-sim serving {} sandboxes={} prefix={} fail_rate={} latency_ms={} token={}",
                 endpoint_url(bound), options.sandboxes, options.name_prefix, options.fail_rate,
                 options.latency_ms, options.token.empty() ? "none" : "required");

    spdlog::info("received {}, stopping", StopSignals::name(signals.wait()));
    server.stop();
    return 0;
}

}  // namespace broker
