// Logging set up from the configuration: every credential the process holds is masked.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/config.hpp"
#include "obs/log.hpp"

namespace broker {
namespace {

TEST(ObsLogConfig, MasksTheBrokerTokensAndTheProviderCredentials) {
    Config config;
    config.api_token = "api-token-value";
    config.admin_token = "admin-token-value";
    config.other_secrets = {"csp-token-value", "nios-password-value"};
    const LogConfig log = log_config_from(config);
    for (const std::string secret :
         {"api-token-value", "admin-token-value", "csp-token-value", "nios-password-value"}) {
        EXPECT_NE(std::find(log.secrets.begin(), log.secrets.end(), secret), log.secrets.end()) << secret;
    }
    const std::string line =
        scrub_secrets("calling with csp-token-value and nios-password-value", log.secrets);
    EXPECT_EQ(line.find("csp-token-value"), std::string::npos) << line;
    EXPECT_EQ(line.find("nios-password-value"), std::string::npos) << line;
}

}  // namespace
}  // namespace broker
