// libFuzzer target: the settings reader (core/env_value, core/config). The input is a .env
// file: read_dotenv reads it (or refuses it), and its KEY=VALUE lines are the environment
// load_config and validate_for_serving read. Every bad value is a ConfigError; a token that
// passes validation is usable in a header; a refusal never shows a token.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "core/config.hpp"
#include "core/env_value.hpp"
#include "core/errors.hpp"
#include "fuzz_check.hpp"

namespace {

// One file per fuzzing process, rewritten for each input.
const std::string& dotenv_path() {
    static const std::string path = "/tmp/broker-settings-fuzz-" + std::to_string(getpid()) + ".env";
    return path;
}

bool visible_ascii(const std::string& s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    const std::string_view text = broker::fuzz::as_text(data, size);
    {
        std::ofstream out(dotenv_path(), std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    std::map<std::string, std::string> values;
    try {
        values = broker::read_dotenv(dotenv_path());
    } catch (const broker::ConfigError&) {
        return 0;
    }
    const broker::EnvLookup env = [&values](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    };

    // Every value read as each kind of setting: a value or a ConfigError, nothing else.
    for (const auto& [name, value] : values) {
        try {
            (void)broker::env_number<int>(env, name, -5, 5000);
        } catch (const broker::ConfigError&) {
        }
        try {
            if (auto v = broker::env_number<double>(env, name, 0.001, 1e9)) check(*v >= 0.001 && *v <= 1e9);
        } catch (const broker::ConfigError&) {
        }
        try {
            (void)broker::env_bool(env, name);
        } catch (const broker::ConfigError&) {
        }
    }

    broker::Config config;
    try {
        config = broker::load_config(env);
    } catch (const broker::ConfigError&) {
        return 0;
    }
    try {
        broker::validate_for_serving(config);
        check(visible_ascii(config.api_token) && config.api_token.size() >= broker::kMinTokenLength);
        check(visible_ascii(config.admin_token) && config.admin_token.size() >= broker::kMinTokenLength);
        check(config.api_token != config.admin_token);
    } catch (const broker::ConfigError& e) {
        // Refusals are fixed sentences naming the setting; a token with a character no such
        // sentence has would show if one were ever copied in.
        const std::string_view message = e.what();
        for (const auto& token : {config.api_token, config.admin_token}) {
            if (token.find_first_of("#%{}[]<>!?*&^$@~|;\"") != std::string::npos)
                check(message.find(token) == std::string_view::npos);
        }
    }
    return 0;
}
