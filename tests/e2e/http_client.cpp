// The tests' HTTP client. Beast's synchronous calls cannot time out, so each exchange runs
// Beast's asynchronous operations on a private io_context with a tcp_stream deadline.
#include "e2e/http_client.hpp"

#include <strings.h>

#include <stdexcept>

#include "http/asio.hpp"  // Asio and Beast, compiled once into the broker library

namespace broker::e2e {

namespace http = boost::beast::http;

std::string HttpResponse::header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
        if (::strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return "";
}

bool HttpResponse::has_header(const std::string& name) const {
    for (const auto& entry : headers) {
        if (::strcasecmp(entry.first.c_str(), name.c_str()) == 0) return true;
    }
    return false;
}

struct HttpClient::Impl {
    asio::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;
    asio::ip::tcp::endpoint endpoint;
    std::chrono::milliseconds timeout;
    bool open = false;

    // One exchange on the current connection. Reading starts together with writing so an
    // answer the server sends before consuming the whole body (413) is still received.
    beast::error_code exchange(http::request<http::string_body>& req, http::response<http::string_body>& res,
                               bool& got_response) {
        beast::error_code result;
        if (!open) {
            stream.expires_after(timeout);
            stream.async_connect(endpoint, [&](beast::error_code ec) { result = ec; });
            io.restart();
            io.run();
            if (result) return result;
            open = true;
        }
        beast::error_code write_ec;
        beast::error_code read_ec;
        bool read_done = false;
        stream.expires_after(timeout);
        http::async_write(stream, req, [&](beast::error_code ec, std::size_t) { write_ec = ec; });
        http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
            read_ec = ec;
            read_done = true;
        });
        io.restart();
        io.run();
        got_response = read_done && !read_ec;
        if (got_response) return {};
        return read_ec ? read_ec : write_ec;
    }

    void close() {
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        stream.close();
        buffer.clear();
        open = false;
    }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->endpoint = asio::ip::tcp::endpoint(asio::ip::make_address(host), port);
    impl_->timeout = timeout;
}

HttpClient::~HttpClient() {
    if (impl_->open) impl_->close();
}

bool HttpClient::connected() const {
    return impl_->open;
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const Headers& headers,
                                 const std::string& body) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host,
            impl_->endpoint.address().to_string() + ":" + std::to_string(impl_->endpoint.port()));
    for (const auto& [name, value] : headers) req.insert(name, value);
    if (!body.empty()) {
        req.body() = body;
        if (req.find(http::field::content_type) == req.end())
            req.set(http::field::content_type, "application/json");
    }
    req.prepare_payload();

    http::response<http::string_body> res;
    bool got_response = false;
    bool reused = impl_->open;
    auto ec = impl_->exchange(req, res, got_response);
    if (ec && reused) {
        // The server may close an idle keep-alive connection between two requests; a
        // fresh connection is what any client would try next.
        impl_->close();
        res = {};
        ec = impl_->exchange(req, res, got_response);
    }
    if (ec) {
        impl_->close();
        throw std::runtime_error("HTTP " + method + " " + target + " failed: " + ec.message());
    }
    if (!res.keep_alive()) impl_->close();

    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    out.json = nlohmann::json::parse(out.body, nullptr, /*allow_exceptions=*/false);
    if (out.json.is_discarded()) out.json = nullptr;
    return out;
}

}  // namespace broker::e2e
