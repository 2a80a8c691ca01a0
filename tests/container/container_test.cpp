// The container image as an operator runs it, with podman and runc: the image's own settings
// (non-root user, HEALTHCHECK, entrypoint, defaults), then one deployment on the host network
// against the test PostgreSQL cluster and a `csp-sim` on the host: `migrate` exits 0, two
// `serve` replicas (read-only root filesystem) and one `worker` come up healthy by the image's
// HEALTHCHECK, 200 allocations over both replicas are all distinct, the worker syncs the
// simulator's pool and deletes a returned sandbox, every secret comes from a *_FILE, and
// `podman stop` ends each container with status 0. The image is built once by the ctest
// fixture `container_image_build` (tests/container/build-image.sh); without podman, or
// without that image, the tests skip and say why.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/ha_fixture.hpp"
#include "e2e/jobs_fixture.hpp"
#include "http/asio.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kBrokerUid = 10001;

std::string env_or(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

std::string image() {
    return env_or("BROKER_CONTAINER_IMAGE", "localhost/sandbox-broker:test");
}

// podman on PATH; "" when there is none.
std::string podman_binary() {
    std::string path = env_or("PATH", "/usr/bin:/bin");
    for (std::size_t start = 0; start <= path.size();) {
        auto end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        const auto candidate = std::filesystem::path(path.substr(start, end - start)) / "podman";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return {};
}

// Runs `podman args...` with the project's containers.conf (runc, ulimits) unless the caller
// set CONTAINERS_CONF; kills it after `timeout`.
CommandResult podman(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) {
    std::vector<std::string> argv = {podman_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    const Environment env = {
        {"CONTAINERS_CONF",
         env_or("CONTAINERS_CONF", std::string(BROKER_SOURCE_DIR) + "/tests/container/containers.conf")},
        {"HOME", env_or("HOME", "/root")},
    };
    ChildProcess child(argv, env, std::filesystem::temp_directory_path());
    CommandResult result;
    const auto status = child.wait_exit(timeout);
    result.timed_out = !status;
    result.exit_code = status ? *status : child.terminate(0ms);
    result.out = child.out();
    result.err = child.err();
    return result;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// Why the container tests cannot run here, or nothing when they can.
std::optional<std::string> skip_reason() {
    if (podman_binary().empty()) return "podman is not installed (scripts/install-deps.sh installs it)";
    if (podman({"image", "exists", image()}).exit_code != 0) {
        return "no image " + image() + ": the ctest fixture container_image_build builds it " +
               "(tests/container/build-image.sh; it says why when podman cannot run here)";
    }
    return std::nullopt;
}

// A port that was free a moment ago on 127.0.0.1 (containers share the host's network).
unsigned short free_port() {
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

// Containers of one test, removed (forcibly, with their anonymous /data volumes) at the end
// however it ends.
class Containers {
  public:
    Containers() : prefix_("broker-ct-" + std::to_string(::getpid()) + "-") {}
    ~Containers() {
        for (const auto& name : names_) podman({"rm", "--force", "--volumes", "--time", "0", name});
    }
    std::string name(const std::string& role) {
        names_.push_back(prefix_ + role);
        return names_.back();
    }
    std::string logs(const std::string& name) {
        const auto result = podman({"logs", "--tail", "40", name});
        return result.out + result.err;
    }

  private:
    std::string prefix_;
    std::vector<std::string> names_;
};

// Secrets as files readable by the image's user, mounted at /run/secrets (read-only).
class SecretFiles {
  public:
    void add(const std::string& name, const std::string& value) {
        std::ofstream(dir_.path() / name) << value << "\n";
        ::chmod((dir_.path() / name).c_str(), 0644);
    }
    std::string mount() const {
        ::chmod(dir_.path().c_str(), 0755);
        return dir_.path().string() + ":/run/secrets:ro";
    }

  private:
    TempDir dir_;
};

std::vector<std::string> env_flags(const Environment& env) {
    std::vector<std::string> flags;
    for (const auto& [key, value] : env) {
        flags.push_back("--env");
        flags.push_back(key + "=" + value);
    }
    return flags;
}

// Runs the image's HEALTHCHECK until it passes (podman runs it on a timer only under
// systemd, so the test asks for each run); then the status podman records for the container.
std::string wait_healthy(const std::string& name, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        if (podman({"healthcheck", "run", name}, 20s).exit_code == 0) break;
        std::this_thread::sleep_for(250ms);
    }
    return trimmed(podman({"inspect", "--format", "{{.State.Health.Status}}", name}).out);
}

TEST(ContainerImage, RunsAsAFixedUserWithItsOwnHealthcheckAndTheBinaryAsEntrypoint) {
    if (auto why = skip_reason()) GTEST_SKIP() << *why;
    const auto inspected = podman({"image", "inspect", image()});
    ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
    const auto info = nlohmann::json::parse(inspected.out).at(0);
    const auto& config = info.at("Config");
    EXPECT_EQ(config.value("User", ""), std::to_string(kBrokerUid) + ":" + std::to_string(kBrokerUid));
    EXPECT_EQ(config.at("Entrypoint"), nlohmann::json::array({"/usr/local/bin/sandbox-broker"}));
    EXPECT_EQ(config.at("Cmd"), nlohmann::json::array({"run"}));
    EXPECT_EQ(config.value("StopSignal", ""), "SIGTERM");
    EXPECT_TRUE(config.at("ExposedPorts").contains("8080/tcp")) << config.dump();
    EXPECT_TRUE(config.at("Volumes").contains("/data")) << config.dump();
    const auto env = config.at("Env").dump();
    for (const char* setting : {"BROKER_LISTEN=0.0.0.0:8080", "SHUTDOWN_DRAIN_SEC=5"}) {
        EXPECT_NE(env.find(setting), std::string::npos) << env;
    }
    // No BROKER_STORE, so that BROKER_STORE_FILE may be given: from the working directory /,
    // the default sqlite:data/broker.db is on the /data volume, writable under --read-only.
    EXPECT_EQ(env.find("BROKER_STORE"), std::string::npos) << env;
    EXPECT_EQ(config.value("WorkingDir", ""), "/");
    const auto migrated = podman({"run", "--rm", "--read-only", image(), "migrate"});
    EXPECT_EQ(migrated.exit_code, 0) << migrated.out << migrated.err;
    EXPECT_NE(migrated.out.find("store sqlite:data/broker.db: created the schema"), std::string::npos)
        << migrated.out;
    const auto healthcheck = info.value("Healthcheck", nlohmann::json());
    EXPECT_NE(healthcheck.dump().find("sandbox-broker\",\"healthcheck\""), std::string::npos) << info.dump();
    // No curl: the binary checks itself.
    EXPECT_NE(podman({"run", "--rm", "--entrypoint", "sh", image(), "-c", "command -v curl"}).exit_code, 0);

    const auto version = podman({"run", "--rm", image(), "--version"});
    EXPECT_EQ(version.exit_code, 0) << version.err;
    EXPECT_EQ(version.out.rfind("sandbox-broker ", 0), 0u) << version.out;
    EXPECT_EQ(version.out.find("(commit unknown)"), std::string::npos)
        << "BROKER_COMMIT not passed: " << version.out;
    // The image installs the runtime library and the binary's malloc is really mimalloc's.
    const auto described = podman({"run", "--rm", image(), "version", "--json"});
    ASSERT_EQ(described.exit_code, 0) << described.err;
    EXPECT_EQ(nlohmann::json::parse(described.out).value("allocator", "").rfind("mimalloc ", 0), 0u)
        << described.out;
    const double megabytes = info.value("Size", 0.0) / 1e6;
    std::cout << "[ figures  ] runtime image " << image() << ": " << static_cast<int>(megabytes) << " MB"
              << std::endl;
}

TEST(ContainerDeployment, MigrateTwoServeReplicasAndAWorkerOnPostgres) {
    if (auto why = skip_reason()) GTEST_SKIP() << *why;
    const auto url = test_postgres_url();
    if (!url) GTEST_SKIP() << kNoPostgres;
    const auto started = Clock::now();
    PgSchema db(*url);
    constexpr int kPool = 220;
    constexpr int kAllocations = 200;
    SimProcess sim(sim_flags(kPool));
    Containers containers;

    // Every secret as a file; the plain variables are left out so nothing else can carry them.
    SecretFiles secrets;
    secrets.add("api-token", kApiToken);
    secrets.add("admin-token", kAdminToken);
    secrets.add("csp-token", kSimToken);
    secrets.add("store-url", db.url());
    Environment env = db.env(jobs_env(sim));
    for (const char* plain : {"BROKER_API_TOKEN", "BROKER_ADMIN_TOKEN", "CSP_API_TOKEN", "BROKER_STORE"}) {
        env.erase(plain);
    }
    env["BROKER_API_TOKEN_FILE"] = "/run/secrets/api-token";
    env["BROKER_ADMIN_TOKEN_FILE"] = "/run/secrets/admin-token";
    env["CSP_API_TOKEN_FILE"] = "/run/secrets/csp-token";
    env["BROKER_STORE_FILE"] = "/run/secrets/store-url";
    env["LOG_LEVEL"] = "info";
    const std::vector<std::string> common = {"--network", "host", "--volume", secrets.mount()};
    auto run_args = [&](const std::vector<std::string>& before, const Environment& extra,
                        const std::vector<std::string>& command) {
        std::vector<std::string> args = {"run"};
        args.insert(args.end(), common.begin(), common.end());
        args.insert(args.end(), before.begin(), before.end());
        Environment all = env;
        for (const auto& [key, value] : extra) all[key] = value;
        const auto flags = env_flags(all);
        args.insert(args.end(), flags.begin(), flags.end());
        args.push_back(image());
        args.insert(args.end(), command.begin(), command.end());
        return args;
    };

    // migrate: a one-shot container that exits 0.
    const auto migrated = podman(run_args({"--rm", "--read-only"}, {}, {"migrate"}), 60s);
    ASSERT_EQ(migrated.exit_code, 0) << migrated.out << migrated.err;
    EXPECT_NE(migrated.out.find("created the schema"), std::string::npos) << migrated.out;

    // Two API replicas with a read-only root filesystem, and a worker with its metrics port.
    const unsigned short port_a = free_port(), port_b = free_port(), metrics_port = free_port();
    const std::string serve_a = containers.name("serve-a"), serve_b = containers.name("serve-b");
    const std::string worker = containers.name("worker");
    for (const auto& [name, port] : {std::pair{serve_a, port_a}, std::pair{serve_b, port_b}}) {
        const auto ran =
            podman(run_args({"--detach", "--name", name, "--read-only", "--tmpfs", "/tmp"},
                            {{"BROKER_LISTEN", "127.0.0.1:" + std::to_string(port)}}, {"serve"}));
        ASSERT_EQ(ran.exit_code, 0) << ran.err;
    }
    const auto ran =
        podman(run_args({"--detach", "--name", worker, "--read-only", "--tmpfs", "/tmp"},
                        {{"METRICS_LISTEN", "127.0.0.1:" + std::to_string(metrics_port)}}, {"worker"}));
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    for (const auto& name : {serve_a, serve_b, worker}) {
        EXPECT_EQ(wait_healthy(name, 30s), "healthy") << name << "\n" << containers.logs(name);
        EXPECT_EQ(trimmed(podman({"exec", name, "id", "-u"}).out), std::to_string(kBrokerUid)) << name;
    }
    EXPECT_NE(podman({"exec", serve_a, "touch", "/usr/local/bin/probe"}).exit_code, 0) << "root fs writable";
    EXPECT_EQ(podman({"exec", serve_a, "touch", "/tmp/probe"}).exit_code, 0) << "no tmpfs on /tmp";

    // The worker's start-up sync fills the pool both replicas read.
    HttpClient a("127.0.0.1", port_a, 20s), b("127.0.0.1", port_b, 20s);
    ASSERT_TRUE(wait_until([&] { return admin_stats(a)["available"] == kPool; }, 30s))
        << admin_stats(a).dump() << "\n"
        << containers.logs(worker);

    std::set<std::string> sandbox_ids;
    int served[2] = {0, 0};
    std::string returned_id, returned_by;
    for (int i = 0; i < kAllocations; ++i) {
        const std::string participant = unique_participant("container");
        auto& client = i % 2 == 0 ? a : b;
        const auto answer = allocate(client, participant);
        ASSERT_EQ(answer.status, 201) << answer.body;
        ++served[i % 2];
        sandbox_ids.insert(answer.json.at("sandbox_id").get<std::string>());
        if (i == 0) returned_id = answer.json.at("sandbox_id").get<std::string>(), returned_by = participant;
    }
    EXPECT_EQ(sandbox_ids.size(), static_cast<std::size_t>(kAllocations)) << "a sandbox was handed out twice";
    EXPECT_EQ(served[0], kAllocations / 2);
    EXPECT_EQ(served[1], kAllocations / 2);

    // A returned sandbox is deleted at the provider by the worker's cleanup.
    const auto marked = mark_for_deletion(b, returned_id, returned_by);
    ASSERT_LT(marked.status, 300) << marked.body;
    EXPECT_TRUE(wait_until([&] { return sim.stats()["deleted"].get<int>() >= 1; }, 30s))
        << sim.stats().dump() << "\n"
        << containers.logs(worker);

    // podman stop (SIGTERM, SIGKILL after 10 s): each ends by itself with status 0, the
    // replicas after their drain (SHUTDOWN_DRAIN_SEC=5 in the image).
    std::vector<std::thread> stops;
    std::map<std::string, double> stop_seconds;
    std::mutex mutex;
    for (const auto& name : {serve_a, serve_b, worker}) {
        stops.emplace_back([&, name] {
            const auto t0 = Clock::now();
            podman({"stop", "--time", "10", name}, 30s);
            std::lock_guard lock(mutex);
            stop_seconds[name] = std::chrono::duration<double>(Clock::now() - t0).count();
        });
    }
    for (auto& stop : stops) stop.join();
    for (const auto& name : {serve_a, serve_b, worker}) {
        const auto state =
            trimmed(podman({"inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name}).out);
        EXPECT_EQ(state, "0 false") << name << " after " << stop_seconds[name] << " s\n"
                                    << containers.logs(name);
        std::cout << "[ figures  ] podman stop " << name.substr(name.rfind('-') + 1) << ": "
                  << stop_seconds[name] << " s" << std::endl;
    }
    std::cout << "[ figures  ] container deployment test: "
              << std::chrono::duration<double>(Clock::now() - started).count() << " s" << std::endl;
}

}  // namespace
}  // namespace broker::e2e
