#include "http/waiter_poller.hpp"

#include <random>

namespace broker {

WaiterPoller::WaiterPoller(WaiterRegistry& registry, std::chrono::milliseconds interval)
    : registry_(registry), interval_(interval), thread_([this] { run(); }) {}

WaiterPoller::~WaiterPoller() {
    stop();
}

void WaiterPoller::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void WaiterPoller::run() {
    std::minstd_rand random(std::random_device{}());
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const auto pause = std::chrono::duration_cast<std::chrono::milliseconds>(interval_ * jitter(random));
        if (stop_cv_.wait_for(lock, pause, [this] { return stopping_; })) return;
        if (registry_.size() == 0) continue;
        lock.unlock();
        registry_.wake_heads();
        lock.lock();
    }
}

}  // namespace broker
