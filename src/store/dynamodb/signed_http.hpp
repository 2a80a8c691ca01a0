// One HTTP request signed with AWS Signature Version 4 by libcurl itself (CURLOPT_AWS_SIGV4),
// on a pool of reused curl handles (kept-alive connections). Transport failures are values;
// the caller decides what to retry.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/curl_handle_pool.hpp"
#include "store/dynamodb/aws_credentials.hpp"

namespace broker::ddb {

struct SignedRequest {
    std::string method = "POST";  // POST or GET
    std::string url;
    std::vector<std::string> headers;  // "Name: value"; an X-Amz-Date here fixes the signing date
    std::string body;
    std::string region;   // the credential scope's region
    std::string service;  // the credential scope's service, e.g. "dynamodb"
    AwsCredentials credentials;
    // curl's CURLOPT_CONNECT_TO ("HOST:PORT:CONNECT-HOST:CONNECT-PORT"): sign for one host,
    // connect to another (tests sign for a test vector's host and answer on loopback).
    std::string connect_to;
};

struct SignedResponse {
    long status = 0;
    std::string body;
};

struct SignedResult {
    std::optional<SignedResponse> response;  // set when the server answered
    std::string transport_error;             // set otherwise
};

struct SignedHttpOptions {
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds total_timeout{10000};
    std::size_t max_body_bytes = 16 * 1024 * 1024;
};

// Thread-safe: each request borrows a handle from the pool and gives it back.
class SignedHttp {
  public:
    explicit SignedHttp(SignedHttpOptions options = {});
    ~SignedHttp();
    SignedHttp(const SignedHttp&) = delete;
    SignedHttp& operator=(const SignedHttp&) = delete;

    SignedResult perform(const SignedRequest& request) const;

  private:
    SignedHttpOptions options_;
    std::unique_ptr<CurlHandlePool> pool_;
};

}  // namespace broker::ddb
