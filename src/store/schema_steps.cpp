// The expand-only rule and the compatibility record: see schema_steps.hpp.
#include "store/schema_steps.hpp"

#include <algorithm>
#include <cctype>

namespace broker {
namespace {

std::string upper_words(std::string_view sql) {
    // Comments out, whitespace collapsed, upper case: the checks below look for keywords.
    std::string out;
    bool space = true;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        if (sql.substr(i, 2) == "--") {
            while (i < sql.size() && sql[i] != '\n') ++i;
        }
        if (i >= sql.size()) break;
        const auto c = static_cast<unsigned char>(sql[i]);
        if (std::isspace(c)) {
            if (!space) out.push_back(' ');
            space = true;
        } else {
            out.push_back(static_cast<char>(std::toupper(c)));
            space = false;
        }
    }
    return out;
}

bool has_word(const std::string& text, std::string_view word) {
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const bool start = at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]));
        const std::size_t end = at + word.size();
        const bool stop = end >= text.size() || !std::isalnum(static_cast<unsigned char>(text[end]));
        if (start && stop) return true;
    }
    return false;
}

}  // namespace

int compatible_from(std::span<const SchemaStep> steps, int version) {
    int from = 0;
    const auto known = std::min(static_cast<std::size_t>(std::max(version, 0)), steps.size());
    for (std::size_t i = 0; i < known; ++i) {
        if (!steps[i].expand_only) from = static_cast<int>(i) + 1;
    }
    return from;
}

SchemaStatus schema_status_of(std::span<const SchemaStep> steps, int store_version,
                              std::optional<int> recorded) {
    SchemaStatus status;
    status.store_version = store_version;
    status.binary_version = static_cast<int>(steps.size());
    if (store_version > status.binary_version) {
        // Only the store knows its newer steps: without a record, only a binary that knows
        // all of them may run on it.
        status.compatible_from = recorded.value_or(store_version);
        return status;
    }
    const int binary_from = compatible_from(steps, status.binary_version);
    status.compatible_from =
        store_version == 0 ? 0 : recorded.value_or(compatible_from(steps, store_version));
    for (int v = store_version; v < status.binary_version; ++v) {
        status.pending.push_back(
            "step " + std::to_string(v + 1) + ": " + std::string(steps[static_cast<std::size_t>(v)].summary) +
            (steps[static_cast<std::size_t>(v)].expand_only ? "" : " (not expand-only)"));
    }
    if (store_version > 0 && status.pending.empty() && recorded != binary_from) {
        status.pending.push_back("record that binaries from schema version " + std::to_string(binary_from) +
                                 " on can run on this store");
    }
    return status;
}

std::optional<std::string> expand_only_violation(std::string_view sql) {
    const std::string text = upper_words(sql);
    for (std::string_view word : {"DROP", "RENAME", "TRUNCATE"}) {
        if (has_word(text, word))
            return std::string(word) + " removes or rewrites what an older binary reads";
    }
    if (text.find("ALTER COLUMN") != std::string::npos || text.find("ALTER TYPE") != std::string::npos) {
        return std::string("ALTER COLUMN changes a column an older binary reads");
    }
    if (text.find("UNIQUE") != std::string::npos && text.find("CREATE TABLE") == std::string::npos) {
        return std::string("a new UNIQUE constraint may refuse what an older binary writes");
    }
    // Each added column: NOT NULL needs a DEFAULT, or an older binary's inserts fail.
    for (std::size_t at = text.find("ADD COLUMN"); at != std::string::npos;
         at = text.find("ADD COLUMN", at + 1)) {
        const std::size_t end = text.find(';', at);
        const std::string column = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (has_word(column, "NOT") && !has_word(column, "DEFAULT")) {
            return std::string("a NOT NULL column without a DEFAULT refuses an older binary's inserts");
        }
    }
    return std::nullopt;
}

SchemaVerdict decide_schema(const SchemaStatus& status) {
    if (status.store_version <= status.binary_version) return SchemaVerdict::migrate;
    return status.compatible_from <= status.binary_version ? SchemaVerdict::run_newer
                                                           : SchemaVerdict::refuse_newer;
}

std::string describe_newer_store(const SchemaStatus& status) {
    return "store schema version " + std::to_string(status.store_version) + " is newer than this binary's (" +
           std::to_string(status.binary_version) + ") and compatible from version " +
           std::to_string(status.compatible_from);
}

}  // namespace broker
