#include "http/request_framing.hpp"

#include <array>
#include <string_view>

namespace broker {
namespace {

// Fields the broker reads a single value of: a second copy would be silently ignored by
// one reader and maybe taken by another (a proxy, a log pipeline).
constexpr std::array<std::string_view, 6> kSingleFields = {
    "Authorization",       "X-Instruqt-Sandbox-ID", "X-Track-ID",
    "X-Instruqt-Track-ID", "X-Sandbox-Name-Prefix", "Idempotency-Key"};

// How many times each of kSingleFields appears, in one pass over the fields: a request
// carries a handful, and six look-ups by name (each a case-insensitive tree search) cost
// more than the rest of the checks together.
std::array<std::size_t, kSingleFields.size()> single_field_counts(const bhttp::request_header<>& header) {
    std::array<std::size_t, kSingleFields.size()> counts{};
    for (const auto& field : header) {
        const beast::string_view name = field.name_string();
        for (std::size_t i = 0; i < kSingleFields.size(); ++i) {
            if (beast::iequals(name, to_beast(kSingleFields[i]))) ++counts[i];
        }
    }
    return counts;
}

// The Transfer-Encoding field is exactly "chunked" (any case, optional whitespace): the one
// coding the server decodes. Beast's token_list does the list syntax.
bool is_only_chunked(const bhttp::request_header<>& header) {
    const bhttp::token_list codings{header[bhttp::field::transfer_encoding]};
    auto it = codings.begin();
    if (it == codings.end() || !beast::iequals(*it, "chunked")) return false;
    return ++it == codings.end();
}

}  // namespace

std::optional<std::string> request_header_problem(const bhttp::request_header<>& header, bool chunked) {
    const std::size_t transfer_encodings = header.count(bhttp::field::transfer_encoding);
    const std::size_t content_lengths = header.count(bhttp::field::content_length);
    if (transfer_encodings > 0) {
        if (content_lengths > 0) return "Transfer-Encoding and Content-Length must not be sent together";
        if (transfer_encodings > 1 || !chunked || !is_only_chunked(header))
            return "Transfer-Encoding other than a single chunked coding is not supported";
    }
    if (content_lengths > 1) return "Content-Length appears more than once";

    const std::size_t hosts = header.count(bhttp::field::host);
    if (hosts > 1) return "Host appears more than once";
    if (hosts == 0 && header.version() >= 11) return "an HTTP/1.1 request needs a Host header";

    const auto counts = single_field_counts(header);
    for (std::size_t i = 0; i < kSingleFields.size(); ++i) {
        if (counts[i] > 1) return std::string(kSingleFields[i]) + " appears more than once";
    }
    return std::nullopt;
}

}  // namespace broker
