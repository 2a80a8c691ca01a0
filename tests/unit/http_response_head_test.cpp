// An answer's wire form (http/response_head, then the body) against Beast's own serializer: the same bytes.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "http/response_head.hpp"

namespace broker {
namespace {

std::string beast_bytes(const Response& res) {
    std::ostringstream out;
    out << res;
    return out.str();
}

std::string our_bytes(const Response& res) {
    std::string out = "left over from the previous answer";
    response_head(res, out);
    return out + res.body();
}

TEST(ResponseHead, AJsonAnswerWithHeadersIsWhatBeastWrites) {
    Response res(bhttp::status::created, 11);
    res.set(bhttp::field::content_type, "application/json");
    res.set("X-Request-ID", "abc-123");
    res.set("X-RateLimit-Remaining", "199");
    res.insert(bhttp::field::set_cookie, "a=1");
    res.insert(bhttp::field::set_cookie, "b=2");
    res.body() = R"({"sandbox_id":"x","participant":"p\u00e9"})";
    res.keep_alive(true);
    res.prepare_payload();
    EXPECT_EQ(our_bytes(res), beast_bytes(res));
    EXPECT_TRUE(our_bytes(res).starts_with("HTTP/1.1 201 Created\r\n"));
}

TEST(ResponseHead, ReasonVersionAndEmptyBodiesAreWhatBeastWrites) {
    Response custom(bhttp::status::not_found, 10);
    custom.reason("Nowhere");
    custom.keep_alive(false);
    custom.prepare_payload();
    EXPECT_EQ(our_bytes(custom), beast_bytes(custom));
    EXPECT_TRUE(our_bytes(custom).starts_with("HTTP/1.0 404 Nowhere\r\n"));

    Response empty(bhttp::status::no_content, 11);
    empty.prepare_payload();
    EXPECT_EQ(our_bytes(empty), beast_bytes(empty));

    Response unknown(static_cast<bhttp::status>(599), 11);
    unknown.body() = "?";
    unknown.prepare_payload();
    EXPECT_EQ(our_bytes(unknown), beast_bytes(unknown));
}

}  // namespace
}  // namespace broker
