#include "store/postgres/pool_listener.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "store/postgres/connection_pool.hpp"

namespace broker {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{1000};
constexpr std::chrono::milliseconds kLastRetry{30'000};

class Receiver final : public pqxx::notification_receiver {
  public:
    Receiver(pqxx::connection& conn, std::function<void()> on_notify)
        : pqxx::notification_receiver(conn, kPoolChannel), on_notify_(std::move(on_notify)) {}
    void operator()(const std::string&, int) override { on_notify_(); }

  private:
    std::function<void()> on_notify_;
};

}  // namespace

PgPoolListener::PgPoolListener(const PostgresOptions& options, std::function<void()> on_notify)
    : conninfo_(pg::conninfo_of(options)), on_notify_(std::move(on_notify)), thread_([this] { run(); }) {}

PgPoolListener::~PgPoolListener() {
    stop();
}

void PgPoolListener::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool PgPoolListener::pause(std::chrono::milliseconds how_long) {
    std::unique_lock lock(mutex_);
    return !stop_cv_.wait_for(lock, how_long, [this] { return stopping_.load(); });
}

void PgPoolListener::run() {
    auto retry = kFirstRetry;
    while (!stopping_) {
        try {
            pqxx::connection conn(conninfo_);
            // The receiver sends LISTEN on the new connection.
            Receiver receiver(conn, [this] {
                ++received_;
                on_notify_();
            });
            listening_ = true;
            retry = kFirstRetry;
            // Something may have been added while no one listened.
            on_notify_();
            // Short waits so that stop() is seen within a fraction of a second.
            while (!stopping_) conn.await_notification(0, 250'000);
        } catch (const std::exception& e) {
            if (listening_.exchange(false)) {
                spdlog::warn("PostgreSQL pool notifications lost ({}); reconnecting", e.what());
            } else {
                spdlog::debug("PostgreSQL pool listener cannot connect: {}", e.what());
            }
        }
        listening_ = false;
        if (!pause(retry)) return;
        retry = std::min(retry * 2, kLastRetry);
    }
}

}  // namespace broker
