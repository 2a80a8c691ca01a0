// libcurl behind HttpClient. By default one easy handle per call: nothing is shared between
// threads, and the provider is called a few times per second at most. With reuse_connections
// (the webhook sender, up to hundreds of requests a second to the same receivers) a call
// borrows a handle from a pool, so the connections its cache holds stay open for the next.
#include "runtime/http_client.hpp"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "runtime/http_text.hpp"

namespace broker {
namespace {

// A line of the answer's head as libcurl hands it over, without its CRLF.
std::string_view without_line_end(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    return line;
}

// Adds a "Name: value" line of the head to `headers`; a line without a colon adds nothing.
void add_header_line(HttpHeaders& headers, std::string_view line) {
    line = without_line_end(line);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    headers.emplace_back(std::string(trim_ows(line.substr(0, colon))),
                         std::string(trim_ows(line.substr(colon + 1))));
}

struct Transfer {
    HttpResponse response;
    std::size_t max_body_bytes = 0;
    bool body_too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    if (transfer->response.body.size() + bytes > transfer->max_body_bytes) {
        transfer->body_too_large = true;
        return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    transfer->response.body.append(data, bytes);
    return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    const std::string_view line(data, bytes);
    if (line.starts_with("HTTP/")) {
        // A new status line (after a 100 Continue, say): only the final answer's headers count.
        transfer->response.headers.clear();
        return bytes;
    }
    add_header_line(transfer->response.headers, line);
    return bytes;
}

struct CurlDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

TransportErrorKind classify(CURLcode code, CURL* handle) {
    switch (code) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            return TransportErrorKind::connect;
        case CURLE_OPERATION_TIMEDOUT: {
            // A timeout before the TCP connection was up is a connect failure.
            curl_off_t connect_us = 0;
            curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME_T, &connect_us);
            return connect_us > 0 ? TransportErrorKind::timeout : TransportErrorKind::connect;
        }
        default:
            return TransportErrorKind::other;
    }
}

// CURLOPT_OPENSOCKETFUNCTION: a socket only for addresses the options' filter allows.
curl_socket_t open_allowed_socket(void* data, curlsocktype, struct curl_sockaddr* address) {
    const auto& allow = *static_cast<const std::function<bool(const ::sockaddr*)>*>(data);
    if (!allow(&address->addr)) return CURL_SOCKET_BAD;
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

using AllowAddress = std::function<bool(const ::sockaddr*)>;

// The request's headers as libcurl's list. "Expect:" stops libcurl from adding
// "Expect: 100-continue" to a larger body and waiting for it.
std::unique_ptr<curl_slist, SlistDeleter> header_list_of(const HttpRequest& request) {
    curl_slist* raw_headers = nullptr;
    for (const auto& [name, value] : request.headers) {
        raw_headers = curl_slist_append(raw_headers, (name + ": " + value).c_str());
    }
    raw_headers = curl_slist_append(raw_headers, "Expect:");
    return std::unique_ptr<curl_slist, SlistDeleter>(raw_headers);
}

// What a buffered and a streamed transfer set alike: the request (URL, headers, method,
// body, all of which must outlive the transfer), the connect timeout and user agent, no
// signals, http(s) only, no redirects, the error text into `error_buffer`, and the check of
// every address connected to by `*allow` when set (`allow` too outlives the transfer).
void set_request_options(CURL* h, const HttpRequest& request, const curl_slist* headers,
                         const HttpClientOptions& options, const AllowAddress* allow, char* error_buffer) {
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: required with threads
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would re-send the token elsewhere
    if (*allow) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_allowed_socket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, allow);
    }
    if (request.method == "GET") {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals_ascii(key, name)) return value;
    }
    return std::nullopt;
}

void http_global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("curl_global_init failed");
        }
    });
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {
    http_global_init();
    if (options_.reuse_connections) handles_ = std::make_shared<CurlHandlePool>();
}

HttpResult HttpClient::perform(const HttpRequest& request) const {
    const auto started = std::chrono::steady_clock::now();
    HttpResult result;
    // The handle goes back to the pool (its connection kept) or is closed, however the call ends.
    CurlHandlePool::Lease handle =
        handles_ ? handles_->take() : CurlHandlePool::Lease(curl_easy_init(), CurlHandlePool::Return{});
    if (!handle) throw std::runtime_error("curl_easy_init failed");
    CURL* h = handle.get();

    const auto header_list = header_list_of(request);

    Transfer transfer;
    transfer.max_body_bytes = options_.max_body_bytes;
    char error_buffer[CURL_ERROR_SIZE] = {0};

    set_request_options(h, request, header_list.get(), options_, &options_.allow_address, error_buffer);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);

    const CURLcode code = curl_easy_perform(h);
    result.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (code == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &transfer.response.status);
        result.response = std::move(transfer.response);
        return result;
    }
    TransportError error;
    error.kind = classify(code, h);
    if (transfer.body_too_large) {
        error.message = "answer body larger than " + std::to_string(options_.max_body_bytes) + " bytes";
    } else {
        error.message = error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code);
    }
    result.error = std::move(error);
    return result;
}

namespace {

struct MultiDeleter {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

// How long one wait inside curl_multi_poll may last before the deadlines are looked at again.
constexpr std::chrono::milliseconds kPollSlice{100};

}  // namespace

struct HttpBodyStream::State {
    HttpRequest request;  // libcurl reads the URL and body from here during the exchange
    std::unique_ptr<CURLM, MultiDeleter> multi;
    std::unique_ptr<CURL, CurlDeleter> easy;
    std::unique_ptr<curl_slist, SlistDeleter> header_list;
    std::function<bool(const ::sockaddr*)> allow_address;
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::steady_clock::time_point started;

    HttpResult head;
    long status = 0;  // of the last status line seen
    bool head_done = false;
    std::string buffer;  // body received and not yet read, from `offset`
    std::size_t offset = 0;
    bool done = false;
    std::optional<TransportError> error;
    char error_buffer[CURL_ERROR_SIZE] = {0};

    ~State() {
        if (multi && easy) curl_multi_remove_handle(multi.get(), easy.get());
    }

    std::size_t available() const { return buffer.size() - offset; }

    void fail(TransportErrorKind kind, std::string message) {
        done = true;
        if (!error) error = TransportError{kind, std::move(message)};
    }

    // Pumps the transfer until `ready` or its end; false when `wait` passed first.
    template <class Ready>
    bool pump_until(Ready ready, std::chrono::milliseconds wait) {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            int running = 0;
            curl_multi_perform(multi.get(), &running);
            int left = 0;
            while (CURLMsg* message = curl_multi_info_read(multi.get(), &left)) {
                if (message->msg != CURLMSG_DONE) continue;
                const CURLcode code = message->data.result;
                done = true;
                if (code != CURLE_OK) {
                    fail(classify(code, easy.get()),
                         error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(code));
                }
            }
            if (ready() || done) return true;
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return false;
            const auto rest = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
            curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(std::min(kPollSlice, rest).count()) + 1,
                            nullptr);
        }
    }
};

namespace {

std::size_t on_stream_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* state = static_cast<HttpBodyStream::State*>(user);
    const std::size_t bytes = size * count;
    if (state->offset == state->buffer.size()) {
        state->buffer.clear();  // all read: start over, so the buffer holds one round at most
        state->offset = 0;
    }
    state->buffer.append(data, bytes);
    state->head_done = true;
    return bytes;
}

std::size_t on_stream_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* state = static_cast<HttpBodyStream::State*>(user);
    const std::size_t bytes = size * count;
    const std::string_view line(data, bytes);
    auto& headers = state->head.response->headers;
    if (line.starts_with("HTTP/")) {
        // A new status line (after a 100 Continue, say): only the final answer's head counts.
        headers.clear();
        const auto space = line.find(' ');
        state->status =
            space == std::string_view::npos ? 0 : std::atol(std::string(line.substr(space + 1, 3)).c_str());
        return bytes;
    }
    if (trim_ows(without_line_end(line)).empty()) {
        if (state->status >= 200) state->head_done = true;
        return bytes;
    }
    add_header_line(headers, line);
    return bytes;
}

}  // namespace

HttpBodyStream::HttpBodyStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpBodyStream::~HttpBodyStream() = default;

const HttpResult& HttpBodyStream::head() const {
    return state_->head;
}

const std::optional<TransportError>& HttpBodyStream::error() const {
    return state_->error;
}

std::size_t HttpBodyStream::read(char* out, std::size_t size) {
    State& st = *state_;
    if (size == 0 || !st.head.response) return 0;
    if (st.available() == 0 && !st.done &&
        !st.pump_until([&] { return st.available() > 0; }, st.idle_timeout)) {
        st.fail(TransportErrorKind::timeout,
                "no answer data for " + std::to_string(st.idle_timeout.count()) + " ms");
    }
    const std::size_t n = std::min(size, st.available());
    std::copy_n(st.buffer.data() + st.offset, n, out);
    st.offset += n;
    return n;
}

std::string HttpBodyStream::read_rest(std::size_t limit) {
    std::string rest;
    char chunk[16384];
    while (rest.size() < limit) {
        const std::size_t n = read(chunk, std::min(sizeof chunk, limit - rest.size()));
        if (n == 0) break;
        rest.append(chunk, n);
    }
    return rest;
}

std::unique_ptr<HttpBodyStream> HttpClient::open(const HttpRequest& request,
                                                 std::chrono::milliseconds idle_timeout) const {
    auto state = std::make_unique<HttpBodyStream::State>();
    HttpBodyStream::State& st = *state;
    st.request = request;
    st.idle_timeout = idle_timeout;
    st.allow_address = options_.allow_address;
    st.started = std::chrono::steady_clock::now();
    st.head.response.emplace();
    st.multi.reset(curl_multi_init());
    st.easy.reset(curl_easy_init());
    if (!st.multi || !st.easy) throw std::runtime_error("curl_multi_init or curl_easy_init failed");
    CURL* h = st.easy.get();

    st.header_list = header_list_of(st.request);
    set_request_options(h, st.request, st.header_list.get(), options_, &st.allow_address, st.error_buffer);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_stream_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
    curl_multi_add_handle(st.multi.get(), h);

    if (!st.pump_until([&] { return st.head_done; }, options_.total_timeout)) {
        st.fail(TransportErrorKind::timeout,
                "no answer within " + std::to_string(options_.total_timeout.count()) + " ms");
    }
    if (st.done && st.error && !st.head_done) {
        // No answer at all: the failure is the head's.
        st.head.response.reset();
        st.head.error = st.error;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st.head.response->status);
        if (st.head.response->status == 0) st.head.response->status = st.status;
    }
    st.head.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - st.started);
    return std::unique_ptr<HttpBodyStream>(new HttpBodyStream(std::move(state)));
}

std::string safe_last_segment(std::string_view path) {
    // A path with "." or ".." segments is not an id the provider gave us: refuse it whole.
    for (std::size_t start = 0; start <= path.size();) {
        const auto end = std::min(path.find('/', start), path.size());
        const auto segment = path.substr(start, end - start);
        if (segment == "." || segment == "..") return {};
        start = end + 1;
    }
    const auto slash = path.rfind('/');
    const auto last = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (last.empty()) return {};
    for (char c : last) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '_';
        if (!safe) return {};
    }
    return std::string(last);
}

bool is_sensitive_header(std::string_view name) {
    return iequals_ascii(name, "Authorization") || iequals_ascii(name, "Proxy-Authorization") ||
           iequals_ascii(name, "Cookie") || iequals_ascii(name, "Set-Cookie") ||
           iequals_ascii(name, "X-Api-Key") || iequals_ascii(name, "X-Auth-Token");
}

std::string describe_for_log(const HttpRequest& request) {
    std::string out = request.method + " " + request.url;
    if (request.headers.empty()) return out;
    out += " [";
    bool first = true;
    for (const auto& [name, value] : request.headers) {
        if (!first) out += ", ";
        first = false;
        out += name + ": " + (is_sensitive_header(name) ? std::string("<redacted>") : value);
    }
    out += "]";
    return out;
}

}  // namespace broker
