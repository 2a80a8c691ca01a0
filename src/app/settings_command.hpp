// `sandbox-broker settings`: every environment setting the binary reads (core/settings_catalog)
// and the original service's names it still accepts (core/legacy_settings), for operators
// (a table) and for tools that check deployment recipes (--json).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>

namespace broker {

struct SettingsOptions {
    bool json = false;
};

// Registers the subcommand on `app`; its flags land in `options`.
CLI::App* add_settings_command(CLI::App& app, SettingsOptions& options);

// Prints the settings to `out`; returns the exit code (0).
int settings_command(const SettingsOptions& options, std::ostream& out);

}  // namespace broker
