// GET /v1/admin/events over a real socket and the real server, pipeline and authentication,
// with the outbox an in-memory EventStore: resuming with Last-Event-ID (missed events, then
// live ones, none twice), starting at the newest without it, the filters, keep-alive lines,
// a client that stops reading dropped (and counted) while another keeps its stream, the
// stream ending cleanly at shutdown, and the 4xx answers.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/sse_client.hpp"
#include "http/event_fanout.hpp"
#include "http/handlers/event_stream_handlers.hpp"
#include "http/server.hpp"
#include "runtime/blocking_pool.hpp"
#include "unit/support/memory_outbox.hpp"

namespace broker {
namespace {

using namespace std::chrono_literals;
using testing::MemoryOutbox;
using testing_sse::SseStream;

const SseStream::HeaderList kAdmin = {{"Authorization", "Bearer adm"}};

std::vector<std::string> ids(const std::vector<testing_sse::SseEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
}

class EventStreamTest : public ::testing::Test {
  protected:
    void start(std::size_t queue_max = 1000, std::chrono::seconds keepalive = 60s) {
        fanout = std::make_unique<EventFanout>(queue_max);
        poller = std::make_unique<EventPoller>(outbox, *fanout, 20ms);
        handlers = std::make_unique<EventStreamHandlers>(&outbox, fanout.get(), pool, keepalive,
                                                         [this] { poller->wake(); });
        handlers->add_routes(router, "/v1");
        ServerOptions options;
        options.shutdown_grace = 3s;
        server = std::make_unique<HttpServer>(options, pipeline);
        port = server->start({asio::ip::make_address("127.0.0.1"), 0}).port();
    }

    void TearDown() override {
        if (fanout) fanout->close();
        if (poller) poller->stop();
        if (server) server->stop();
    }

    std::unique_ptr<SseStream> open(const std::string& target, SseStream::HeaderList headers = kAdmin) {
        auto stream = std::make_unique<SseStream>(port, target, headers);
        return stream;
    }

    MemoryOutbox outbox;
    BlockingPool pool{2, 16};
    Router router;
    Authenticator auth{"api", "adm"};
    Pipeline pipeline{router, auth};
    std::unique_ptr<EventFanout> fanout;
    std::unique_ptr<EventPoller> poller;
    std::unique_ptr<EventStreamHandlers> handlers;
    std::unique_ptr<HttpServer> server;
    unsigned short port = 0;
};

TEST_F(EventStreamTest, ResumesWithLastEventIdThenGoesLiveWithoutRepeats) {
    for (int i = 0; i < 5; ++i) outbox.add("sandbox.allocated");
    start();
    auto s = open("/v1/admin/events", {{"Authorization", "Bearer adm"}, {"Last-Event-ID", "2"}});
    ASSERT_EQ(s->status(), 200);
    EXPECT_NE(s->head_lower().find("content-type: text/event-stream"), std::string::npos);
    EXPECT_NE(s->head_lower().find("cache-control: no-store"), std::string::npos);
    ASSERT_TRUE(s->wait_for_events(3, 5s)) << s->body();
    EXPECT_EQ(s->body().rfind("retry: ", 0), 0u);  // the reconnection delay comes first
    outbox.add("pool.low");
    outbox.add("sandbox.returned");
    ASSERT_TRUE(s->wait_for_events(5, 5s)) << s->body();
    const auto events = s->events();
    EXPECT_EQ(ids(events), (std::vector<std::string>{"3", "4", "5", "6", "7"}));
    EXPECT_EQ(events[3].type, "pool.low");
    EXPECT_EQ(events[3].data, R"({"id":6,"type":"pool.low"})");
    EXPECT_EQ(fanout->clients(), 1u);
}

TEST_F(EventStreamTest, ResumesFromTheQueryParameterAndCatchesUpABacklogLongerThanAPage) {
    for (int i = 0; i < 450; ++i) outbox.add("sandbox.allocated");
    start();
    auto s = open("/v1/admin/events?last_event_id=10");
    ASSERT_TRUE(s->wait_for_events(440, 10s)) << s->events().size();
    outbox.add("sandbox.deleted");
    ASSERT_TRUE(s->wait_for_events(441, 5s));
    const auto events = s->events();
    for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].id, std::to_string(11 + i));
}

TEST_F(EventStreamTest, WithoutAnIdStartsAtTheNewestEvent) {
    for (int i = 0; i < 3; ++i) outbox.add("sandbox.allocated");
    start();
    auto s = open("/v1/admin/events");
    // The first bytes say the stream has its place; what comes after is live.
    ASSERT_TRUE(s->wait_for_text("retry: ", 5s));
    outbox.add("sandbox.returned");
    ASSERT_TRUE(s->wait_for_events(1, 5s));
    EXPECT_EQ(ids(s->events()), (std::vector<std::string>{"4"}));
}

TEST_F(EventStreamTest, FiltersByTypePrefixAndTrack) {
    start();
    auto pools = open("/v1/admin/events?type=pool.,job.failed");
    auto lab = open("/v1/admin/events?track=lab-a");
    ASSERT_TRUE(pools->wait_for_text("retry: ", 5s));
    ASSERT_TRUE(lab->wait_for_text("retry: ", 5s));
    outbox.add("sandbox.allocated", "lab-a");  // 1
    outbox.add("pool.low");                    // 2
    outbox.add("sandbox.allocated", "lab-b");  // 3
    outbox.add("job.failed");                  // 4
    outbox.add("sandbox.returned", "lab-a");   // 5
    ASSERT_TRUE(pools->wait_for_events(2, 5s));
    ASSERT_TRUE(lab->wait_for_events(2, 5s));
    EXPECT_EQ(ids(pools->events()), (std::vector<std::string>{"2", "4"}));
    EXPECT_EQ(ids(lab->events()), (std::vector<std::string>{"1", "5"}));
}

TEST_F(EventStreamTest, AQuietStreamGetsKeepAliveLines) {
    start(1000, 1s);
    auto s = open("/v1/admin/events");
    ASSERT_TRUE(s->wait_until([&] { return s->comments("keep-alive") >= 1; }, 5s)) << s->body();
    EXPECT_TRUE(s->events().empty());
}

TEST_F(EventStreamTest, AClientThatStopsReadingIsDroppedWhileOneThatReadsKeepsItsStream) {
    start(/*queue_max=*/256);
    auto slow = open("/v1/admin/events");
    auto quick = open("/v1/admin/events");
    ASSERT_TRUE(slow->wait_for_text("retry: ", 5s));
    ASSERT_TRUE(quick->wait_for_text("retry: ", 5s));
    // Both get the same events, a few at a time (fewer than a queue holds). The quick client
    // reads them as they come; the slow one reads nothing more: once the socket buffers are
    // full its writes stall, its queue fills, and it is let go instead of buffered for.
    bool quick_saw_end_marker = false;
    std::thread reader([&] { quick_saw_end_marker = quick->wait_for_text("event: pool.low", 60s); });
    int added = 0;
    while (fanout->dropped_total() == 0 && added < 3000) {  // bounded: 48 MB at most
        for (int i = 0; i < 4; ++i, ++added) outbox.add("sandbox.allocated", "", 16 * 1024);
        std::this_thread::sleep_for(10ms);
    }
    outbox.add("pool.low");
    reader.join();
    EXPECT_EQ(fanout->dropped_total(), 1u) << added << " events added";
    ASSERT_TRUE(quick_saw_end_marker);
    EXPECT_FALSE(quick->ended());
    EXPECT_EQ(quick->events().size(), static_cast<std::size_t>(added) + 1);  // every one, none lost
    // Reading again, the slow client gets what was written to it, then the stream's end.
    ASSERT_TRUE(slow->wait_for_end(30s));
    EXPECT_LT(slow->events().size(), static_cast<std::size_t>(added));
    EXPECT_TRUE(slow->wait_until([&] { return fanout->clients() == 1; }, 5s));
}

TEST_F(EventStreamTest, EndsCleanlyAtShutdown) {
    start();
    auto s = open("/v1/admin/events");
    ASSERT_TRUE(s->wait_for_text("retry: ", 5s));
    fanout->close();
    ASSERT_TRUE(s->wait_for_end(5s));
    EXPECT_EQ(s->status(), 200);
}

TEST_F(EventStreamTest, RefusesWithoutTheRightTokenAndMalformedParameters) {
    start();
    EXPECT_EQ(open("/v1/admin/events", {})->status(), 401);
    EXPECT_EQ(open("/v1/admin/events", {{"Authorization", "Bearer api"}})->status(), 403);
    EXPECT_EQ(open("/v1/admin/events", {{"Authorization", "Bearer adm"}, {"Last-Event-ID", "x1"}})->status(),
              400);
    EXPECT_EQ(open("/v1/admin/events?last_event_id=-1")->status(), 400);
    EXPECT_EQ(open("/v1/admin/events?type=a%20b")->status(), 400);
    EXPECT_EQ(fanout->clients(), 0u);
}

}  // namespace
}  // namespace broker
