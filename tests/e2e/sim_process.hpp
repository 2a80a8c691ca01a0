// A running `sandbox-broker csp-sim` for the end-to-end tests: started with the given flags,
// its address read from the "listening on" line, plus helpers for its /_sim control paths.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/broker_process.hpp"
#include "e2e/http_client.hpp"

namespace broker::e2e {

class SimProcess {
  public:
    // Starts `sandbox-broker csp-sim flags...`; throws std::runtime_error (with its output)
    // when it does not report "listening on" within `timeout`.
    explicit SimProcess(const std::vector<std::string>& flags,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

    const std::string& host() const { return host_; }
    unsigned short port() const { return port_; }
    // "http://HOST:PORT", the NIOSXaaS base URL; the CSP base URL is this plus "/v2".
    std::string url() const { return "http://" + host_ + ":" + std::to_string(port_); }

    HttpClient client(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        return HttpClient(host_, port_, timeout);
    }

    // GET /_sim/stats as JSON; throws unless it answers 200.
    nlohmann::json stats() const;
    // POST /_sim/faults with these fields; throws unless it answers 200.
    void set_faults(const nlohmann::json& settings) const;

    // SIGTERM, SIGKILL after `grace`; the exit code (negative: the signal that ended it).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) { return child_.terminate(grace); }
    ChildProcess& process() { return child_; }

  private:
    TempDir dir_;
    ChildProcess child_;
    std::string host_;
    unsigned short port_ = 0;
};

}  // namespace broker::e2e
