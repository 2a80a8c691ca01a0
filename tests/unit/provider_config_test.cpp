// Reading the provider settings from an environment lookup.
#include "provider/provider_config.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/errors.hpp"

namespace broker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    };
}

TEST(ProviderConfig, Defaults) {
    const auto csp = load_csp_options(env_of({}));
    EXPECT_EQ(csp.connect_timeout, seconds(5));
    EXPECT_EQ(csp.read_timeout, seconds(30));
    EXPECT_EQ(csp.breaker_threshold, 5);
    EXPECT_EQ(csp.breaker_timeout, seconds(60));
    EXPECT_EQ(csp.rate_limit_rps, 5.0);
    EXPECT_THROW(validate_csp_options(csp), ConfigError);  // no URL, no token

    const auto nios = load_niosxaas_options(env_of({}));
    EXPECT_FALSE(nios.enabled);
    EXPECT_TRUE(nios.shadow_mode);
    EXPECT_EQ(nios.service_name, "Instrqt-SaaS");
}

TEST(ProviderConfig, ReadsTheOriginalVariableNames) {
    const auto csp = load_csp_options(env_of({{"CSP_BASE_URL", "https://csp.example/v2"},
                                              {"CSP_API_TOKEN", "tok"},
                                              {"CSP_TIMEOUT_CONNECT_SEC", "2"},
                                              {"CSP_TIMEOUT_READ_SEC", "0.5"},
                                              {"CIRCUIT_BREAKER_THRESHOLD", "7"},
                                              {"CIRCUIT_BREAKER_TIMEOUT_SEC", "90"},
                                              {"PROVIDER_RATE_LIMIT_RPS", "2.5"}}));
    EXPECT_EQ(csp.base_url, "https://csp.example/v2");
    EXPECT_EQ(csp.token, "tok");
    EXPECT_EQ(csp.connect_timeout, seconds(2));
    EXPECT_EQ(csp.read_timeout, milliseconds(500));
    EXPECT_EQ(csp.breaker_threshold, 7);
    EXPECT_EQ(csp.breaker_timeout, seconds(90));
    EXPECT_EQ(csp.rate_limit_rps, 2.5);
    EXPECT_EQ(csp.rate_limit_burst, 2.5);
    EXPECT_NO_THROW(validate_csp_options(csp));
}

TEST(ProviderConfig, BadValuesNameTheSetting) {
    try {
        load_csp_options(env_of({{"CIRCUIT_BREAKER_THRESHOLD", "many"}}));
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("CIRCUIT_BREAKER_THRESHOLD"), std::string::npos);
    }
    EXPECT_THROW(load_csp_options(env_of({{"CIRCUIT_BREAKER_THRESHOLD", "0"}})), ConfigError);
    EXPECT_THROW(load_niosxaas_options(env_of({{"NIOSXAAS_SHADOW_MODE", "maybe"}})), ConfigError);
}

TEST(ProviderConfig, EnabledNiosxaasNeedsCredentials) {
    EXPECT_THROW(load_niosxaas_options(env_of({{"NIOSXAAS_ENABLED", "true"}})), ConfigError);
    const auto nios = load_niosxaas_options(env_of({{"NIOSXAAS_ENABLED", "1"},
                                                    {"NIOSXAAS_BASE_URL", "https://nios.example"},
                                                    {"NIOSXAAS_EMAIL", "a@b.c"},
                                                    {"NIOSXAAS_PASSWORD", " with spaces "},
                                                    {"NIOSXAAS_SHADOW_MODE", "false"},
                                                    {"NIOSXAAS_TIMEOUT_SEC", "10"}}));
    EXPECT_TRUE(nios.enabled);
    EXPECT_FALSE(nios.shadow_mode);
    EXPECT_EQ(nios.password, " with spaces ");
    EXPECT_EQ(nios.timeout, seconds(10));
}

}  // namespace
}  // namespace broker
