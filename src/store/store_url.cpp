// Parsing of store locations (BROKER_STORE / --store): see store_url.hpp.
#include "store/store_url.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "core/errors.hpp"

namespace broker {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected sqlite:PATH, sqlite://PATH (optionally ?create_dir=true) or "
    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (also postgres://...) or "
    "dynamodb://TABLE?region=REGION&endpoint=URL";

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

[[noreturn]] void reject(const std::string& url, std::string_view why) {
    throw ConfigError("store URL \"" + redact_store_url(url) + "\" " + std::string(why) + ": " +
                      std::string(kAcceptedForms));
}

// A DynamoDB table name: 3 to 255 of letters, digits, '_', '-' and '.'.
bool valid_table_name(std::string_view name) {
    if (name.size() < 3 || name.size() > 255) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

// %XX escapes decoded (an endpoint URL inside a query parameter may be written escaped).
std::optional<std::string> percent_decoded(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

StoreUrl parse_dynamodb(const std::string& url, std::string_view rest) {
    if (rest.substr(0, 2) == "//") rest.remove_prefix(2);
    StoreUrl parsed{StoreUrl::Kind::dynamodb, {}, false, {}, {}};
    std::string_view params;
    if (const auto question = rest.find('?'); question != std::string_view::npos) {
        params = rest.substr(question + 1);
        rest = rest.substr(0, question);
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (!rest.empty() && !valid_table_name(rest)) {
        reject(url, "has an invalid DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)");
    }
    parsed.target = std::string(rest);
    while (!params.empty()) {
        const auto amp = params.find('&');
        const std::string_view param = params.substr(0, amp);
        params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
        const auto eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        const auto value =
            eq == std::string_view::npos ? std::nullopt : percent_decoded(param.substr(eq + 1));
        if (!value || value->empty())
            reject(url, "has a parameter without a value \"" + std::string(param) + "\"");
        if (name == "region") {
            parsed.region = *value;
        } else if (name == "endpoint") {
            if (!starts_with_nocase(*value, "http://") && !starts_with_nocase(*value, "https://")) {
                reject(url, "has an endpoint that is not an http:// or https:// URL");
            }
            parsed.endpoint = *value;
        } else {
            reject(url, "has an unknown parameter \"" + std::string(param) +
                            "\" (the dynamodb parameters are region and endpoint)");
        }
    }
    return parsed;
}

}  // namespace

namespace {

// Where the URL carries a password: the `user:PASSWORD@` part and each `password=` value.
std::vector<std::pair<std::size_t, std::size_t>> password_spans(const std::string& url) {
    std::vector<std::pair<std::size_t, std::size_t>> spans;
    const auto scheme_end = url.find("://");
    if (scheme_end != std::string::npos) {
        const auto authority = scheme_end + 3;
        const auto at = url.find('@', authority);
        const auto slash = url.find('/', authority);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            const auto colon = url.find(':', authority);
            if (colon != std::string::npos && colon < at) spans.emplace_back(colon + 1, at - colon - 1);
        }
    }
    for (auto pos = url.find("password="); pos != std::string::npos; pos = url.find("password=", pos + 1)) {
        const auto value = pos + 9;
        const auto end = url.find('&', value);
        spans.emplace_back(value, (end == std::string::npos ? url.size() : end) - value);
    }
    return spans;
}

}  // namespace

std::string redact_store_url(const std::string& url) {
    std::string out = url;
    auto spans = password_spans(url);
    // From the back, so that each replacement leaves the positions before it valid.
    std::sort(spans.begin(), spans.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    for (const auto& [at, length] : spans) out.replace(at, length, "***");
    return out;
}

std::vector<std::string> store_url_passwords(const std::string& url) {
    std::vector<std::string> passwords;
    for (const auto& [at, length] : password_spans(url)) {
        if (length > 0) passwords.push_back(url.substr(at, length));
    }
    return passwords;
}

StoreUrl parse_store_url(const std::string& url) {
    if (url.empty()) reject(url, "is empty");
    if (starts_with_nocase(url, "postgresql://") || starts_with_nocase(url, "postgres://")) {
        return {StoreUrl::Kind::postgresql, url, false, {}, {}};
    }
    if (starts_with_nocase(url, "dynamodb:")) return parse_dynamodb(url, std::string_view(url).substr(9));
    if (starts_with_nocase(url, "sqlite:")) {
        std::string_view path = std::string_view(url).substr(7);
        // sqlite://PATH: the two slashes only mark the form, so sqlite:///abs is /abs and
        // sqlite://data/x.db is relative, as in sqlite:data/x.db.
        if (path.substr(0, 2) == "//") path.remove_prefix(2);
        StoreUrl parsed{StoreUrl::Kind::sqlite, {}, false, {}, {}};
        if (const auto question = path.find('?'); question != std::string_view::npos) {
            std::string_view params = path.substr(question + 1);
            path = path.substr(0, question);
            while (!params.empty()) {
                const auto amp = params.find('&');
                const std::string_view param = params.substr(0, amp);
                params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
                if (param == "create_dir=true" || param == "create_dir=1") {
                    parsed.create_dir = true;
                } else if (param == "create_dir=false" || param == "create_dir=0") {
                    parsed.create_dir = false;
                } else {
                    reject(url, "has an unknown parameter \"" + std::string(param) +
                                    "\" (the one sqlite parameter is create_dir=true)");
                }
            }
        }
        if (path.empty()) reject(url, "has no file path");
        // Each connection of the store would get a database of its own.
        if (path == ":memory:") reject(url, "names an in-memory database, which the store cannot share");
        parsed.target = std::string(path);
        return parsed;
    }
    reject(url, "has an unsupported scheme");
}

}  // namespace broker
