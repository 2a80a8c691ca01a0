// Every environment setting the broker reads, described once: name, default, whether it is a
// secret, and a one-line meaning. `sandbox-broker settings` prints it; the deploy recipes are
// checked against it; a unit test keeps it equal to what the configuration readers ask for.
#pragma once

#include <string_view>
#include <vector>

namespace broker {

struct SettingInfo {
    std::string_view name;
    std::string_view default_value;  // as the operator would write it; "" when unset by default
    bool secret;                     // never logged; also accepted as NAME_FILE=/path (file secrets)
    std::string_view meaning;        // one line
};

// The settings, grouped as the readers are (broker, jobs, provider, PostgreSQL).
const std::vector<SettingInfo>& settings_catalog();

// The entry for `name`, or nullptr.
const SettingInfo* find_setting(std::string_view name);

}  // namespace broker
