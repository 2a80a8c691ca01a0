// Idle libcurl easy handles: see curl_handle_pool.hpp.
#include "runtime/curl_handle_pool.hpp"

namespace broker {

CurlHandlePool::~CurlHandlePool() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
}

void CurlHandlePool::Return::operator()(CURL* handle) const {
    if (pool)
        pool->give_back(handle);
    else
        curl_easy_cleanup(handle);
}

CurlHandlePool::Lease CurlHandlePool::take() {
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            CURL* handle = idle_.back();
            idle_.pop_back();
            return Lease(handle, Return{this});
        }
    }
    return Lease(curl_easy_init(), Return{this});
}

void CurlHandlePool::give_back(CURL* handle) {
    // Options back to their defaults (nothing of this request stays pointed at); the
    // connection, DNS and TLS session caches stay.
    curl_easy_reset(handle);
    {
        std::lock_guard lock(mutex_);
        if (idle_.size() < max_idle_) {
            idle_.push_back(handle);
            return;
        }
    }
    curl_easy_cleanup(handle);
}

}  // namespace broker
