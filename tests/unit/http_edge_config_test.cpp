// The edge's settings: CORS_ALLOWED_ORIGINS, TRUSTED_PROXIES, METRICS_POOL_CACHE_SEC, and the
// logging settings, each refused with a message naming the variable.
#include <gtest/gtest.h>

#include <map>

#include "core/config.hpp"
#include "core/errors.hpp"
#include "http/client_key.hpp"
#include "obs/log.hpp"

namespace broker {
namespace {

Config load(std::map<std::string, std::string> values) {
    return load_config([values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    });
}

template <class Fn>
std::string config_error(Fn&& fn) {
    try {
        fn();
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected ConfigError";
    return {};
}

TEST(EdgeConfig, Defaults) {
    const Config c = load({});
    EXPECT_TRUE(c.cors_allowed_origins.empty());
    EXPECT_TRUE(c.trusted_proxies.empty());
    EXPECT_EQ(c.metrics_pool_cache, std::chrono::seconds(60));
}

TEST(EdgeConfig, CorsOriginsAreACommaListOrAStar) {
    const Config c = load({{"CORS_ALLOWED_ORIGINS", " https://play.instruqt.com, http://localhost:3000 ,,"}});
    EXPECT_EQ(c.cors_allowed_origins,
              (std::vector<std::string>{"https://play.instruqt.com", "http://localhost:3000"}));
    EXPECT_EQ(load({{"CORS_ALLOWED_ORIGINS", "*"}}).cors_allowed_origins, std::vector<std::string>{"*"});
}

TEST(EdgeConfig, BadOriginsNameTheVariable) {
    for (const char* bad :
         {"play.instruqt.com", "https://a.example/path", "ftp://a.example", "https://a b"}) {
        const std::string message = config_error([&] { load({{"CORS_ALLOWED_ORIGINS", bad}}); });
        EXPECT_NE(message.find("CORS_ALLOWED_ORIGINS"), std::string::npos) << bad << ": " << message;
    }
}

TEST(EdgeConfig, PoolCacheSecondsAreChecked) {
    EXPECT_EQ(load({{"METRICS_POOL_CACHE_SEC", "5"}}).metrics_pool_cache, std::chrono::seconds(5));
    EXPECT_NE(config_error([] {
                  load({{"METRICS_POOL_CACHE_SEC", "-1"}});
              }).find("METRICS_POOL_CACHE_SEC"),
              std::string::npos);
    EXPECT_NE(config_error([] {
                  load({{"METRICS_POOL_CACHE_SEC", "soon"}});
              }).find("METRICS_POOL_CACHE_SEC"),
              std::string::npos);
}

TEST(EdgeConfig, TrustedProxiesAreReadAtStartUpWithTheVariableNamed) {
    const Config c = load({{"TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1"}});
    EXPECT_FALSE(TrustedProxies::parse(c.trusted_proxies).empty());
    const Config bad = load({{"TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"}});
    EXPECT_NE(config_error([&] { TrustedProxies::parse(bad.trusted_proxies); }).find("TRUSTED_PROXIES"),
              std::string::npos);
}

TEST(EdgeConfig, LogSettingsAreCheckedAndTokensBecomeSecrets) {
    Config c = load({{"LOG_LEVEL", "WARNING"}, {"LOG_FORMAT", "text"}});
    c.api_token = "participant-token-123";
    c.admin_token = "admin-token-456789";
    const LogConfig log = log_config_from(c);
    EXPECT_EQ(log.level, spdlog::level::warn);
    EXPECT_EQ(log.format, LogFormat::text);
    EXPECT_EQ(log.secrets, (std::vector<std::string>{"participant-token-123", "admin-token-456789"}));
    c.log_level = "verbose";
    EXPECT_NE(config_error([&] { log_config_from(c); }).find("LOG_LEVEL"), std::string::npos);
}

}  // namespace
}  // namespace broker
