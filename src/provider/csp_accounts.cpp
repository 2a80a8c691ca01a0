// Reads the CSP account list. The real provider sometimes answers with an HTML error page
// or a half-formed body, so every rejection says what was wrong and where.
#include "provider/csp_accounts.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/excerpt.hpp"

namespace broker {
namespace {

using nlohmann::json;

bool is_string_equal(const json& entry, const char* key, std::string_view expected) {
    const auto it = entry.find(key);
    return it != entry.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

std::string entry_error(std::size_t index, const std::string& what) {
    return "results[" + std::to_string(index) + "]: " + what;
}

// csp_id arrives as a JSON number or as a numeric string; either way it becomes the
// decimal text of a non-negative integer.
std::string read_csp_id(const json& entry, std::size_t index) {
    const auto it = entry.find("csp_id");
    if (it == entry.end() || it->is_null()) {
        throw std::invalid_argument(entry_error(index, "active sandbox without csp_id"));
    }
    if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
    if (it->is_number_integer()) {
        const auto value = it->get<std::int64_t>();
        if (value >= 0) return std::to_string(value);
    }
    if (it->is_string()) {
        const auto& text = it->get_ref<const std::string&>();
        std::uint64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (!text.empty() && ec == std::errc() && ptr == end) return std::to_string(value);
    }
    throw std::invalid_argument(
        entry_error(index, "csp_id " + it->dump() + " is not a non-negative integer"));
}

std::string read_required_string(const json& entry, const char* key, std::size_t index) {
    const auto it = entry.find(key);
    if (it == entry.end() || it->is_null()) {
        throw std::invalid_argument(entry_error(index, std::string("active sandbox without ") + key));
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        throw std::invalid_argument(
            entry_error(index, std::string(key) + " " + it->dump() + " is not a non-empty string"));
    }
    return it->get<std::string>();
}

// Optional text fields: missing or null become "", because answers never carry null strings.
std::string read_optional_string(const json& entry, const char* key, std::size_t index) {
    const auto it = entry.find(key);
    if (it == entry.end() || it->is_null()) return "";
    if (!it->is_string()) {
        throw std::invalid_argument(
            entry_error(index, std::string(key) + " " + it->dump() + " is not a string"));
    }
    return it->get<std::string>();
}

}  // namespace

CspAccountList parse_csp_accounts(std::string_view body) {
    json document = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        const auto start = excerpt(body, 80);
        throw std::invalid_argument(start.empty() ? std::string("account list is empty, not JSON")
                                                  : "account list is not JSON; it starts with: " + start);
    }
    if (!document.is_object()) {
        throw std::invalid_argument("account list is not a JSON object with \"results\"; got: " +
                                    excerpt(body, 80));
    }
    const auto results = document.find("results");
    if (results == document.end()) {
        throw std::invalid_argument("account list has no \"results\" array; got: " + excerpt(body, 80));
    }
    if (!results->is_array()) {
        throw std::invalid_argument(std::string("account list \"results\" is not an array but ") +
                                    results->type_name());
    }

    CspAccountList list;
    list.sandboxes.reserve(results->size());
    for (std::size_t index = 0; index < results->size(); ++index) {
        const json& entry = (*results)[index];
        if (!entry.is_object() || !is_string_equal(entry, "account_type", "sandbox") ||
            !is_string_equal(entry, "state", "active")) {
            ++list.ignored;
            continue;
        }
        ProviderSandbox sandbox;
        sandbox.sandbox_id = read_csp_id(entry, index);
        sandbox.external_id = read_required_string(entry, "id", index);
        sandbox.name = read_optional_string(entry, "name", index);
        sandbox.sfdc_account_id = read_optional_string(entry, "sfdc_account_id", index);
        list.sandboxes.push_back(std::move(sandbox));
    }
    return list;
}

}  // namespace broker
