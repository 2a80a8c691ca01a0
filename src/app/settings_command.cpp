// `sandbox-broker settings`: see settings_command.hpp.
#include "app/settings_command.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/legacy_settings.hpp"
#include "core/settings_catalog.hpp"

namespace broker {
namespace {

struct Row {
    std::string name;
    std::string default_value;
    bool secret = false;
    bool legacy = false;  // the original service's name, accepted for compatibility
    std::string meaning;
};

// The original's names that start-up accepts besides the catalog's own: aliases, and names
// accepted with nothing to tune. Refused names are no settings (they stop start-up) and
// prefix entries name no single variable.
std::vector<Row> rows() {
    std::vector<Row> out;
    for (const auto& s : settings_catalog()) {
        out.push_back(
            {std::string(s.name), std::string(s.default_value), s.secret, false, std::string(s.meaning)});
    }
    for (const auto& l : legacy_settings()) {
        if (l.name.ends_with('*') || find_setting(l.name)) continue;
        std::string meaning;
        switch (l.treatment) {
            case LegacyTreatment::alias:
                meaning = "the original's name for " + std::string(l.replacement);
                break;
            case LegacyTreatment::ignored:
                meaning = "accepted and ignored: " + std::string(l.why);
                break;
            case LegacyTreatment::on_only:
                meaning = "accepted when true, refused when false: " + std::string(l.why);
                break;
            case LegacyTreatment::same:
            case LegacyTreatment::refused:
                continue;
        }
        out.push_back({std::string(l.name), "", false, true, meaning});
    }
    return out;
}

}  // namespace

CLI::App* add_settings_command(CLI::App& app, SettingsOptions& options) {
    auto* command = app.add_subcommand(
        "settings",
        "list every environment setting: name, default, whether secret, meaning (--json for tools)");
    command->add_flag("--json", options.json,
                      "one JSON document: {\"settings\": [{name, default, secret, ...}]}");
    return command;
}

int settings_command(const SettingsOptions& options, std::ostream& out) {
    const auto all = rows();
    if (options.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : all) {
            list.push_back({{"name", r.name},
                            {"default", r.default_value},
                            {"secret", r.secret},
                            {"legacy", r.legacy},
                            {"meaning", r.meaning}});
        }
        out << nlohmann::json{{"settings", list}}.dump(2) << "\n";
        return 0;
    }
    std::size_t name_width = 4, default_width = 7;
    for (const auto& r : all) {
        name_width = std::max(name_width, r.name.size());
        default_width = std::max(default_width, r.default_value.size());
    }
    auto pad = [](const std::string& text, std::size_t width) {
        return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
    };
    out << pad("NAME", name_width) << "  " << pad("DEFAULT", default_width) << "  SECRET  MEANING\n";
    for (const auto& r : all) {
        out << pad(r.name, name_width) << "  "
            << pad(r.default_value.empty() ? "-" : r.default_value, default_width) << "  "
            << pad(r.secret ? "yes" : "no", 6) << "  " << r.meaning << "\n";
    }
    out << "Secrets are never logged. Settings come from the environment, then a .env file beneath it.\n";
    return 0;
}

}  // namespace broker
