// The fan-out of outbox events to stream clients and its one reader: see event_fanout.hpp.
#include "http/event_fanout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "runtime/http_text.hpp"

namespace broker {
namespace {

bool type_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

constexpr auto kLogFailuresEvery = std::chrono::minutes(1);

}  // namespace

std::optional<EventFilter> EventFilter::parse(std::string_view types, std::string_view track) {
    EventFilter filter;
    filter.track = std::string(track);
    while (!types.empty()) {
        const auto comma = types.find(',');
        std::string_view item = trim_ows(types.substr(0, comma));
        types = comma == std::string_view::npos ? std::string_view{} : types.substr(comma + 1);
        if (item.ends_with(".*")) item.remove_suffix(1);  // "sandbox.*" is "sandbox."
        if (item.empty() || item == "." || !std::all_of(item.begin(), item.end(), type_character)) {
            return std::nullopt;
        }
        if (item.ends_with('.')) {
            filter.prefixes.emplace_back(item);
        } else {
            filter.types.emplace_back(item);
        }
    }
    return filter;
}

bool EventFilter::matches(const OutboxEvent& event) const {
    if (!track.empty() && event.track != track) return false;
    if (types.empty() && prefixes.empty()) return true;
    if (std::find(types.begin(), types.end(), event.type) != types.end()) return true;
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& prefix) { return event.type.starts_with(prefix); });
}

std::string format_sse_event(const OutboxEvent& event) {
    std::string out;
    out.reserve(event.payload.size() + event.type.size() + 40);
    out += "id: ";
    out += std::to_string(event.id);
    out += "\nevent: ";
    out += event.type;
    out += '\n';
    // A line break in the payload would end the field: each line gets its own `data:`, which
    // the client joins back with '\n' (a JSON payload is normally one line).
    std::string_view rest = event.payload;
    for (;;) {
        const auto eol = rest.find_first_of("\r\n");
        out += "data: ";
        out += rest.substr(0, eol);
        out += '\n';
        if (eol == std::string_view::npos) break;
        const std::size_t skip = rest.compare(eol, 2, "\r\n") == 0 ? 2 : 1;
        rest.remove_prefix(eol + skip);
    }
    out += '\n';
    return out;
}

std::vector<std::shared_ptr<const StreamEvent>> EventFanout::Subscription::take() {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<const StreamEvent>> out(std::make_move_iterator(queue_.begin()),
                                                        std::make_move_iterator(queue_.end()));
    queue_.clear();
    return out;
}

std::optional<std::int64_t> EventFanout::Subscription::start_after() const {
    std::lock_guard lock(mutex_);
    return start_after_;
}

bool EventFanout::Subscription::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

bool EventFanout::Subscription::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::shared_ptr<EventFanout::Subscription> EventFanout::subscribe(EventFilter filter, Notify notify) {
    std::shared_ptr<Subscription> subscription(new Subscription(std::move(filter), std::move(notify)));
    std::lock_guard lock(mutex_);
    if (is_closed()) return nullptr;
    subscription->start_after_ = position_;  // unknown after a quiet spell: set by begin_at()
    subscriptions_.push_back(subscription);
    clients_.store(subscriptions_.size(), std::memory_order_relaxed);
    return subscription;
}

void EventFanout::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
    std::lock_guard lock(mutex_);
    std::erase(subscriptions_, subscription);
    clients_.store(subscriptions_.size(), std::memory_order_relaxed);
}

bool EventFanout::has_clients() {
    std::lock_guard lock(mutex_);
    if (subscriptions_.empty()) position_.reset();
    return !subscriptions_.empty();
}

std::optional<std::int64_t> EventFanout::position() const {
    std::lock_guard lock(mutex_);
    return position_;
}

void EventFanout::begin_at(std::int64_t newest_id) {
    std::vector<std::shared_ptr<Subscription>> told;
    {
        std::lock_guard lock(mutex_);
        if (position_) return;
        position_ = newest_id;
        for (const auto& s : subscriptions_) {
            std::lock_guard sub_lock(s->mutex_);
            if (!s->start_after_) {
                s->start_after_ = newest_id;
                told.push_back(s);
            }
        }
    }
    for (const auto& s : told) s->notify_();
}

void EventFanout::deliver(const std::vector<OutboxEvent>& events) {
    if (events.empty()) return;
    std::vector<std::shared_ptr<const StreamEvent>> formatted(events.size());
    std::vector<std::shared_ptr<Subscription>> told;
    {
        std::lock_guard lock(mutex_);
        for (const auto& s : subscriptions_) {
            bool queued = false;
            std::lock_guard sub_lock(s->mutex_);
            if (s->dropped_ || s->closed_) continue;
            for (std::size_t i = 0; i < events.size(); ++i) {
                if (!s->filter_.matches(events[i])) continue;
                if (s->queue_.size() >= queue_max_) {
                    // A reader this far behind is let go, not buffered for: it comes back
                    // with the id of the last event it read and catches up from the outbox.
                    s->dropped_ = true;
                    s->queue_.clear();
                    dropped_total_.fetch_add(1, std::memory_order_relaxed);
                    break;
                }
                if (!formatted[i]) {
                    formatted[i] = std::make_shared<const StreamEvent>(
                        StreamEvent{events[i].id, format_sse_event(events[i])});
                }
                s->queue_.push_back(formatted[i]);
                queued = true;
            }
            if (queued || s->dropped_) told.push_back(s);
        }
        position_ = events.back().id;
    }
    for (const auto& s : told) s->notify_();
}

void EventFanout::close() {
    std::vector<std::shared_ptr<Subscription>> told;
    {
        std::lock_guard lock(mutex_);
        closed_.store(true, std::memory_order_release);
        for (const auto& s : subscriptions_) {
            std::lock_guard sub_lock(s->mutex_);
            s->closed_ = true;
        }
        told = subscriptions_;
    }
    for (const auto& s : told) s->notify_();
}

EventPoller::EventPoller(EventStore& store, EventFanout& fanout, std::chrono::milliseconds interval)
    : store_(store), fanout_(fanout), interval_(interval), thread_([this] { run(); }) {}

EventPoller::~EventPoller() {
    stop();
}

void EventPoller::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    cv_.notify_one();
}

void EventPoller::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void EventPoller::poll_once() {
    if (!fanout_.has_clients()) return;
    try {
        if (!fanout_.position()) fanout_.begin_at(store_.last_event_id());
        for (;;) {
            const auto after = fanout_.position();
            if (!after) return;  // every client left meanwhile
            const auto events = store_.read_events(*after, kBatch);
            fanout_.deliver(events);
            if (static_cast<int>(events.size()) < kBatch) return;
        }
    } catch (const std::exception& e) {
        const auto now = std::chrono::steady_clock::now();
        if (now - failure_logged_ >= kLogFailuresEvery) {
            spdlog::warn("event stream: reading the outbox failed, retrying every {} ms: {}",
                         interval_.count(), e.what());
            failure_logged_ = now;
        }
    }
}

void EventPoller::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        cv_.wait_for(lock, interval_, [this] { return stopping_ || woken_; });
        if (stopping_) return;
        woken_ = false;
        lock.unlock();
        poll_once();
        lock.lock();
    }
}

}  // namespace broker
