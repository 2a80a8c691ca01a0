// The webhook delivery of the worker process: a loop of its own beside the jobs (never on
// the allocation path) that, every WEBHOOK_POLL_MS or as soon as an attempt ends,
//   - turns each enabled subscription's new outbox events into pending deliveries (moving
//     its cursor in the same store change, so another worker never does it twice) once its
//     claimable deliveries ran short: a burst is not copied into deliveries faster than they
//     are sent,
//   - disables a subscription that keeps failing and says so with a webhook.disabled event,
//   - records the attempts that ended since the last pass, all in one store change, and frees
//     their slots,
//   - claims the subscription's due deliveries (a lease, so a killed worker's deliveries are
//     sent again by another, at least once; a sandbox's next event only after the one
//     before it is delivered or failed), at most WEBHOOK_MAX_IN_FLIGHT per subscription, and
//     hands each to a delivery thread.
// The delivery threads are long-lived and shared by the subscriptions; a claimed delivery
// never waits for one (an idle thread takes it, or a new one is started), so a slow receiver
// holds its own slots and the threads sending to it, never another subscription's. There are
// at most as many threads as attempts were ever in flight at once (WEBHOOK_MAX_IN_FLIGHT per
// subscription); one left idle for kSenderIdle ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
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

    // One pass over the subscriptions (what the loop runs), after recording the attempts that
    // ended; attempts run on the delivery threads.
    WebhookTick tick();
    // Blocks until no attempt is being sent, then records the ended ones (tests, stop()).
    void wait_idle();
    int in_flight(const std::string& subscription_id) const;
    // Delivery threads running (busy or idle).
    int delivery_threads() const;

    // How long a claim outlives the attempt's timeout: a worker killed mid-attempt leaves its
    // deliveries to others after timeout + this.
    static constexpr std::chrono::seconds kClaimMargin{5};
    // Events read from the outbox per subscription and tick at most.
    static constexpr int kEventsPerTick = 2000;
    // How often a subscription's backlog gauge is counted at most.
    static constexpr std::chrono::seconds kBacklogEvery{1};
    // A delivery thread with nothing to send for this long ends.
    static constexpr std::chrono::seconds kSenderIdle{60};

  private:
    struct Sender {
        std::thread thread;
        bool done = false;
    };
    struct Job {
        WebhookSubscription subscription;
        WebhookDelivery delivery;
    };
    // An attempt that ended: its record, or none when it could not be made (the claim runs out
    // and the delivery is tried again).
    struct Ended {
        std::string subscription_id;
        std::optional<DeliveryAttempt> record;
    };

    void loop();
    // Turns events past `cursor` (the subscription's) into deliveries and moves `cursor` past them.
    int fan_out(const WebhookSubscription& subscription, UnixSeconds now, std::int64_t& cursor);
    // Hands a claimed delivery to an idle delivery thread, or a new one; mutex_ held.
    void dispatch_locked(Job job);
    void sender_loop(Sender* self);
    std::optional<DeliveryAttempt> attempt(const Job& job);
    // Records the ended attempts in one store change and frees their slots.
    void record_ended();
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
    std::condition_variable work_;          // a job was queued, or stopping_
    std::map<std::string, int> in_flight_;  // claimed and not yet recorded, per subscription
    std::deque<Job> queue_;                 // claimed, not yet taken by a delivery thread
    int idle_senders_ = 0;                  // delivery threads waiting for a job
    int sending_ = 0;                       // attempts being sent
    std::list<Sender> senders_;
    std::vector<Ended> ended_;
    std::mutex record_mutex_;  // one batch of records at a time: a slot is freed after its record
    std::mt19937_64 random_{std::random_device{}()};
    std::chrono::steady_clock::time_point next_prune_{};
    std::map<std::string, std::chrono::steady_clock::time_point> next_backlog_;
    std::set<std::string> has_work_;  // subscriptions whose last claim got all it asked for
    std::thread loop_;
};

// The webhook-id of an event's delivery: the "id" of its payload when that is a string, else
// the outbox id as text.
std::string webhook_message_id(const WebhookDelivery& delivery);

}  // namespace broker
