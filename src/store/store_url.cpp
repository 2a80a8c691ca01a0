// Parsing of store locations (BROKER_STORE / --store): see store_url.hpp.
#include "store/store_url.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/errors.hpp"

namespace broker {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected sqlite:PATH, sqlite://PATH (optionally ?create_dir=true) or "
    "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (also postgres://...)";

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
        return {StoreUrl::Kind::postgresql, url};
    }
    if (starts_with_nocase(url, "sqlite:")) {
        std::string_view path = std::string_view(url).substr(7);
        // sqlite://PATH: the two slashes only mark the form, so sqlite:///abs is /abs and
        // sqlite://data/x.db is relative, as in sqlite:data/x.db.
        if (path.substr(0, 2) == "//") path.remove_prefix(2);
        StoreUrl parsed{StoreUrl::Kind::sqlite, {}, false};
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
