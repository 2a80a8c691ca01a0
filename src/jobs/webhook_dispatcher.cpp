// The webhook delivery of the worker process: see webhook_dispatcher.hpp.
#include "jobs/webhook_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
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
    work_.notify_all();
    if (loop_.joinable()) loop_.join();
    // The delivery threads send what they were handed, then end.
    wait_idle();
    std::list<Sender> senders;
    {
        std::lock_guard lock(mutex_);
        senders.swap(senders_);
    }
    work_.notify_all();
    for (auto& sender : senders) sender.thread.join();
    record_ended();
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
    record_ended();
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
        std::int64_t cursor = s.cursor;
        int free = 0;
        bool short_of_work = true;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return out;
            free = config_.max_in_flight - in_flight_[s.id];
            short_of_work = !has_work_.contains(s.id);
        }
        // New events become deliveries only once the subscription's last claim came back short:
        // while a receiver is behind, a burst stays in the outbox (read and written again only as
        // it is sent) instead of being copied into deliveries all at once. Its order and
        // at-least-once do not change: the cursor still moves with the deliveries it made.
        if (short_of_work) out.enqueued += fan_out(s, now, cursor);
        if (free > 0) {
            DeliveryClaim claim{s.id, worker_id_, now, now + config_.timeout.count() + kClaimMargin.count(),
                                free};
            auto claimed = store_.claim_deliveries(claim);
            std::lock_guard lock(mutex_);
            if (static_cast<int>(claimed.size()) < free)
                has_work_.erase(s.id);
            else
                has_work_.insert(s.id);
            for (auto& d : claimed) {
                ++in_flight_[s.id];
                dispatch_locked(Job{s, std::move(d)});
                ++out.started;
            }
        }
        if (metrics_ && backlog_due(s.id)) {
            // Pending deliveries, and the outbox's events past the cursor not yet made into
            // deliveries (of every type: at most that many more).
            const std::int64_t unread = std::max<std::int64_t>(0, events_.last_event_id() - cursor);
            metrics_->backlog.with_labels({s.id}).set(
                static_cast<double>(store_.count_pending(s.id) + unread));
        }
    }
    return out;
}

int WebhookDispatcher::fan_out(const WebhookSubscription& s, UnixSeconds now, std::int64_t& cursor) {
    int enqueued = 0;
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

void WebhookDispatcher::dispatch_locked(Job job) {
    // Each queued job has an idle thread of its own: a job never waits behind another.
    if (idle_senders_ <= static_cast<int>(queue_.size())) {
        Sender& sender = senders_.emplace_back();
        ++idle_senders_;
        sender.thread = std::thread([this, self = &sender] { sender_loop(self); });
    }
    queue_.push_back(std::move(job));
    work_.notify_one();
}

void WebhookDispatcher::sender_loop(Sender* self) {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait_for(lock, kSenderIdle, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
            // Stopping, or idle for kSenderIdle: end. (No queued job counts on this thread: each
            // queued job has one idle thread, and the queue is empty.)
            --idle_senders_;
            self->done = true;
            return;
        }
        Job job = std::move(queue_.front());
        queue_.pop_front();
        --idle_senders_;
        ++sending_;
        lock.unlock();
        std::optional<DeliveryAttempt> record = attempt(job);
        lock.lock();
        --sending_;
        ++idle_senders_;
        ended_.push_back(Ended{job.subscription.id, std::move(record)});
        woken_ = true;
        changed_.notify_all();
    }
}

std::optional<DeliveryAttempt> WebhookDispatcher::attempt(const Job& job) {
    const WebhookSubscription& s = job.subscription;
    const WebhookDelivery& d = job.delivery;
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
        return record;
    } catch (const std::exception& e) {
        // The claim runs out and the delivery is tried again (by this worker or another).
        spdlog::warn("webhook {} delivery {}: {}", s.id, d.id, e.what());
        return std::nullopt;
    }
}

void WebhookDispatcher::record_ended() {
    std::lock_guard batch_lock(record_mutex_);
    std::vector<Ended> ended;
    {
        std::lock_guard lock(mutex_);
        ended.swap(ended_);
    }
    if (ended.empty()) return;
    std::vector<DeliveryAttempt> records;
    records.reserve(ended.size());
    for (const auto& e : ended)
        if (e.record) records.push_back(*e.record);
    try {
        // One store change for all of them: at a receiver's full speed, dozens per pass.
        if (!records.empty()) store_.record_attempts(records);
        if (metrics_) {
            for (const auto& record : records) {
                const std::string_view outcome = record.outcome == DeliveryStatus::delivered ? "delivered"
                                                 : record.outcome == DeliveryStatus::failed  ? "failed"
                                                                                             : "retry";
                metrics_->attempt(outcome, static_cast<double>(record.latency_ms) / 1000.0);
            }
        }
    } catch (const std::exception& e) {
        // The claims run out and the deliveries are tried again (by this worker or another).
        spdlog::warn("webhook delivery: recording {} attempts: {}", records.size(), e.what());
    }
    std::lock_guard lock(mutex_);
    for (const auto& e : ended) --in_flight_[e.subscription_id];
}

void WebhookDispatcher::reap() {
    std::list<Sender> finished;
    {
        std::lock_guard lock(mutex_);
        for (auto it = senders_.begin(); it != senders_.end();) {
            if (it->done) {
                auto next = std::next(it);
                finished.splice(finished.end(), senders_, it);
                it = next;
            } else {
                ++it;
            }
        }
    }
    for (auto& sender : finished) sender.thread.join();
}

void WebhookDispatcher::wait_idle() {
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return queue_.empty() && sending_ == 0; });
    }
    record_ended();
}

int WebhookDispatcher::in_flight(const std::string& subscription_id) const {
    std::lock_guard lock(mutex_);
    const auto it = in_flight_.find(subscription_id);
    return it == in_flight_.end() ? 0 : it->second;
}

int WebhookDispatcher::delivery_threads() const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& sender : senders_) n += sender.done ? 0 : 1;
    return n;
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
