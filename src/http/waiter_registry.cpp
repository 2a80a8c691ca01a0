#include "http/waiter_registry.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace broker {

struct WaiterRegistry::Place {
    std::string prefix;
    std::string key;
    std::vector<Ticket*> tickets;  // the requests sharing this place, first one first
};

struct WaiterRegistry::Ticket {
    std::shared_ptr<Place> place;
    Wake wake;
    bool woken = false;  // guarded by the registry's mutex
    bool left = false;
};

namespace {

std::string key_of(const std::string& prefix, const std::string& participant, const std::string& key) {
    std::string k;
    k.reserve(prefix.size() + participant.size() + key.size() + 2);
    // NUL cannot occur in the header values these come from, so the parts never run together.
    k.append(prefix).push_back('\0');
    k.append(participant).push_back('\0');
    k.append(key);
    return k;
}

void call_all(const std::vector<WaiterRegistry::Wake>& wakes) {
    for (const auto& wake : wakes) {
        if (wake) wake();
    }
}

}  // namespace

std::shared_ptr<WaiterRegistry::Ticket> WaiterRegistry::enter(const std::string& prefix,
                                                              const std::string& participant,
                                                              const std::string& key, Wake wake) {
    std::lock_guard lock(mutex_);
    if (closed() || size_.load(std::memory_order_relaxed) >= max_waiters_) return nullptr;
    auto ticket = std::make_shared<Ticket>();
    ticket->wake = std::move(wake);
    std::string k = key_of(prefix, participant, key);
    auto found = by_key_.find(k);
    if (found == by_key_.end()) {
        auto place = std::make_shared<Place>();
        place->prefix = prefix;
        place->key = k;
        queues_[prefix].push_back(place);
        found = by_key_.emplace(std::move(k), std::move(place)).first;
    }
    ticket->place = found->second;
    ticket->place->tickets.push_back(ticket.get());
    size_.fetch_add(1, std::memory_order_relaxed);
    return ticket;
}

void WaiterRegistry::leave(const std::shared_ptr<Ticket>& ticket, bool served) {
    std::vector<Wake> wakes;
    {
        std::lock_guard lock(mutex_);
        if (!ticket || ticket->left) return;
        ticket->left = true;
        size_.fetch_sub(1, std::memory_order_relaxed);
        Place& place = *ticket->place;
        std::erase(place.tickets, ticket.get());
        // A shared place stays while one of its requests still waits; when the served one
        // leaves, the others are woken to take the same answer (the store's idempotency).
        if (!place.tickets.empty()) {
            if (served) wake_place(place, wakes);
        } else {
            by_key_.erase(place.key);
            const auto q = queues_.find(place.prefix);
            if (q != queues_.end()) {
                Queue& queue = q->second;
                const bool was_head = !queue.empty() && queue.front() == ticket->place;
                std::erase(queue, ticket->place);
                if (queue.empty()) {
                    queues_.erase(q);
                } else if (served && was_head) {
                    wake_place(*queue.front(), wakes);
                }
            }
        }
    }
    call_all(wakes);
}

bool WaiterRegistry::at_head(const std::shared_ptr<Ticket>& ticket) const {
    std::lock_guard lock(mutex_);
    const auto q = queues_.find(ticket->place->prefix);
    return q != queues_.end() && !q->second.empty() && q->second.front() == ticket->place;
}

bool WaiterRegistry::take_wake(const std::shared_ptr<Ticket>& ticket) {
    std::lock_guard lock(mutex_);
    return std::exchange(ticket->woken, false);
}

void WaiterRegistry::wake_place(const Place& place, std::vector<Wake>& out) const {
    for (Ticket* t : place.tickets) {
        t->woken = true;
        out.push_back(t->wake);
    }
}

void WaiterRegistry::wake_heads() {
    std::vector<Wake> wakes;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [prefix, queue] : queues_) {
            if (!queue.empty()) wake_place(*queue.front(), wakes);
        }
    }
    call_all(wakes);
}

void WaiterRegistry::nudge_all() {
    std::vector<Wake> wakes;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [prefix, queue] : queues_) {
            for (const auto& place : queue) {
                for (const Ticket* t : place->tickets) wakes.push_back(t->wake);
            }
        }
    }
    call_all(wakes);
}

void WaiterRegistry::close() {
    std::vector<Wake> wakes;
    {
        std::lock_guard lock(mutex_);
        closed_.store(true, std::memory_order_release);
        for (const auto& [prefix, queue] : queues_) {
            for (const auto& place : queue) wake_place(*place, wakes);
        }
    }
    call_all(wakes);
}

std::size_t WaiterRegistry::places() const {
    std::lock_guard lock(mutex_);
    return by_key_.size();
}

}  // namespace broker
