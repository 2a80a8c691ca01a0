// The healthcheck's default URL (METRICS_LISTEN, else BROKER_LISTEN, wildcards to loopback),
// its answer when nothing listens, and the drain setting it pairs with in the image.
#include <gtest/gtest.h>

#include <map>

#include "app/healthcheck.hpp"
#include "app/shutdown_drain.hpp"
#include "core/errors.hpp"
#include "http/asio.hpp"
#include "unit/support/env_of.hpp"

namespace broker {
namespace {

using testing::env_of;

TEST(Healthcheck, DefaultUrlIsTheMetricsListenerWhenSetElseTheApi) {
    EXPECT_EQ(default_healthcheck_url(env_of({})), "http://127.0.0.1:8080/healthz");
    EXPECT_EQ(default_healthcheck_url(env_of({{"BROKER_LISTEN", "0.0.0.0:8081"}})),
              "http://127.0.0.1:8081/healthz");
    EXPECT_EQ(default_healthcheck_url(env_of({{"BROKER_LISTEN", "[::]:8082"}})), "http://[::1]:8082/healthz");
    EXPECT_EQ(default_healthcheck_url(env_of({{"BROKER_LISTEN", "10.1.2.3:80"}})),
              "http://10.1.2.3:80/healthz");
    EXPECT_EQ(default_healthcheck_url(
                  env_of({{"BROKER_LISTEN", "0.0.0.0:8080"}, {"METRICS_LISTEN", "0.0.0.0:9090"}})),
              "http://127.0.0.1:9090/healthz");
    EXPECT_EQ(default_healthcheck_url(env_of({{"BROKER_LISTEN", "0.0.0.0:8080"}, {"METRICS_LISTEN", " "}})),
              "http://127.0.0.1:8080/healthz");
    EXPECT_THROW(default_healthcheck_url(env_of({{"BROKER_LISTEN", "somewhere"}})), ConfigError);
}

TEST(Healthcheck, NothingListeningIsUnhealthyWithTheUrlInTheLine) {
    // A port that was just free: bound, then closed.
    asio::io_context ioc;
    asio::ip::tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    acceptor.close();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
    const auto result = check_health(url, std::chrono::milliseconds(1000));
    EXPECT_FALSE(result.healthy);
    EXPECT_TRUE(result.line.starts_with("unhealthy: GET " + url + " failed")) << result.line;
}

TEST(ShutdownDrain, DefaultsToNoneAndIsBounded) {
    EXPECT_EQ(load_shutdown_drain(env_of({})), std::chrono::seconds(0));
    EXPECT_EQ(load_shutdown_drain(env_of({{"SHUTDOWN_DRAIN_SEC", "5"}})), std::chrono::seconds(5));
    EXPECT_THROW(load_shutdown_drain(env_of({{"SHUTDOWN_DRAIN_SEC", "-1"}})), ConfigError);
    EXPECT_THROW(load_shutdown_drain(env_of({{"SHUTDOWN_DRAIN_SEC", "soon"}})), ConfigError);
}

}  // namespace
}  // namespace broker
