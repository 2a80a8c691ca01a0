// `sandbox-broker csp-sim`: a local stand-in for the provider (ARCHITECTURE §5) with fault
// injection, for the demo and the end-to-end tests; never for production. main.cpp adds the
// flags to its subcommand and calls run_csp_sim.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace broker {

struct CspSimOptions {
    std::string listen = "127.0.0.1:0";  // loopback unless told otherwise
    std::int64_t sandboxes = 50;  // signed, so that -3 is refused by name instead of by CLI11's converter
    std::string name_prefix = "sandbox-";
    double fail_rate = 0.0;
    std::int64_t latency_ms = 0;
    double jitter = 0.0;        // latency ± this share of it
    double capacity_rps = 0.0;  // requests a second it serves; beyond, it refuses (0: no limit)
    int overload = 429;         // how it refuses: 429 with Retry-After, or bursts of 500
    int retry_after_sec = 1;
    std::string token;  // required as `Authorization: Token <token>` when set
    std::uint64_t seed = 1;
    int threads = 2;
    std::string log_level = "warn";
};

// Adds --listen, --sandboxes, --name-prefix, --fail-rate, --latency-ms, --jitter,
// --capacity-rps, --overload, --retry-after-sec, --token, --seed, --threads and --log-level to
// `command`, writing into `options`.
void add_csp_sim_flags(CLI::App& command, CspSimOptions& options);

// Serves until SIGTERM or SIGINT, then returns 0. Prints `listening on http://HOST:PORT`
// on stdout (flushed) once it accepts connections. Throws ConfigError for bad options and
// std::runtime_error when it cannot listen.
int run_csp_sim(const CspSimOptions& options);

}  // namespace broker
