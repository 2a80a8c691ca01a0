// The scripted server: synchronous Beast on one thread. The connection is closed after every
// answer, which keeps the loop trivial and is what clients that open a handle per call expect.
#include "unit/support/scripted_http_server.hpp"

// clang-format off
#include <utility>  // before Boost: Boost 1.74's Asio uses std::exchange without including it
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <cctype>

namespace broker::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct ScriptedHttpServer::Impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
};

namespace {

bool iequals(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string key(const std::string& method, const std::string& path) {
    return method + " " + path;
}

}  // namespace

std::string RecordedRequest::header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) return v;
    }
    return {};
}

ScriptedHttpServer::ScriptedHttpServer() : impl_(std::make_unique<Impl>()) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    port_ = impl_->acceptor.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
}

ScriptedHttpServer::~ScriptedHttpServer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    // Wake the blocking accept with a connection of our own; the loop sees `stopping_`.
    boost::system::error_code ec;
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
}

void ScriptedHttpServer::script(const std::string& method, const std::string& path,
                                std::vector<ScriptedResponse> responses) {
    std::lock_guard lock(mutex_);
    scripts_[key(method, path)] = std::move(responses);
    served_[key(method, path)] = 0;
}

void ScriptedHttpServer::set_fallback(Handler handler) {
    std::lock_guard lock(mutex_);
    fallback_ = std::move(handler);
}

std::vector<RecordedRequest> ScriptedHttpServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t ScriptedHttpServer::count(const std::string& method, const std::string& path) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : requests_) n += (r.method == method && r.path == path) ? 1 : 0;
    return n;
}

ScriptedResponse ScriptedHttpServer::choose(const RecordedRequest& request) {
    Handler fallback;
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        const auto k = key(request.method, request.path);
        if (auto it = scripts_.find(k); it != scripts_.end() && !it->second.empty()) {
            auto& index = served_[k];
            const auto& response = it->second[std::min(index, it->second.size() - 1)];
            ++index;
            return response;
        }
        fallback = fallback_;
    }
    if (fallback) return fallback(request);
    return ScriptedResponse::json(404, R"({"error":"not scripted"})");
}

void ScriptedHttpServer::set_keep_alive(bool keep_alive) {
    std::lock_guard lock(mutex_);
    keep_alive_ = keep_alive;
}

std::size_t ScriptedHttpServer::connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
}

void ScriptedHttpServer::serve() {
    for (;;) {
        tcp::socket socket(impl_->io);
        boost::system::error_code ec;
        impl_->acceptor.accept(socket, ec);
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        if (ec) continue;
        bool keep_alive = false;
        {
            std::lock_guard lock(mutex_);
            ++connections_;
            keep_alive = keep_alive_;
        }

        boost::beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> request;
            http::read(socket, buffer, request, ec);
            if (ec) break;

            RecordedRequest recorded;
            recorded.method = std::string(request.method_string());
            recorded.target = std::string(request.target());
            recorded.path = recorded.target.substr(0, recorded.target.find('?'));
            for (const auto& field : request) {
                recorded.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
            }
            recorded.body = request.body();

            const ScriptedResponse scripted = choose(recorded);
            if (scripted.delay.count() > 0) {
                std::unique_lock lock(mutex_);
                stop_cv_.wait_for(lock, scripted.delay, [this] { return stopping_; });
                if (stopping_) return;
            }

            http::response<http::string_body> response{static_cast<http::status>(scripted.status),
                                                       request.version()};
            response.set(http::field::server, "scripted-test-server");
            response.set(http::field::content_type, scripted.content_type);
            for (const auto& [name, value] : scripted.headers) response.set(name, value);
            response.keep_alive(keep_alive && request.keep_alive());
            response.body() = scripted.body;
            response.prepare_payload();
            http::write(socket, response, ec);  // the client may have given up already: ignore
            if (ec || !response.keep_alive()) break;
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        socket.shutdown(tcp::socket::shutdown_both, ec);
    }
}

}  // namespace broker::testing
