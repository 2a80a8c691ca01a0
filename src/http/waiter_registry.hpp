// The queues of allocations waiting for a sandbox (`Prefer: wait=N`): one first-come,
// first-served queue per queue name (the allocation handler's: name prefix and track), a bound on the waiting
// requests, and wake-ups. Only a queue's oldest waiter (its head) goes back to the store
// when woken; when it is served it passes the turn to the next one, so sandboxes that appear
// go to the waiters in the order they came, and a wake-up costs one store call per queue,
// not one per waiter. A repeat of a waiting request (same participant, idempotency key and
// prefix) shares the first one's place instead of taking a second one.
//
// The registry holds no thread and no timer: each waiter brings a `wake` callback (the HTTP
// handler's cancels the Asio timer its coroutine waits on), called outside the registry's lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace broker {

class WaiterRegistry {
  public:
    using Wake = std::function<void()>;

    // One waiting request. Opaque to callers; hand it back to the registry's methods.
    struct Ticket;

    // `max_waiters`: waiting requests at most (ALLOCATE_MAX_WAITERS); beyond, enter() refuses.
    explicit WaiterRegistry(std::size_t max_waiters) : max_waiters_(max_waiters) {}

    // Queues a request behind the prefix's waiters, or beside its own earlier request with the
    // same participant and key. Null when the registry is full or closed.
    std::shared_ptr<Ticket> enter(const std::string& prefix, const std::string& participant,
                                  const std::string& key, Wake wake);

    // Leaves the queue (served, timed out or gone). `served`: a sandbox was found, so more may
    // be there: the next waiter of the queue is woken to try.
    void leave(const std::shared_ptr<Ticket>& ticket, bool served);

    // Whether the ticket's place is the oldest of its queue (only the head tries the store).
    bool at_head(const std::shared_ptr<Ticket>& ticket) const;

    // Whether the ticket was woken since it last asked; asking clears it. A wake that came
    // while the waiter was busy (at the store) is not lost.
    bool take_wake(const std::shared_ptr<Ticket>& ticket);

    // Something may have become available: wakes the head of every queue.
    void wake_heads();

    // The test clock moved: every waiter's wake is called so it looks at its deadline again;
    // none is marked woken (no store call follows).
    void nudge_all();

    // Shutting down: wakes every waiter and refuses new ones.
    void close();
    bool closed() const { return closed_.load(std::memory_order_acquire); }

    // Waiting requests right now (broker_allocate_waiters); one atomic load.
    std::size_t size() const { return size_.load(std::memory_order_relaxed); }
    // Places in the queues (a joined repeat shares one).
    std::size_t places() const;
    std::size_t max_waiters() const { return max_waiters_; }

  private:
    struct Place;
    using Queue = std::list<std::shared_ptr<Place>>;

    void wake_place(const Place& place, std::vector<Wake>& out) const;

    const std::size_t max_waiters_;
    mutable std::mutex mutex_;
    std::map<std::string, Queue, std::less<>> queues_;                // by prefix
    std::unordered_map<std::string, std::shared_ptr<Place>> by_key_;  // prefix, participant, key
    std::atomic<std::size_t> size_{0};
    std::atomic<bool> closed_{false};
};

}  // namespace broker
