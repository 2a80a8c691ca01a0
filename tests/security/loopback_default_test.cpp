// Threat: a broker started for a try-out (or the demo) reachable from the whole network,
// with the demo's tokens printed on screen. Defence: BROKER_LISTEN defaults to
// 127.0.0.1:8080 and scripts/demo.sh to the same; serving every interface takes an explicit
// address (`--listen 0.0.0.0:8080`).
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "e2e/broker_fixture.hpp"

namespace broker::e2e {
namespace {

TEST(LoopbackDefault, TheBinaryListensOnLoopbackWithoutAnAddress) {
    TempDir dir;
    Environment env = serving_env();
    // No --listen, no BROKER_LISTEN. Port 8080 may be taken on a shared machine: either the
    // broker listens there, or it says it could not, naming the address it tried.
    ChildProcess child({BROKER_BINARY, "run", "--store", "sqlite:" + (dir.path() / "b.db").string()}, env,
                       dir.path());
    const auto line = child.wait_for_line("listening on", std::chrono::seconds(10));
    if (line) {
        EXPECT_EQ(*line, "listening on http://127.0.0.1:8080");
        EXPECT_EQ(child.terminate(std::chrono::seconds(5)), 0);
    } else {
        ASSERT_TRUE(child.wait_exit(std::chrono::seconds(5)).has_value()) << "neither listening nor exited";
        EXPECT_NE(child.err().find("cannot listen on 127.0.0.1:8080"), std::string::npos) << child.err();
    }
}

TEST(LoopbackDefault, TheDemoListensOnLoopbackWithoutAnAddress) {
    // The demo's own default, as the script computes it (running the demo would build).
    const std::string script = std::string(BROKER_SOURCE_DIR) + "/scripts/demo.sh";
    const std::string command =
        "env -u BROKER_LISTEN bash -c 'eval \"$(grep -E \"^listen=\" " + script + ")\"; echo \"$listen\"'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    ASSERT_TRUE(pipe);
    char buf[256] = {};
    ASSERT_NE(fgets(buf, sizeof buf, pipe.get()), nullptr);
    EXPECT_EQ(std::string(buf), "127.0.0.1:8080\n");
}

}  // namespace
}  // namespace broker::e2e
