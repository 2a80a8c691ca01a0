#include "core/secret_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/errors.hpp"
#include "core/settings_catalog.hpp"

namespace broker {
namespace {

bool is_secret_setting(const std::string& name) {
    const SettingInfo* setting = find_setting(name);
    return setting && setting->secret;
}

// The file's content with one trailing line end ("\n" or "\r\n") removed: what `echo` and
// most editors add; anything else is part of the secret (settings are trimmed later anyway).
std::string read_secret_file(const std::string& variable, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read " + variable + "=" + path + ": " + std::strerror(errno));
    // A directory opens as a stream and reads as nothing: never an empty secret.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw ConfigError("cannot read " + variable + "=" + path + ": it is a directory");
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) throw ConfigError("cannot read " + variable + "=" + path);
    std::string text = content.str();
    if (text.ends_with('\n')) text.pop_back();
    if (text.ends_with('\r')) text.pop_back();
    return text;
}

}  // namespace

bool is_secret_file_setting(std::string_view name) {
    if (!name.ends_with(kSecretFileSuffix)) return false;
    const SettingInfo* setting = find_setting(name.substr(0, name.size() - kSecretFileSuffix.size()));
    return setting && setting->secret;
}

std::vector<std::string_view> secret_settings() {
    std::vector<std::string_view> names;
    for (const auto& setting : settings_catalog()) {
        if (setting.secret) names.push_back(setting.name);
    }
    return names;
}

EnvLookup with_secret_files(EnvLookup env) {
    return [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
        auto value = env(name);
        if (!is_secret_setting(name)) return value;
        const std::string file_variable = name + std::string(kSecretFileSuffix);
        const auto path = env(file_variable);
        if (!path) return value;
        if (value) {
            throw ConfigError(name + " and " + file_variable + " are both set: set only one (" +
                              file_variable + " names a file holding the value)");
        }
        const std::string trimmed = trim_setting(*path);
        if (trimmed.empty()) throw ConfigError(file_variable + " is set but empty: it names a file");
        return read_secret_file(file_variable, trimmed);
    };
}

}  // namespace broker
