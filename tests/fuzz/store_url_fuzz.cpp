// libFuzzer target: store URLs (store/store_url), as written in BROKER_STORE / --store. Any
// text parses or is refused with a ConfigError; redaction never fails; and a password in a
// PostgreSQL URL never survives redaction, neither in the redacted URL nor in a refusal.
#include <string>

#include "core/errors.hpp"
#include "fuzz_check.hpp"
#include "store/store_url.hpp"

namespace {

// The password a URL built from the input carries: letters and digits of the input's start.
std::string password_of(std::string_view bytes) {
    std::string out;
    for (char c : bytes.substr(0, 24)) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out.push_back(c);
    }
    return out;
}

void exercise(const std::string& url) {
    const std::string redacted = broker::redact_store_url(url);
    try {
        (void)broker::parse_store_url(url);
    } catch (const broker::ConfigError& e) {
        broker::fuzz::check(e.what()[0] != '\0');
    }
    (void)redacted;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using broker::fuzz::check;
    const std::string_view text = broker::fuzz::as_text(data, size);
    exercise(std::string(text));

    // A password-bearing URL whose rest is the input: the password must never show.
    const std::string password = "pw" + password_of(text) + "Q9";
    const std::string rest(text.substr(std::min<std::size_t>(text.size(), 24)));
    if (rest.find(password) != std::string::npos) return 0;  // the input spells it out itself
    for (const std::string& url : {"postgresql://user:" + password + "@" + rest,
                                   "postgres://user:" + password + "@db.internal:5432/" + rest,
                                   "postgresql://db.internal/broker?password=" + password + "&" + rest}) {
        check(broker::redact_store_url(url).find(password) == std::string::npos);
        try {
            (void)broker::parse_store_url(url);
        } catch (const broker::ConfigError& e) {
            check(std::string_view(e.what()).find(password) == std::string_view::npos);
        }
    }
    return 0;
}
