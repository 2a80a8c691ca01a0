// The webhook delivery of the worker process: see webhook_dispatcher.hpp.
#include "jobs/webhook_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "jobs/webhook_policy.hpp"
#include "jobs/webhook_signature.hpp"

namespace broker {
namespace {

// Finished deliveries are kept this long for the admin API, then pruned.
constexpr std::int64_t kDeliveryRetentionSec = 7 * 86400;
constexpr std::chrono::minutes kPruneEvery{10};

}  // namespace

std::string webhook_message_id(const WebhookDelivery& delivery) {
    const auto payload = nlohmann::json::parse(delivery.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_object()) {
        const auto it = payload.find("id");
        if (it != payload.end() && it->is_string()) return it->get<std::string>();
    }
    return std::to_string(delivery.event_id);
}

WebhookDispatcher::WebhookDispatcher(WebhookStore& store, EventStore& events, WebhookSender& sender,
                                     const Clock& clock, WebhookConfig config, std::string worker_id,
                                     WebhookMetrics* metrics)
    : store_(store),
      events_(events),
      sender_(sender),
      clock_(clock),
      config_(config),
      worker_id_(std::move(worker_id)),
      metrics_(metrics) {}

WebhookDispatcher::~WebhookDispatcher() {
    stop();
}

void WebhookDispatcher::start() {
    std::lock_guard lock(mutex_);
    if (loop_.joinable()) return;
    stopping_ = false;
    loop_ = std::thread([this] { loop(); });
}

void WebhookDispatcher::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (loop_.joinable()) loop_.join();
    wait_idle();
    reap();
}

void WebhookDispatcher::loop() {
    for (;;) {
        reap();
        try {
            tick();
        } catch (const std::exception& e) {
            spdlog::warn("webhook delivery: {}", e.what());
        }
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, config_.poll, [this] { return stopping_ || woken_; });
        woken_ = false;
        if (stopping_) return;
    }
}

WebhookTick WebhookDispatcher::tick() {
    WebhookTick out;
    const UnixSeconds now = clock_.now();
    maybe_prune(now);
    for (const auto& s : store_.list_webhooks()) {
        if (!s.enabled) continue;
        if (auto reason = disable_reason(s, now, config_)) {
            if (store_.disable_webhook(s.id, *reason, now)) {
                ++out.disabled;
                if (metrics_) metrics_->subscriptions_disabled.inc();
                // The store wrote the webhook.disabled event with the change.
                spdlog::warn("webhook {} disabled: {}", s.id, *reason);
            }
            continue;
        }
        out.enqueued += fan_out(s, now);
        int free = 0;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return out;
            free = config_.max_in_flight - in_flight_[s.id];
        }
        if (free > 0) {
            DeliveryClaim claim{s.id, worker_id_, now, now + config_.timeout.count() + kClaimMargin.count(),
                                free};
            for (const auto& d : store_.claim_deliveries(claim)) {
                std::lock_guard lock(mutex_);
                ++in_flight_[s.id];
                Attempt& a = attempts_.emplace_back();
                a.thread = std::thread([this, s, d, self = &a] { attempt(s, d, self); });
                ++out.started;
            }
        }
        if (metrics_ && backlog_due(s.id)) {
            metrics_->backlog.with_labels({s.id}).set(static_cast<double>(store_.count_pending(s.id)));
        }
    }
    return out;
}

int WebhookDispatcher::fan_out(const WebhookSubscription& s, UnixSeconds now) {
    int enqueued = 0;
    std::int64_t cursor = s.cursor;
    for (int read = 0; read < kEventsPerTick;) {
        const int page = std::min(500, kEventsPerTick - read);
        const auto events = events_.read_events(cursor, page);
        if (events.empty()) break;
        std::vector<OutboxEvent> wanted;
        for (const auto& e : events)
            if (s.wants(e.type)) wanted.push_back(e);
        const std::int64_t next = events.back().id;
        // Another worker moved the cursor first: it made these deliveries; look again next tick.
        if (!store_.enqueue_deliveries(s.id, cursor, next, wanted, now)) break;
        enqueued += static_cast<int>(wanted.size());
        cursor = next;
        read += static_cast<int>(events.size());
        if (static_cast<int>(events.size()) < page) break;
    }
    return enqueued;
}

void WebhookDispatcher::attempt(const WebhookSubscription& s, const WebhookDelivery& d, Attempt* self) {
    DeliveryAttempt record;
    record.delivery_id = d.id;
    record.subscription_id = d.subscription_id;
    record.worker_id = worker_id_;
    try {
        WebhookMessage message;
        message.url = s.url;
        message.id = webhook_message_id(d);
        message.timestamp = clock_.now();
        message.body = d.payload;
        message.signature = sign_webhook(s.secret, message.id, message.timestamp, message.body);
        const WebhookSendResult sent = sender_.send(message);
        record.http_status = sent.http_status;
        record.error = sent.error;
        record.latency_ms = sent.latency_ms;
        if (!sent.delivered() && sent.http_status && record.error.empty())
            record.error = "answered " + std::to_string(*sent.http_status);
        record.now = clock_.now();
        if (sent.delivered()) {
            record.outcome = DeliveryStatus::delivered;
        } else {
            const RetryDecision next = after_failed_attempt(d, record.now, config_, jitter());
            record.outcome = next.outcome;
            record.next_attempt_at = next.next_attempt_at;
        }
        store_.record_attempt(record);
        if (metrics_) {
            const std::string_view outcome = record.outcome == DeliveryStatus::delivered ? "delivered"
                                             : record.outcome == DeliveryStatus::failed  ? "failed"
                                                                                         : "retry";
            metrics_->attempt(outcome, static_cast<double>(record.latency_ms) / 1000.0);
        }
    } catch (const std::exception& e) {
        // The claim runs out and the delivery is tried again (by this worker or another).
        spdlog::warn("webhook {} delivery {}: {}", s.id, d.id, e.what());
    }
    {
        std::lock_guard lock(mutex_);
        --in_flight_[s.id];
        self->done = true;
        woken_ = true;
    }
    changed_.notify_all();
}

void WebhookDispatcher::reap() {
    std::list<Attempt> finished;
    {
        std::lock_guard lock(mutex_);
        for (auto it = attempts_.begin(); it != attempts_.end();) {
            if (it->done) {
                auto next = std::next(it);
                finished.splice(finished.end(), attempts_, it);
                it = next;
            } else {
                ++it;
            }
        }
    }
    for (auto& a : finished) a.thread.join();
}

void WebhookDispatcher::wait_idle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] {
        for (const auto& a : attempts_)
            if (!a.done) return false;
        return true;
    });
}

int WebhookDispatcher::in_flight(const std::string& subscription_id) const {
    std::lock_guard lock(mutex_);
    const auto it = in_flight_.find(subscription_id);
    return it == in_flight_.end() ? 0 : it->second;
}

void WebhookDispatcher::maybe_prune(UnixSeconds now) {
    const auto steady = clock_.steady_now();
    if (steady < next_prune_) return;
    next_prune_ = steady + kPruneEvery;
    store_.prune_deliveries(now - kDeliveryRetentionSec);
}

bool WebhookDispatcher::backlog_due(const std::string& subscription_id) {
    // The loop runs after every attempt (dozens a second under load) and the count reads every
    // pending delivery's index entry: the gauge is refreshed at most once per kBacklogEvery.
    const auto steady = clock_.steady_now();
    std::lock_guard lock(mutex_);
    auto [it, fresh] = next_backlog_.try_emplace(subscription_id, steady);
    if (!fresh && steady < it->second) return false;
    it->second = steady + kBacklogEvery;
    return true;
}

double WebhookDispatcher::jitter() {
    std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

}  // namespace broker
