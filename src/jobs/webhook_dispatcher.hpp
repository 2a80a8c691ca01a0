// The webhook delivery of the worker process: a loop of its own beside the jobs (never on
// the allocation path) that, every WEBHOOK_POLL_MS or as soon as an attempt ends,
//   - turns each enabled subscription's new outbox events into pending deliveries (moving
//     its cursor in the same store change, so another worker never does it twice),
//   - disables a subscription that keeps failing and says so with a webhook.disabled event,
//   - claims the subscription's due deliveries (a lease, so a killed worker's deliveries are
//     sent again by another, at least once; a sandbox's next event only after the one
//     before it is delivered or failed) and sends each on a thread of its own, at most
//     WEBHOOK_MAX_IN_FLIGHT per subscription: a slow receiver holds its own slots, never
//     another subscription's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "jobs/webhook_config.hpp"
#include "jobs/webhook_sender.hpp"
#include "obs/webhook_metrics.hpp"
#include "store/event_store.hpp"
#include "store/webhook_store.hpp"

namespace broker {

struct WebhookTick {
    int enqueued = 0;  // deliveries created from new events
    int started = 0;   // attempts started
    int disabled = 0;  // subscriptions disabled
};

class WebhookDispatcher {
  public:
    // Everything given outlives this object; `metrics` may be null. Nothing runs until start().
    WebhookDispatcher(WebhookStore& store, EventStore& events, WebhookSender& sender, const Clock& clock,
                      WebhookConfig config, std::string worker_id, WebhookMetrics* metrics = nullptr);
    ~WebhookDispatcher();  // stop()
    WebhookDispatcher(const WebhookDispatcher&) = delete;
    WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

    void start();
    // Stops the loop and waits for the attempts in flight (each bounded by the timeout).
    void stop();

    // One pass over the subscriptions (what the loop runs); attempts run on their own threads.
    WebhookTick tick();
    // Blocks until no attempt is in flight (tests).
    void wait_idle();
    int in_flight(const std::string& subscription_id) const;

    // How long a claim outlives the attempt's timeout: a worker killed mid-attempt leaves its
    // deliveries to others after timeout + this.
    static constexpr std::chrono::seconds kClaimMargin{5};
    // Events read from the outbox per subscription and tick at most.
    static constexpr int kEventsPerTick = 2000;
    // How often a subscription's backlog gauge is counted at most.
    static constexpr std::chrono::seconds kBacklogEvery{1};

  private:
    struct Attempt {
        std::thread thread;
        bool done = false;
    };

    void loop();
    int fan_out(const WebhookSubscription& subscription, UnixSeconds now);
    void attempt(const WebhookSubscription& subscription, const WebhookDelivery& delivery, Attempt* self);
    void reap();
    void maybe_prune(UnixSeconds now);
    bool backlog_due(const std::string& subscription_id);
    double jitter();

    WebhookStore& store_;
    EventStore& events_;
    WebhookSender& sender_;
    const Clock& clock_;
    const WebhookConfig config_;
    const std::string worker_id_;
    WebhookMetrics* metrics_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    bool woken_ = false;
    std::map<std::string, int> in_flight_;
    std::list<Attempt> attempts_;
    std::mt19937_64 random_{std::random_device{}()};
    std::chrono::steady_clock::time_point next_prune_{};
    std::map<std::string, std::chrono::steady_clock::time_point> next_backlog_;
    std::thread loop_;
};

// The webhook-id of an event's delivery: the "id" of its payload when that is a string, else
// the outbox id as text.
std::string webhook_message_id(const WebhookDelivery& delivery);

}  // namespace broker
