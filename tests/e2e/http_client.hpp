// A small blocking HTTP/1.1 client for the end-to-end tests: one keep-alive connection per
// object, Beast underneath, every exchange bounded by a timeout so a silent server fails the
// test instead of hanging it. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace broker::e2e {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // in the order received
    std::string body;
    nlohmann::json json;  // the parsed body; null when the body is not JSON

    // The first header with this name (case-insensitive), "" when absent.
    std::string header(const std::string& name) const;
    bool has_header(const std::string& name) const;
};

class HttpClient {
  public:
    HttpClient(std::string host, unsigned short port,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request on the kept-alive connection (connecting first if needed). A reused
    // connection that the server closed in the meantime is replaced once. Throws
    // std::runtime_error on a transport failure or timeout.
    HttpResponse request(const std::string& method, const std::string& target, const Headers& headers = {},
                         const std::string& body = "");

    HttpResponse get(const std::string& target, const Headers& headers = {}) {
        return request("GET", target, headers);
    }
    HttpResponse post(const std::string& target, const Headers& headers = {}, const std::string& body = "") {
        return request("POST", target, headers, body);
    }

    // Whether the last exchange left the connection open for the next request.
    bool connected() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace broker::e2e
