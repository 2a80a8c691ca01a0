// HTTP load generator for the broker: N keep-alive connections kept busy for a fixed time,
// the latency of every request recorded, and every allocation answer checked so that no
// sandbox is handed to two participants. Also writes large CSP-format pools to import.
//
//   loadgen --url http://127.0.0.1:8080 --path /v1/allocate --method POST --connections 50
//           --duration 5 --token T --unique-participant
//   loadgen --url http://127.0.0.1:8080 --path /healthz --connections 50 --duration 5
//   loadgen --url http://127.0.0.1:8081 --url http://127.0.0.1:8082 ...   (connections alternate)
//   loadgen --path /v1/sandboxes/{id} --grants-in grants.txt ...   (each request the next
//           "sandbox_id participant" line: {id} is its sandbox, the participant header its holder)
//   loadgen --make-pool 200000 --out pool.json
//   loadgen --sink   (a webhook receiver: see run_sink)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "http/asio.hpp"

namespace broker::bench {
namespace {

using Clock = std::chrono::steady_clock;
using asio::ip::tcp;

// One server the connections are spread over (connection i uses target i mod count).
struct Target {
    std::string url;
    std::string host;
    std::string port;
    tcp::resolver::results_type endpoints;
};

struct Options {
    std::vector<std::string> urls{"http://127.0.0.1:8080"};
    std::string path = "/healthz";
    std::string method = "GET";
    int connections = 50;
    double duration_sec = 5;
    long requests = 0;  // 0: no limit, only the duration
    std::string token;
    int threads = 1;
    bool unique_participant = false;
    std::string run_id;
    double timeout_sec = 10;
    std::string grants_out;            // file for "sandbox_id participant" lines of every grant
    std::string grants_in;             // "sandbox_id participant" lines the requests take in turn
    long requests_per_connection = 0;  // 0: keep each connection for the whole run
    // derived
    std::vector<Target> targets;
    bhttp::verb verb = bhttp::verb::get;
    bool check_allocations = false;
};

// What one connection saw. Touched only by its own coroutine, merged after the run.
struct ConnectionStats {
    std::vector<std::uint32_t> latencies_us;
    std::map<unsigned, long> statuses;
    long errors = 0;                                          // connect, write, read or timeout failures
    std::vector<std::pair<std::string, std::string>> grants;  // (sandbox_id, participant)
    std::string first_error;
    std::string first_non2xx;  // the first answer outside 2xx: status and body (the reason)
    std::size_t target = 0;
};

struct Shared {
    const Options& options;
    Clock::time_point deadline;
    std::atomic<long> tickets{0};  // requests started, checked against --requests
    std::vector<std::pair<std::string, std::string>> grants = {};  // from --grants-in
    std::atomic<std::size_t> next_grant{0};
};

// Pulls "sandbox_id":"..." out of an answer without a full JSON parse: the load generator
// shares the CPU with the broker and must stay cheap.
std::string find_sandbox_id(const std::string& body) {
    constexpr std::string_view kKey = "\"sandbox_id\"";
    auto pos = body.find(kKey);
    if (pos == std::string::npos) return {};
    pos = body.find_first_not_of(" \t\r\n:", pos + kKey.size());
    if (pos == std::string::npos || body[pos] != '"') return {};
    const auto end = body.find('"', pos + 1);
    return end == std::string::npos ? std::string{} : body.substr(pos + 1, end - pos - 1);
}

bool take_ticket(Shared& shared) {
    if (Clock::now() >= shared.deadline) return false;
    if (shared.options.requests <= 0) return true;
    return shared.tickets.fetch_add(1) < shared.options.requests;
}

// The request as bytes, built once per connection up to the participant header: the
// load generator shares the CPU with the broker, so each request must cost it little.
struct RequestTemplate {
    std::string head;  // request line and fixed headers, ending in "X-Instruqt-Sandbox-ID: "
    std::string tail;  // rest of the headers and the blank line

    RequestTemplate(const Options& options, const Target& target) {
        head = options.method + " " + options.path + " HTTP/1.1\r\nHost: " + target.host +
               "\r\nUser-Agent: sandbox-broker-loadgen\r\n";
        if (!options.token.empty()) head += "Authorization: Bearer " + options.token + "\r\n";
        head += "X-Instruqt-Sandbox-ID: ";
        tail = options.verb == bhttp::verb::get ? "\r\n\r\n" : "\r\nContent-Length: 0\r\n\r\n";
    }
};

// One connection's loop. Runs on its own strand, shared with its watchdog timer, which
// closes the socket if an answer has not come `timeout` after the end of the run.
asio::awaitable<void> run_connection(Shared& shared, int index, ConnectionStats& stats) {
    const Options& options = shared.options;
    auto executor = co_await asio::this_coro::executor;
    const Target& target = options.targets[stats.target];
    const RequestTemplate request_template(options, target);
    const std::string fixed_participant = "bench-" + options.run_id + "-" + std::to_string(index);
    long sequence = 0;

    tcp::socket socket(executor);
    asio::steady_timer watchdog(
        executor, shared.deadline + std::chrono::milliseconds(static_cast<long>(options.timeout_sec * 1000)));
    auto on_timeout = [&socket](const beast::error_code& ec) {
        if (ec) return;  // cancelled: the connection finished in time (its frame may be gone)
        beast::error_code ignored;
        socket.close(ignored);
    };
    watchdog.async_wait(on_timeout);

    std::string participant;
    std::string request;
    beast::error_code ec;
    while (take_ticket(shared)) {
        co_await asio::async_connect(socket, target.endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            ++stats.errors;
            if (stats.first_error.empty()) stats.first_error = "connect: " + ec.message();
            // A refused connection fails instantly; pause so a dead server is not hammered.
            asio::steady_timer pause(executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        beast::flat_buffer buffer;
        bool keep_alive = true;
        bool first = true;
        long on_connection = 0;
        while (keep_alive && (first || take_ticket(shared))) {
            first = false;
            if (!shared.grants.empty()) {
                // The next grant in turn: its sandbox in the path, its holder as the participant.
                const auto& [sandbox_id, holder] =
                    shared.grants[shared.next_grant.fetch_add(1) % shared.grants.size()];
                participant = holder;
                request = request_template.head;
                if (auto at = request.find("{id}"); at != std::string::npos)
                    request.replace(at, 4, sandbox_id);
            } else {
                participant = fixed_participant;
                if (options.unique_participant) {
                    participant += '-';
                    participant += std::to_string(sequence++);
                }
                request = request_template.head;
            }
            request += participant;
            request += request_template.tail;

            const auto started = Clock::now();
            co_await asio::async_write(socket, asio::buffer(request),
                                       asio::redirect_error(asio::use_awaitable, ec));
            Response response;
            if (!ec) {
                co_await bhttp::async_read(socket, buffer, response,
                                           asio::redirect_error(asio::use_awaitable, ec));
            }
            if (ec) {
                ++stats.errors;
                if (stats.first_error.empty()) stats.first_error = "request: " + ec.message();
                break;  // reconnect
            }
            const auto elapsed =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
            stats.latencies_us.push_back(static_cast<std::uint32_t>(elapsed.count()));
            const unsigned status = response.result_int();
            ++stats.statuses[status];
            if ((status < 200 || status >= 300) && stats.first_non2xx.empty()) {
                constexpr std::size_t kBodyShown = 200;
                stats.first_non2xx = std::to_string(status) + " " + response.body().substr(0, kBodyShown);
            }
            if (options.check_allocations && status >= 200 && status < 300) {
                stats.grants.emplace_back(find_sandbox_id(response.body()), participant);
            }
            keep_alive = response.keep_alive();
            // A bounded number of requests per connection: opens and closes many connections.
            if (options.requests_per_connection > 0 && ++on_connection >= options.requests_per_connection)
                break;
        }
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    }
    watchdog.cancel();
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

int run_load(Options& options) {
    // Only plain http://host[:port]: the broker is measured on loopback, TLS ends in front of it.
    constexpr std::string_view kScheme = "http://";
    for (const auto& url : options.urls) {
        if (url.rfind(kScheme, 0) != 0) {
            std::cerr << "loadgen: --url must start with http://\n";
            return 2;
        }
        std::string authority = url.substr(kScheme.size());
        if (auto slash = authority.find('/'); slash != std::string::npos) authority.resize(slash);
        const auto colon = authority.rfind(':');
        Target target;
        target.url = url;
        target.host = colon == std::string::npos ? authority : authority.substr(0, colon);
        target.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
        options.targets.push_back(std::move(target));
    }
    options.verb = bhttp::string_to_verb(options.method);
    if (options.verb == bhttp::verb::unknown) {
        std::cerr << "loadgen: unknown --method " << options.method << "\n";
        return 2;
    }
    options.check_allocations = options.path.find("/allocate") != std::string::npos;
    if (options.run_id.empty()) {
        options.run_id =
            std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000);
    }

    asio::io_context io(options.threads);
    Shared shared{options, {}};
    if (!options.grants_in.empty()) {
        std::ifstream in(options.grants_in);
        std::string sandbox_id, participant;
        while (in >> sandbox_id >> participant) shared.grants.emplace_back(sandbox_id, participant);
        if (shared.grants.empty()) {
            std::cerr << "loadgen: no \"sandbox_id participant\" lines in " << options.grants_in << "\n";
            return 2;
        }
    }
    for (auto& target : options.targets) {
        try {
            target.endpoints = tcp::resolver(io).resolve(target.host, target.port);
        } catch (const std::exception& e) {
            std::cerr << "loadgen: cannot resolve " << target.host << ":" << target.port << ": " << e.what()
                      << "\n";
            return 2;
        }
    }

    std::vector<ConnectionStats> stats(static_cast<std::size_t>(options.connections));
    for (std::size_t i = 0; i < stats.size(); ++i) stats[i].target = i % options.targets.size();
    const auto started = Clock::now();
    shared.deadline = started + std::chrono::milliseconds(static_cast<long>(options.duration_sec * 1000));
    for (int i = 0; i < options.connections; ++i) {
        asio::co_spawn(asio::make_strand(io), run_connection(shared, i, stats[static_cast<std::size_t>(i)]),
                       asio::detached);
    }
    std::vector<std::thread> threads;
    for (int i = 1; i < options.threads; ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

    std::vector<std::uint32_t> latencies;
    std::map<unsigned, long> statuses;
    long errors = 0;
    std::string first_error;
    std::string first_non2xx;
    std::vector<long> per_target(options.targets.size(), 0);  // answers per target
    std::unordered_map<std::string, std::string> holder;      // sandbox_id -> participant
    long duplicates = 0;
    long missing_ids = 0;
    for (auto& s : stats) {
        latencies.insert(latencies.end(), s.latencies_us.begin(), s.latencies_us.end());
        for (const auto& [status, count] : s.statuses) statuses[status] += count;
        errors += s.errors;
        per_target[s.target] += static_cast<long>(s.latencies_us.size());
        if (first_error.empty()) first_error = s.first_error;
        if (first_non2xx.empty()) first_non2xx = s.first_non2xx;
        for (auto& [sandbox_id, participant] : s.grants) {
            if (sandbox_id.empty()) {
                ++missing_ids;
                continue;
            }
            auto [it, inserted] = holder.emplace(sandbox_id, participant);
            if (!inserted && it->second != participant) ++duplicates;
        }
    }
    std::sort(latencies.begin(), latencies.end());
    if (!options.grants_out.empty()) {
        // Lets a caller check for double grants across several runs against one store.
        std::ofstream grants(options.grants_out);
        for (const auto& [sandbox_id, participant] : holder)
            grants << sandbox_id << ' ' << participant << '\n';
        if (!grants) std::cerr << "loadgen: writing " << options.grants_out << " failed\n";
    }
    long non2xx = 0;
    for (const auto& [status, count] : statuses) {
        if (status < 200 || status >= 300) non2xx += count;
    }
    const long created = statuses.count(201) ? statuses.at(201) : 0;
    const auto total = static_cast<long>(latencies.size());
    const double rps = elapsed > 0 ? static_cast<double>(total) / elapsed : 0;
    const double p50 = percentile_ms(latencies, 0.50), p90 = percentile_ms(latencies, 0.90);
    const double p99 = percentile_ms(latencies, 0.99), max = percentile_ms(latencies, 1.0);

    std::string urls;
    for (const auto& target : options.targets) urls += (urls.empty() ? "" : ",") + target.url;
    std::printf("%s %s%s: %d connections, %d thread(s), %.2f s\n", options.method.c_str(), urls.c_str(),
                options.path.c_str(), options.connections, options.threads, elapsed);
    if (options.targets.size() > 1) {
        std::printf("  answers  ");
        for (std::size_t i = 0; i < options.targets.size(); ++i)
            std::printf(" %s:%ld", options.targets[i].url.c_str(), per_target[i]);
        std::printf("\n");
    }
    std::printf("  requests  %ld (%.0f/s), transport errors %ld%s%s\n", total, rps, errors,
                first_error.empty() ? "" : ", first: ", first_error.c_str());
    std::printf("  latency   p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n", p50, p90, p99, max);
    std::printf("  statuses ");
    for (const auto& [status, count] : statuses) std::printf(" %u:%ld", status, count);
    std::printf("\n");
    if (!first_non2xx.empty()) std::printf("  first non-2xx answer: %s\n", first_non2xx.c_str());
    if (options.check_allocations) {
        std::printf("  sandboxes %zu distinct, %ld handed to a second participant, %ld answers without id\n",
                    holder.size(), duplicates, missing_ids);
    }
    // Every status seen and how often, last in the line: a failed check shows which
    // answers it got (a 503 from a busy store is not a 409 from a lost race).
    std::string status_counts;
    for (const auto& [status, count] : statuses) {
        status_counts += status_counts.empty() ? "" : ",";
        status_counts += "\"" + std::to_string(status) + "\":" + std::to_string(count);
    }
    std::printf(
        "{\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"requests\":%ld,"
        "\"non2xx\":%ld,\"created\":%ld,\"errors\":%ld,\"duplicates\":%ld,\"distinct_sandboxes\":%zu,"
        "\"connections\":%d,"
        "\"duration_s\":%.3f,\"targets\":%zu,\"statuses\":{%s}}\n",
        rps, p50, p90, p99, max, total, non2xx, created, errors, duplicates, holder.size(),
        options.connections, elapsed, options.targets.size(), status_counts.c_str());
    std::fflush(stdout);
    return total > 0 ? 0 : 1;
}

// A webhook receiver for bench/run-events-bench.sh, as cheap as the load generator: one thread,
// 127.0.0.1 on a port the kernel chooses (printed as "listening on PORT"), keep-alive
// connections, 204 to every POST. A GET answers the number of POSTs received so far (the
// script's drain check); SIGTERM or SIGINT prints "received N" and ends it.
int run_sink() {
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    long received = 0;
    asio::signal_set signals(io, SIGTERM, SIGINT);
    signals.async_wait([&](const beast::error_code&, int) { io.stop(); });

    const auto serve = [&received](tcp::socket socket) -> asio::awaitable<void> {
        beast::flat_buffer buffer;
        beast::error_code ec;
        for (;;) {
            bhttp::request<bhttp::string_body> request;
            co_await bhttp::async_read(socket, buffer, request,
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            bhttp::response<bhttp::string_body> response;
            response.version(request.version());
            response.keep_alive(request.keep_alive());
            if (request.method() == bhttp::verb::post) {
                ++received;
                response.result(bhttp::status::no_content);
            } else {
                response.result(bhttp::status::ok);
                response.body() = std::to_string(received) + "\n";
                response.prepare_payload();
            }
            co_await bhttp::async_write(socket, response, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !response.keep_alive()) co_return;
        }
    };
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (;;) {
                beast::error_code ec;
                tcp::socket socket =
                    co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
                if (ec) continue;
                asio::co_spawn(io, serve(std::move(socket)), asio::detached);
            }
        },
        asio::detached);
    std::printf("listening on %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    io.run();
    std::printf("received %ld\n", received);
    std::fflush(stdout);
    return 0;
}

// A provider account list in the CSP format of ARCHITECTURE §5, streamed to `out`.
// Deterministic: the same size gives the same file.
int make_pool(long size, const std::string& out_path, const std::string& prefix) {
    std::ofstream out(out_path, std::ios::binary);
    if (!out) {
        std::cerr << "loadgen: cannot write " << out_path << "\n";
        return 2;
    }
    std::mt19937_64 random(20250327);
    const auto hex = [&](int digits) {
        static constexpr char kDigits[] = "0123456789abcdef";
        std::string text;
        for (int i = 0; i < digits; ++i) text.push_back(kDigits[random() & 15]);
        return text;
    };
    out << "{\"results\": [\n";
    char line[512];
    for (long i = 0; i < size; ++i) {
        std::string uuid = hex(8);
        uuid += "-" + hex(4);
        uuid += "-4" + hex(3);
        uuid += "-a" + hex(3);
        uuid += "-" + hex(12);
        // Like the real list: some accounts carry a Salesforce id, the others lack the field.
        const std::string sfdc = i % 2 == 0 ? ", \"sfdc_account_id\": \"001" + hex(15) + "\"" : "";
        const long seconds = i % 60, minutes = (i / 60) % 60, hours = (i / 3600) % 24,
                   day = 1 + (i / 86400) % 28;
        std::snprintf(
            line, sizeof line,
            "%s{\"account_type\": \"sandbox\", \"state\": \"active\", \"id\": \"identity/accounts/%s\", "
            "\"name\": \"%s%07ld\", \"csp_id\": %ld, \"created_at\": "
            "\"2025-03-%02ldT%02ld:%02ld:%02ld.000000Z\"%s}\n",
            i == 0 ? "  " : ", ", uuid.c_str(), prefix.c_str(), i, 3'000'000 + i, day, hours, minutes,
            seconds, sfdc.c_str());
        out << line;
    }
    out << "]}\n";
    out.close();
    if (!out) {
        std::cerr << "loadgen: writing " << out_path << " failed\n";
        return 2;
    }
    std::printf("wrote %ld sandboxes to %s\n", size, out_path.c_str());
    return 0;
}

}  // namespace
}  // namespace broker::bench

int main(int argc, char** argv) {
    broker::bench::Options options;
    long pool_size = 0;
    std::string pool_out;
    std::string pool_prefix = "bench-sandbox-";

    CLI::App app{"HTTP load generator for sandbox-broker"};
    app.add_option("--url", options.urls,
                   "http://HOST:PORT of the server; repeat it to spread the connections over several "
                   "(connection i goes to URL i mod count)")
        ->capture_default_str();
    app.add_option("--path", options.path, "request path, e.g. /v1/allocate or /healthz")
        ->capture_default_str();
    app.add_option("--method", options.method, "GET or POST")->capture_default_str();
    app.add_option("--connections,-c", options.connections, "keep-alive connections kept busy")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--duration,-d", options.duration_sec, "seconds to run")->capture_default_str();
    app.add_option("--requests,-n", options.requests, "stop after this many requests (0: no limit)");
    app.add_option("--token", options.token, "bearer token (Authorization header)");
    app.add_option("--threads,-t", options.threads, "I/O threads of the load generator")
        ->check(CLI::Range(1, 256))
        ->capture_default_str();
    app.add_flag("--unique-participant", options.unique_participant,
                 "a new X-Instruqt-Sandbox-ID for every request (else one per connection)");
    app.add_option("--run-id", options.run_id, "tag inside participant ids (default: from the time)");
    app.add_option("--timeout", options.timeout_sec, "seconds past the run's end that answers are waited for")
        ->capture_default_str();
    app.add_option("--grants-out", options.grants_out, "write every granted sandbox_id and its participant");
    app.add_option("--grants-in", options.grants_in,
                   "take \"sandbox_id participant\" lines in turn, one a request: {id} in --path becomes "
                   "the sandbox, the participant header its holder");
    app.add_option("--requests-per-connection", options.requests_per_connection,
                   "close each connection after this many requests and open another (0: no limit)");
    bool sink = false;
    app.add_flag("--sink", sink, "be a webhook receiver instead: 204 to every POST, a GET answers the count");
    app.add_option("--make-pool", pool_size, "write a CSP-format pool of this many sandboxes and exit");
    app.add_option("--out", pool_out, "file for --make-pool");
    app.add_option("--pool-prefix", pool_prefix, "sandbox name prefix for --make-pool")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    if (sink) return broker::bench::run_sink();
    if (pool_size > 0) {
        if (pool_out.empty()) {
            std::cerr << "loadgen: --make-pool needs --out FILE\n";
            return 2;
        }
        return broker::bench::make_pool(pool_size, pool_out, pool_prefix);
    }
    return broker::bench::run_load(options);
}
