// What most end-to-end tests need: a provider account list written to a file, a store
// filled from it with `sandbox-broker import`, a running broker on that store, and request
// helpers that speak as a lab participant.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/broker_process.hpp"
#include "e2e/http_client.hpp"

namespace broker::e2e {

inline const std::string kApiToken = "e2e-participant-token-0123456789";
inline const std::string kAdminToken = "e2e-admin-token-9876543210";

// One entry of the provider's account list (ARCHITECTURE §5).
struct PoolEntry {
    long csp_id = 0;
    std::string name;
    std::optional<std::string> sfdc_account_id;  // nothing: the field is left out
    std::string account_type = "sandbox";
    std::string state = "active";
};

// `count` active sandboxes named `<prefix><n>` with ids from `first_id`, each with an sfdc id.
std::vector<PoolEntry> sandboxes(const std::string& prefix, int count, long first_id);

// The list as the provider serves it: `{"results": [...]}`.
std::string csp_accounts_json(const std::vector<PoolEntry>& pool);

// The environment a broker needs to serve: both tokens, rate limiting off, quiet logs.
Environment serving_env();

// A store in its own temp dir, filled from a pool, and a broker serving it.
class BrokerInstance {
  public:
    // `flags` go to `run` (a TestClock's, say).
    explicit BrokerInstance(const std::vector<PoolEntry>& pool, Environment env = serving_env(),
                            std::vector<std::string> flags = {});
    // Stops a broker still running; a non-zero exit (a crash on shutdown, a sanitizer
    // report) fails the current test.
    ~BrokerInstance();

    // What the import run by the constructor printed.
    const CommandResult& initial_import() const { return initial_import_; }

    // Runs `sandbox-broker import` of another list into the same store.
    CommandResult import(const std::vector<PoolEntry>& pool);

    void start();
    int stop();

    BrokerProcess& process() { return *process_; }
    const BrokerProcess& process() const { return *process_; }
    const std::filesystem::path& dir() const { return dir_.path(); }
    std::string store_url() const { return "sqlite:" + (dir_.path() / "broker.db").string(); }
    const Environment& env() const { return env_; }

    // A new keep-alive connection to the running broker.
    HttpClient client() const;

  private:
    TempDir dir_;
    Environment env_;
    std::vector<std::string> flags_;
    int imports_ = 0;
    CommandResult initial_import_;
    std::unique_ptr<BrokerProcess> process_;
};

// A participant id no other test uses, readable in logs.
std::string unique_participant(const std::string& label);

// Authorization plus X-Instruqt-Sandbox-ID, and `extra` after them.
Headers participant_headers(const std::string& participant, const Headers& extra = {});

HttpResponse allocate(HttpClient& client, const std::string& participant, const Headers& extra = {});
HttpResponse get_sandbox(HttpClient& client, const std::string& sandbox_id, const std::string& participant);
HttpResponse mark_for_deletion(HttpClient& client, const std::string& sandbox_id,
                               const std::string& participant);

struct BurstResult {
    std::vector<HttpResponse> responses;  // one per connection, in connection order
    std::vector<std::string> failures;    // transport failures; "" where the exchange worked
};

// Opens `connections` keep-alive connections on as many threads, then lets every thread send
// `send(client, index)` at the same moment: the shape of a class pressing "start" together.
BurstResult burst(const BrokerInstance& broker, int connections,
                  const std::function<HttpResponse(HttpClient&, int)>& send);

// What the running broker logged up to this call, stdout and stderr: its log is written in
// batches, so this sends GET /healthz with a request id of its own and waits (up to 10 s, an
// event, not a duration) for that request's access-log line. Needs LOG_LEVEL info or debug;
// fails the test when the line does not come.
std::string logged_so_far(BrokerInstance& broker);

// The error code of an error answer, "" when the body is not the envelope.
std::string error_code(const HttpResponse& response);

// The value of the Prometheus sample line starting with `series` ("name{labels}", never a
// # HELP line) in a /metrics answer; -1 when absent.
double metric_sample(const std::string& metrics, const std::string& series);

}  // namespace broker::e2e
