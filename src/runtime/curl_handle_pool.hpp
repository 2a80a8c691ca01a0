// Idle libcurl easy handles kept with their connection caches, for a client that sends many
// requests to the same hosts: a request takes one (or a new one) and gives it back.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace broker {

class CurlHandlePool {
  public:
    // Handles given back beyond max_idle are closed, so a burst's connections do not all stay open.
    explicit CurlHandlePool(std::size_t max_idle = 64) : max_idle_(max_idle) {}
    ~CurlHandlePool();
    CurlHandlePool(const CurlHandlePool&) = delete;
    CurlHandlePool& operator=(const CurlHandlePool&) = delete;

    // Gives a handle back to its pool when the lease ends, or closes it when there is no pool.
    struct Return {
        CurlHandlePool* pool = nullptr;
        void operator()(CURL* handle) const;
    };
    using Lease = std::unique_ptr<CURL, Return>;

    // An idle handle with its options at their defaults and its connections kept, or a new
    // one; empty if libcurl could not make one.
    Lease take();

  private:
    void give_back(CURL* handle);

    const std::size_t max_idle_;
    std::mutex mutex_;
    std::vector<CURL*> idle_;
};

}  // namespace broker
