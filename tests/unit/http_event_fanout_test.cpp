// EventFanout and EventPoller: filters, the SSE framing, every client getting each event it
// takes once and in order, a full queue dropping its client (and only it), the reader starting
// at the newest event after a quiet spell and reading nothing while nobody listens, close().
// The outbox is an in-memory EventStore (the poller's collaborator).
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "http/event_fanout.hpp"
#include "unit/support/memory_outbox.hpp"

namespace broker {
namespace {

OutboxEvent event(std::int64_t id, std::string type, std::string track = "") {
    return testing::outbox_event(id, std::move(type), std::move(track));
}

std::vector<std::int64_t> ids(const std::vector<std::shared_ptr<const StreamEvent>>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) out.push_back(e->id);
    return out;
}

using testing::MemoryOutbox;

TEST(EventFilter, TypesPrefixesAndTrack) {
    const auto all = EventFilter::parse("", "");
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->matches(event(1, "pool.low")));

    const auto some = EventFilter::parse("sandbox.,pool.low", "");
    ASSERT_TRUE(some);
    EXPECT_TRUE(some->matches(event(1, "sandbox.allocated")));
    EXPECT_TRUE(some->matches(event(1, "pool.low")));
    EXPECT_FALSE(some->matches(event(1, "pool.recovered")));
    EXPECT_FALSE(some->matches(event(1, "job.failed")));

    const auto star = EventFilter::parse("sandbox.*", "");
    ASSERT_TRUE(star);
    EXPECT_TRUE(star->matches(event(1, "sandbox.deleted")));
    EXPECT_FALSE(star->matches(event(1, "sandboxes.x")));

    // Spaces and tabs around an item are HTTP's optional whitespace; inside one, refused.
    const auto spaced = EventFilter::parse(" sandbox.allocated ,\tpool.low\t", "");
    ASSERT_TRUE(spaced);
    EXPECT_TRUE(spaced->matches(event(1, "sandbox.allocated")));
    EXPECT_TRUE(spaced->matches(event(1, "pool.low")));
    EXPECT_FALSE(EventFilter::parse("sandbox. allocated", ""));
    EXPECT_FALSE(EventFilter::parse("pool.low,\n", ""));

    const auto track = EventFilter::parse("", "lab-a");
    ASSERT_TRUE(track);
    EXPECT_TRUE(track->matches(event(1, "sandbox.allocated", "lab-a")));
    EXPECT_FALSE(track->matches(event(1, "sandbox.allocated", "lab-b")));
    EXPECT_FALSE(track->matches(event(1, "pool.low")));  // no track: not the track's

    EXPECT_FALSE(EventFilter::parse("sandbox.allocated,,pool.low", ""));
    EXPECT_FALSE(EventFilter::parse("a b", ""));
    EXPECT_FALSE(EventFilter::parse(".", ""));
    EXPECT_FALSE(EventFilter::parse("x\ny", ""));
}

TEST(EventFanout, FormatsServerSentEventsWithOneDataLinePerPayloadLine) {
    OutboxEvent e = event(42, "sandbox.allocated");
    e.payload = R"({"id":42})";
    EXPECT_EQ(format_sse_event(e), "id: 42\nevent: sandbox.allocated\ndata: {\"id\":42}\n\n");
    e.payload = "a\nb\r\nc";
    EXPECT_EQ(format_sse_event(e), "id: 42\nevent: sandbox.allocated\ndata: a\ndata: b\ndata: c\n\n");
}

TEST(EventFanout, EveryClientGetsWhatItsFilterTakesOnceInOrder) {
    EventFanout fanout(100);
    int notified_a = 0, notified_b = 0;
    fanout.begin_at(10);
    const auto a = fanout.subscribe(*EventFilter::parse("", ""), [&] { ++notified_a; });
    const auto b = fanout.subscribe(*EventFilter::parse("pool.", ""), [&] { ++notified_b; });
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->start_after(), 10);
    EXPECT_EQ(fanout.clients(), 2u);

    fanout.deliver({event(11, "sandbox.allocated"), event(12, "pool.low"), event(13, "sandbox.returned")});
    EXPECT_EQ(fanout.position(), 13);
    EXPECT_EQ(notified_a, 1);
    EXPECT_EQ(notified_b, 1);
    const auto got_a = a->take();
    EXPECT_EQ(ids(got_a), (std::vector<std::int64_t>{11, 12, 13}));
    EXPECT_EQ(ids(b->take()), (std::vector<std::int64_t>{12}));
    EXPECT_TRUE(a->take().empty());  // taken once

    fanout.deliver({event(14, "sandbox.deleted")});
    EXPECT_EQ(notified_b, 1);  // nothing for b: not told
    // A client joining now starts after the last delivered event.
    const auto c = fanout.subscribe(*EventFilter::parse("", ""), [] {});
    EXPECT_EQ(c->start_after(), 14);
    fanout.unsubscribe(b);
    EXPECT_EQ(fanout.clients(), 2u);
}

TEST(EventFanout, AFullQueueDropsItsClientOnly) {
    EventFanout fanout(3);
    fanout.begin_at(0);
    int slow_told = 0;
    const auto slow = fanout.subscribe(*EventFilter::parse("", ""), [&] { ++slow_told; });
    const auto quick = fanout.subscribe(*EventFilter::parse("", ""), [] {});
    fanout.deliver({event(1, "x"), event(2, "x")});
    EXPECT_EQ(quick->take().size(), 2u);
    fanout.deliver({event(3, "x")});
    EXPECT_FALSE(slow->dropped());
    EXPECT_EQ(quick->take().size(), 1u);
    fanout.deliver({event(4, "x")});  // slow already holds 3
    EXPECT_TRUE(slow->dropped());
    EXPECT_FALSE(quick->dropped());
    EXPECT_TRUE(slow->take().empty());  // its queue was let go
    EXPECT_EQ(slow_told, 3);
    EXPECT_EQ(fanout.dropped_total(), 1u);
    fanout.deliver({event(5, "x")});
    EXPECT_EQ(fanout.dropped_total(), 1u);  // counted once
    EXPECT_EQ(ids(quick->take()), (std::vector<std::int64_t>{4, 5}));
}

TEST(EventFanout, CloseTellsEveryClientAndRefusesNewOnes) {
    EventFanout fanout(10);
    int told = 0;
    const auto a = fanout.subscribe(*EventFilter::parse("", ""), [&] { ++told; });
    fanout.close();
    EXPECT_TRUE(a->closed());
    EXPECT_EQ(told, 1);
    EXPECT_EQ(fanout.subscribe(*EventFilter::parse("", ""), [] {}), nullptr);
}

TEST(EventPoller, ReadsNothingWhileNobodyListensAndStartsAtTheNewest) {
    MemoryOutbox outbox;
    for (int i = 0; i < 3; ++i) outbox.add("sandbox.allocated");
    EventFanout fanout(100);
    // A long interval: the test drives the rounds itself.
    EventPoller poller(outbox, fanout, std::chrono::hours(1));
    poller.poll_once();
    EXPECT_EQ(outbox.reads(), 0);

    int told = 0;
    const auto a = fanout.subscribe(*EventFilter::parse("", ""), [&] { ++told; });
    EXPECT_FALSE(a->start_after());  // after a quiet spell, the reader's place is read afresh
    poller.poll_once();
    EXPECT_EQ(a->start_after(), 3);
    EXPECT_EQ(told, 1);
    EXPECT_TRUE(a->take().empty());  // the old events are not live ones

    outbox.add("pool.low");
    outbox.add("sandbox.returned");
    poller.poll_once();
    EXPECT_EQ(ids(a->take()), (std::vector<std::int64_t>{4, 5}));

    fanout.unsubscribe(a);
    const int reads = outbox.reads();
    poller.poll_once();
    EXPECT_EQ(outbox.reads(), reads);
    EXPECT_FALSE(fanout.position());  // forgotten: the next client starts at the newest again
}

TEST(EventPoller, ReadsABacklogInBatchesAndAWakeReadsAtOnce) {
    MemoryOutbox outbox;
    EventFanout fanout(10'000);
    EventPoller poller(outbox, fanout, std::chrono::hours(1));
    const auto a = fanout.subscribe(*EventFilter::parse("", ""), [] {});
    poller.poll_once();
    ASSERT_EQ(a->start_after(), 0);
    for (int i = 0; i < 1200; ++i) outbox.add("sandbox.allocated");
    poller.poll_once();
    const auto got = a->take();
    ASSERT_EQ(got.size(), 1200u);
    EXPECT_EQ(got.front()->id, 1);
    EXPECT_EQ(got.back()->id, 1200);

    // The thread itself: a wake reads now, not at the next (hour-long) tick.
    std::mutex m;
    std::condition_variable cv;
    bool told = false;
    const auto b = fanout.subscribe(*EventFilter::parse("", ""), [&] {
        std::lock_guard lock(m);
        told = true;
        cv.notify_all();
    });
    outbox.add("pool.low");
    poller.wake();
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return told; }));
    lock.unlock();
    EXPECT_EQ(ids(b->take()), (std::vector<std::int64_t>{1201}));
    poller.stop();
}

}  // namespace
}  // namespace broker
