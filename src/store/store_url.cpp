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

std::string redact_store_url(const std::string& url) {
    std::string out = url;
    const auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const auto authority = scheme_end + 3;
        const auto at = out.find('@', authority);
        const auto slash = out.find('/', authority);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            const auto colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    for (auto pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
        const auto value = pos + 9;
        const auto end = out.find('&', value);
        out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
    }
    return out;
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
