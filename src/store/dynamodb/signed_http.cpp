// SigV4-signed requests over libcurl: see signed_http.hpp.
#include "store/dynamodb/signed_http.hpp"

#include <curl/curl.h>

#include "runtime/http_client.hpp"

namespace broker::ddb {
namespace {

struct Transfer {
    std::string body;
    std::size_t limit = 0;
    bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    if (t->body.size() + n > t->limit) {
        t->overflow = true;
        return 0;  // aborts the transfer
    }
    t->body.append(data, n);
    return n;
}

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

SignedHttp::SignedHttp(SignedHttpOptions options)
    : options_(options), pool_(std::make_unique<CurlHandlePool>()) {
    http_global_init();
}

SignedHttp::~SignedHttp() = default;

SignedResult SignedHttp::perform(const SignedRequest& request) const {
    const CurlHandlePool::Lease handle = pool_->take();
    if (!handle) return {std::nullopt, "curl_easy_init failed"};
    CURL* h = handle.get();

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(headers.get(), line.c_str());
        if (next) {
            headers.release();
            headers.reset(next);
        }
    };
    for (const auto& line : request.headers) add(line);
    if (!request.credentials.session_token.empty())
        add("X-Amz-Security-Token: " + request.credentials.session_token);

    std::unique_ptr<curl_slist, SlistDeleter> connect_to;
    if (!request.connect_to.empty()) connect_to.reset(curl_slist_append(nullptr, request.connect_to.c_str()));

    const std::string sigv4 = "aws:amz:" + request.region + ":" + request.service;
    Transfer transfer{{}, options_.max_body_bytes, false};
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    if (connect_to) curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to.get());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sandbox-broker");
    // libcurl signs the request (SigV4) with these; they never appear in a header of ours.
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(h, CURLOPT_USERNAME, request.credentials.access_key_id.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, request.credentials.secret_access_key.c_str());
    if (request.method == "GET") {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }

    const CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        std::string message = transfer.overflow ? "answer larger than the limit"
                                                : (error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
        return {std::nullopt, std::move(message)};
    }
    SignedResponse response;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
    response.body = std::move(transfer.body);
    return {std::move(response), {}};
}

}  // namespace broker::ddb
