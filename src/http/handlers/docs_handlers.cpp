#include "http/handlers/docs_handlers.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "http/error_response.hpp"
#include "http/openapi/embedded.hpp"

namespace broker {
namespace {

constexpr std::string_view kDocumentedBase = "/v1";

std::string sha256_base64(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    std::string out(4 * ((length + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest, static_cast<int>(length));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

// The text between <tag> and </tag> in the page (its only such element).
std::string_view inline_element(std::string_view page, std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    const auto start = page.find(open);
    const auto end = page.find(close);
    if (start == std::string_view::npos || end == std::string_view::npos || end < start) {
        throw std::logic_error("docs page has no <" + std::string(tag) + "> element");
    }
    return page.substr(start + open.size(), end - start - open.size());
}

std::string document_for(const std::string& base_path) {
    nlohmann::ordered_json document = nlohmann::ordered_json::parse(embedded_openapi_json());
    if (base_path != kDocumentedBase) {
        nlohmann::ordered_json paths = nlohmann::ordered_json::object();
        for (auto& [path, item] : document["paths"].items()) {
            const bool under_base = path.starts_with(std::string(kDocumentedBase) + "/");
            paths[under_base ? base_path + path.substr(kDocumentedBase.size()) : path] = item;
        }
        document["paths"] = std::move(paths);
    }
    return document.dump();
}

}  // namespace

DocsHandlers::DocsHandlers(const std::string& base_path)
    : base_path_(base_path), docs_path_(base_path + "/docs"), document_(document_for(base_path)) {
    const std::string_view page = embedded_docs_html();
    docs_csp_ = "default-src 'none'; script-src 'sha256-" + sha256_base64(inline_element(page, "script")) +
                "'; style-src 'sha256-" + sha256_base64(inline_element(page, "style")) +
                "'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

void DocsHandlers::add_routes(Router& router) {
    router.add(bhttp::verb::get, base_path_ + "/openapi.json", Access::open,
               [this](RequestContext& ctx) -> asio::awaitable<Response> {
                   ctx.action = "openapi";
                   co_return json_response(bhttp::status::ok, document_);
               });
    router.add(bhttp::verb::get, docs_path_, Access::open, [](RequestContext& ctx) -> asio::awaitable<Response> {
        ctx.action = "docs";
        Response res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "text/html; charset=utf-8");
        res.body() = std::string(embedded_docs_html());
        co_return res;
    });
}

}  // namespace broker
