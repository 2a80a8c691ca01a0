// A webhook receiver for the end-to-end tests, on 127.0.0.1: it checks every Standard
// Webhooks signature independently of the broker's code, answers 500 to a share of requests,
// and can hold requests unanswered (a hanging receiver).
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace broker::e2e::webhook_receiver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

inline std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

inline std::string unbase64(const std::string& text) {
    std::string out(3 * text.size() / 4 + 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return {};
    std::size_t size = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding's bytes as data.
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --size;
    out.resize(size);
    return out;
}

// The Standard Webhooks signature, computed here independently of the broker's code.
inline std::string expected_signature(const std::string& secret, const std::string& id,
                                      const std::string& timestamp, const std::string& body) {
    const std::string key = unbase64(secret.substr(std::string("whsec_").size()));
    const std::string signed_text = id + "." + timestamp + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac, &mac_size);
    return "v1," + base64(mac, mac_size);
}

// One POST the receiver got.
struct Receipt {
    std::string id;  // webhook-id
    std::string type;
    std::string sandbox_id;  // "" for events of no sandbox
    bool signature_ok = false;
    bool answered_ok = false;  // answered 2xx (the delivery counts as made)
    std::chrono::steady_clock::time_point at;
};

// A webhook receiver on 127.0.0.1: a thread per connection, keep-alive. It answers 500 to a
// `fail_ratio` share of requests (from a fixed seed), 204 to the others; `hold()` makes it
// keep every request unanswered until `release()` (a hanging receiver).
class Receiver {
  public:
    explicit Receiver(double fail_ratio = 0.0, unsigned seed = 12)
        : fail_ratio_(fail_ratio),
          random_(seed),
          acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        port_ = acceptor_.local_endpoint().port();
        acceptor_fd_ = acceptor_.native_handle();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~Receiver() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            held_ = false;
            for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
        }
        changed_.notify_all();
        // Wakes the blocked accept; the acceptor is closed once its thread is gone.
        ::shutdown(acceptor_fd_, SHUT_RDWR);
        accept_thread_.join();
        for (auto& t : connections_) t.join();
        beast::error_code ignored;
        acceptor_.close(ignored);
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
    void set_secret(const std::string& secret) {
        std::lock_guard lock(mutex_);
        secret_ = secret;
    }
    void hold() {
        std::lock_guard lock(mutex_);
        held_ = true;
    }
    // `drop`: the requests held so far get no answer (their connections are closed), as if
    // the receiver never saw them; later requests are served as usual.
    void release(bool drop = false) {
        {
            std::lock_guard lock(mutex_);
            held_ = false;
            if (drop) ++drop_generation_;
        }
        changed_.notify_all();
    }
    int waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }
    std::vector<Receipt> receipts() const {
        std::lock_guard lock(mutex_);
        return receipts_;
    }
    // The distinct webhook-ids answered 2xx.
    std::set<std::string> delivered() const {
        std::lock_guard lock(mutex_);
        std::set<std::string> out;
        for (const auto& r : receipts_)
            if (r.answered_ok) out.insert(r.id);
        return out;
    }

  private:
    void accept_loop() {
        for (;;) {
            beast::error_code ec;
            tcp::socket socket(io_);
            acceptor_.accept(socket, ec);
            std::lock_guard lock(mutex_);
            if (ec || stopping_) return;
            open_fds_.insert(socket.native_handle());
            connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(tcp::socket socket) {
        const int fd = socket.native_handle();
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            beast::error_code ec;
            bhttp::read(socket, buffer, req, ec);
            if (ec) break;
            Receipt r;
            r.at = std::chrono::steady_clock::now();
            r.id = std::string(req["webhook-id"]);
            const auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
            if (body.is_object()) {
                r.type = body.value("type", "");
                if (body.contains("data") && body["data"].is_object() && r.type.rfind("sandbox.", 0) == 0)
                    r.sandbox_id = body["data"].value("id", "");
            }
            bool fail = false;
            {
                std::unique_lock lock(mutex_);
                const std::string expected =
                    expected_signature(secret_, r.id, std::string(req["webhook-timestamp"]), req.body());
                // The header may carry several space-separated signatures (key rotation).
                std::istringstream signatures{std::string(req["webhook-signature"])};
                for (std::string s; signatures >> s;) r.signature_ok = r.signature_ok || s == expected;
                // webhook-id is the event's id, the body's `id`.
                const bool id_matches = body.is_object() && body.contains("id") &&
                                        body["id"].is_number_integer() &&
                                        r.id == std::to_string(body["id"].get<std::int64_t>());
                // A fresh timestamp (a receiver refuses old ones as replays): within 5 minutes.
                const auto sent_at = std::strtoll(std::string(req["webhook-timestamp"]).c_str(), nullptr, 10);
                const auto wall = std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
                const bool fresh = std::llabs(wall - sent_at) <= 300;
                r.signature_ok = r.signature_ok && !secret_.empty() && id_matches && fresh;
                const int generation = drop_generation_;
                ++waiting_;
                changed_.wait(lock, [this] { return !held_; });
                --waiting_;
                if (stopping_ || generation != drop_generation_) break;
                fail = std::uniform_real_distribution<double>(0.0, 1.0)(random_) < fail_ratio_;
                r.answered_ok = !fail && r.signature_ok;
                receipts_.push_back(r);
            }
            bhttp::response<bhttp::string_body> res{
                r.answered_ok ? bhttp::status::no_content : bhttp::status::internal_server_error,
                req.version()};
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            bhttp::write(socket, res, ec);
            if (ec || !req.keep_alive()) break;
        }
        std::lock_guard lock(mutex_);
        open_fds_.erase(fd);
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
    }

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    double fail_ratio_;
    std::mt19937 random_;
    std::string secret_;
    bool held_ = false;
    bool stopping_ = false;
    int waiting_ = 0;
    int drop_generation_ = 0;
    std::vector<Receipt> receipts_;
    std::set<int> open_fds_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    int acceptor_fd_ = -1;
    unsigned short port_ = 0;
    std::thread accept_thread_;
    std::list<std::thread> connections_;
};

}  // namespace broker::e2e::webhook_receiver
