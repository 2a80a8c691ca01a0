// The schema at the commands' edge: see schema_check.hpp.
#include "app/schema_check.hpp"

#include <spdlog/spdlog.h>

#include "core/errors.hpp"
#include "store/schema_steps.hpp"

namespace broker {

void migrate_store(Store& store, const std::string& where, std::ostream& out) {
    const SchemaStatus status = store.schema_status();
    switch (decide_schema(status)) {
        case SchemaVerdict::migrate:
            break;
        case SchemaVerdict::run_newer:
            // Nothing to do, and nothing wrong: a rolled-back release's one-shot migrate (Compose,
            // a Kubernetes Job) must succeed so that the processes after it start.
            out << "store " << where << ": " << describe_newer_store(status)
                << "; nothing to migrate (a binary never downgrades a store; this one runs on it as it is)"
                << std::endl;
            return;
        case SchemaVerdict::refuse_newer:
            throw ConfigError("store " + where + ": " + describe_newer_store(status) +
                              "; migrate refuses it, a binary never downgrades a store (use the release that "
                              "migrated it, or a newer one)");
    }
    const MigrationReport report = store.migrate();
    if (report.created()) {
        out << "store " << where << ": created the schema (version " << report.to_version << ")" << std::endl;
    } else if (report.up_to_date()) {
        out << "store " << where << ": schema up to date (version " << report.to_version << ")" << std::endl;
    } else {
        out << "store " << where << ": applied schema steps " << report.from_version + 1 << " to "
            << report.to_version << " (version " << report.from_version << " -> " << report.to_version << ")"
            << std::endl;
    }
}

void print_schema_status(const SchemaStatus& status, const std::string& where, std::ostream& out) {
    out << "store " << where << "\n";
    out << "store schema version: " << status.store_version << "\n";
    out << "binary schema version: " << status.binary_version << "\n";
    out << "compatible from: " << status.compatible_from << "\n";
    switch (decide_schema(status)) {
        case SchemaVerdict::migrate:
            if (status.pending.empty()) out << "pending: none\n";
            for (const auto& step : status.pending) out << "pending: " << step << "\n";
            break;
        case SchemaVerdict::run_newer:
            out << "newer than this binary: this binary runs on it as it is and never migrates it\n";
            break;
        case SchemaVerdict::refuse_newer:
            out << "newer than this binary: this binary refuses it (needs schema version "
                << status.compatible_from << " or newer)\n";
            break;
    }
    out.flush();
}

void prepare_store(Store& store, const std::string& where, std::string_view command) {
    const SchemaStatus status = store.schema_status();
    switch (decide_schema(status)) {
        case SchemaVerdict::migrate:
            store.migrate();
            return;
        case SchemaVerdict::run_newer:
            spdlog::warn(
                "store {}: schema version {} is newer than this binary's ({}) and compatible from {}: "
                "{} runs on it as it is",
                where, status.store_version, status.binary_version, status.compatible_from, command);
            return;
        case SchemaVerdict::refuse_newer:
            throw ConfigError("store " + where + ": " + describe_newer_store(status) + "; " +
                              std::string(command) +
                              " does not run on it: use the release that migrated it, or a newer one");
    }
}

}  // namespace broker
