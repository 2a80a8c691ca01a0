// A tiny HTTP/1.1 server for tests of HTTP clients: listens on 127.0.0.1 on a free port,
// answers one connection at a time from a script (status, body, headers, delay), and records
// every request so tests can check paths, methods and headers. Closes each connection after
// its answer unless told to keep them open (then it counts them, for tests of connection
// reuse). Test-only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace broker::testing {

struct RecordedRequest {
    std::string method;
    std::string target;  // path and query as sent
    std::string path;    // without the query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // The first header named `name` (case-insensitive); empty when absent.
    std::string header(const std::string& name) const;
};

struct ScriptedResponse {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds delay{0};  // wait before answering (for client timeouts)

    static ScriptedResponse json(int status, std::string body) {
        ScriptedResponse r;
        r.status = status;
        r.body = std::move(body);
        return r;
    }
    static ScriptedResponse html(int status, std::string body) {
        ScriptedResponse r = json(status, std::move(body));
        r.content_type = "text/html";
        return r;
    }
};

class ScriptedHttpServer {
  public:
    using Handler = std::function<ScriptedResponse(const RecordedRequest&)>;

    ScriptedHttpServer();  // listening when it returns
    ~ScriptedHttpServer();
    ScriptedHttpServer(const ScriptedHttpServer&) = delete;
    ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

    unsigned short port() const { return port_; }
    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    // Answers to `method path`, in order; the last one repeats once the others are used up.
    void script(const std::string& method, const std::string& path, std::vector<ScriptedResponse> responses);
    // Answers requests no script matches (default: 404).
    void set_fallback(Handler handler);

    // Keeps a connection open after an answer (HTTP keep-alive) and serves its next request;
    // the next connection is accepted once the client closes it.
    void set_keep_alive(bool keep_alive);
    // Connections accepted so far.
    std::size_t connections() const;

    std::vector<RecordedRequest> requests() const;
    std::size_t count(const std::string& method, const std::string& path) const;

  private:
    struct Impl;
    void serve();
    ScriptedResponse choose(const RecordedRequest& request);

    std::unique_ptr<Impl> impl_;
    unsigned short port_ = 0;

    mutable std::mutex mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::map<std::string, std::vector<ScriptedResponse>> scripts_;
    std::map<std::string, std::size_t> served_;
    Handler fallback_;
    bool keep_alive_ = false;
    std::size_t connections_ = 0;
    std::vector<RecordedRequest> requests_;
    std::thread thread_;
};

}  // namespace broker::testing
