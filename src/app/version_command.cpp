// The version command's body: see version_command.hpp.
#include "app/version_command.hpp"

#include <nlohmann/json.hpp>

#include "store/dynamodb/dynamo_store.hpp"
#include "store/postgres/schema.hpp"
#include "store/schema_steps.hpp"
#include "store/sqlite/schema.hpp"

namespace broker {
namespace {

struct StoreSchema {
    std::string_view store;
    int version;
    int compatible_from;
};

std::vector<StoreSchema> store_schemas() {
    const auto sqlite_steps = sqlite::schema_steps();
    const auto pg_steps = pg::schema_steps();
    const auto dynamo_steps = dynamo_schema_steps();
    return {
        {"sqlite", static_cast<int>(sqlite_steps.size()),
         compatible_from(sqlite_steps, static_cast<int>(sqlite_steps.size()))},
        {"postgresql", static_cast<int>(pg_steps.size()),
         compatible_from(pg_steps, static_cast<int>(pg_steps.size()))},
        {"dynamodb", static_cast<int>(dynamo_steps.size()),
         compatible_from(dynamo_steps, static_cast<int>(dynamo_steps.size()))},
    };
}

}  // namespace

void print_version(std::string_view version, std::string_view commit, std::string_view allocator, bool json,
                   std::ostream& out) {
    const auto schemas = store_schemas();
    if (json) {
        nlohmann::json schema = nlohmann::json::object();
        for (const auto& s : schemas) {
            schema[std::string(s.store)] = {{"version", s.version}, {"compatible_from", s.compatible_from}};
        }
        out << nlohmann::json{{"version", version},
                              {"commit", commit},
                              {"allocator", allocator},
                              {"schema", schema}}
                   .dump()
            << std::endl;
        return;
    }
    out << "sandbox-broker " << version << "\n";
    out << "commit " << commit << "\n";
    out << "allocator " << allocator << "\n";
    for (const auto& s : schemas) {
        out << "schema " << s.store << " " << s.version << " (stores it migrates are compatible from "
            << s.compatible_from << ")\n";
    }
    out.flush();
}

}  // namespace broker
