// The live event stream against the real binary on its SQLite store: a client that resumes
// with Last-Event-ID gets every event it missed, then live ones within a second of the change;
// the type and track filters; the viewer may read it and a participant may not; keep-alive
// lines on a quiet stream; a client further behind than its queue is dropped (and counted)
// and loses nothing when it resumes; the stream ends cleanly when the broker stops.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/broker_fixture.hpp"
#include "e2e/sse_client.hpp"

namespace broker::e2e {
namespace {

using namespace std::chrono_literals;
using testing_sse::SseEvent;
using testing_sse::SseStream;

const std::string kViewerToken = "e2e-viewer-token-5555555555";

Environment stream_env() {
    Environment env = serving_env();
    env["BROKER_VIEWER_TOKEN"] = kViewerToken;
    return env;
}

SseStream::HeaderList admin(const std::string& last_event_id = "") {
    SseStream::HeaderList headers{{"Authorization", "Bearer " + kAdminToken}};
    if (!last_event_id.empty()) headers.emplace_back("Last-Event-ID", last_event_id);
    return headers;
}

std::unique_ptr<SseStream> open_stream(const BrokerInstance& broker, const std::string& target,
                                       const SseStream::HeaderList& headers) {
    return std::make_unique<SseStream>(broker.process().port(), target, headers);
}

std::vector<std::string> types(const std::vector<SseEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
}

std::string allocated_id(const HttpResponse& res) {
    EXPECT_EQ(res.status, 201) << res.body;
    return res.json.value("sandbox_id", "");
}

TEST(EventStream, AResumedClientGetsEveryMissedEventThenLiveOnesWithinASecond) {
    BrokerInstance broker(sandboxes("sse-resume-", 10, 710000), stream_env());
    auto http = broker.client();
    const std::string p1 = unique_participant("sse"), p2 = unique_participant("sse"),
                      p3 = unique_participant("sse"), p4 = unique_participant("sse");
    const std::string first = allocated_id(allocate(http, p1));

    // From the beginning of the outbox: the import's events, then the allocation.
    auto stream = open_stream(broker, "/v1/admin/events?last_event_id=0", admin());
    ASSERT_EQ(stream->status(), 200);
    ASSERT_TRUE(stream->wait_until(
        [&] {
            const auto events = stream->events();
            return !events.empty() && events.back().type == "sandbox.allocated";
        },
        5s))
        << stream->body();
    const SseEvent seen = stream->events().back();
    const auto payload = nlohmann::json::parse(seen.data);
    EXPECT_EQ(payload["type"], "sandbox.allocated");
    EXPECT_EQ(std::to_string(payload["id"].get<std::int64_t>()), seen.id);
    EXPECT_NE(seen.data.find(first), std::string::npos) << seen.data;
    stream->close();

    // Missed while away: two allocations and a return.
    const std::string second = allocated_id(allocate(http, p2));
    allocated_id(allocate(http, p3));
    ASSERT_EQ(mark_for_deletion(http, first, p1).status, 200);

    auto resumed = open_stream(broker, "/v1/admin/events", admin(seen.id));
    ASSERT_TRUE(resumed->wait_for_events(3, 5s)) << resumed->body();
    auto events = resumed->events();
    EXPECT_EQ(types(events),
              (std::vector<std::string>{"sandbox.allocated", "sandbox.allocated", "sandbox.returned"}));
    EXPECT_GT(std::stoll(events[0].id), std::stoll(seen.id));
    EXPECT_NE(events[0].data.find(second), std::string::npos);
    EXPECT_NE(events[2].data.find(first), std::string::npos);

    // Then live: the change's event arrives within a second of its answer.
    const std::string fourth = allocated_id(allocate(http, p4));
    ASSERT_TRUE(resumed->wait_for_events(4, 1s)) << resumed->body();
    events = resumed->events();
    EXPECT_EQ(events.size(), 4u);  // nothing twice
    EXPECT_EQ(events[3].type, "sandbox.allocated");
    EXPECT_NE(events[3].data.find(fourth), std::string::npos);
}

TEST(EventStream, FiltersByTypeAndTrack) {
    BrokerInstance broker(sandboxes("sse-filter-", 6, 720000), stream_env());
    auto http = broker.client();
    auto returns = open_stream(broker, "/v1/admin/events?type=sandbox.returned,pool.", admin());
    auto lab_a = open_stream(broker, "/v1/admin/events?track=lab-a", admin());
    auto every_sandbox = open_stream(broker, "/v1/admin/events?type=sandbox.", admin());
    ASSERT_TRUE(returns->wait_for_text("retry: ", 5s));
    ASSERT_TRUE(lab_a->wait_for_text("retry: ", 5s));
    ASSERT_TRUE(every_sandbox->wait_for_text("retry: ", 5s));

    const std::string pa = unique_participant("sse-a"), pb = unique_participant("sse-b");
    const std::string in_a = allocated_id(allocate(http, pa, {{"X-Instruqt-Track-ID", "lab-a"}}));
    const std::string in_b = allocated_id(allocate(http, pb, {{"X-Instruqt-Track-ID", "lab-b"}}));
    ASSERT_EQ(mark_for_deletion(http, in_b, pb).status, 200);
    ASSERT_EQ(mark_for_deletion(http, in_a, pa).status, 200);

    ASSERT_TRUE(every_sandbox->wait_for_events(4, 5s)) << every_sandbox->body();
    // The pool sample may also have seen the pool run low meanwhile (a pool.low the filter lets
    // through, or not: the sample runs on the machine's time); nothing else gets through.
    const auto sandbox_events = [&] {
        std::vector<std::string> out;
        for (const auto& type : types(returns->events())) {
            if (type.rfind("pool.", 0) != 0) out.push_back(type);
        }
        return out;
    };
    ASSERT_TRUE(returns->wait_until([&] { return sandbox_events().size() >= 2; }, 5s)) << returns->body();
    ASSERT_TRUE(lab_a->wait_for_events(2, 5s)) << lab_a->body();
    EXPECT_EQ(sandbox_events(), (std::vector<std::string>{"sandbox.returned", "sandbox.returned"}))
        << returns->body();
    EXPECT_EQ(types(lab_a->events()), (std::vector<std::string>{"sandbox.allocated", "sandbox.returned"}));
    for (const auto& e : lab_a->events()) EXPECT_NE(e.data.find(in_a), std::string::npos);
    EXPECT_EQ(every_sandbox->events().size(), 4u);

    EXPECT_EQ(open_stream(broker, "/v1/admin/events?type=a%20b", admin())->status(), 400);
    EXPECT_EQ(open_stream(broker, "/v1/admin/events", admin("12x"))->status(), 400);
}

TEST(EventStream, TheViewerMayReadItAndAParticipantMayNot) {
    BrokerInstance broker(sandboxes("sse-roles-", 2, 730000), stream_env());
    auto viewer = open_stream(broker, "/v1/admin/events", {{"Authorization", "Bearer " + kViewerToken}});
    EXPECT_EQ(viewer->status(), 200);
    EXPECT_NE(viewer->head_lower().find("content-type: text/event-stream"), std::string::npos);
    auto http = broker.client();
    EXPECT_EQ(metric_sample(http.get("/metrics").body, "broker_event_stream_clients"), 1);
    EXPECT_EQ(open_stream(broker, "/v1/admin/events", {{"Authorization", "Bearer " + kApiToken}})->status(),
              403);
    EXPECT_EQ(open_stream(broker, "/v1/admin/events", {})->status(), 401);
}

TEST(EventStream, AQuietStreamGetsKeepAliveLinesAndEndsCleanlyWhenTheBrokerStops) {
    Environment env = stream_env();
    env["EVENTS_KEEPALIVE_SEC"] = "1";
    env["POOL_LOW_WATERMARK"] = "0";  // two sandboxes would be a low pool: a pool.low event, not quiet
    BrokerInstance broker(sandboxes("sse-quiet-", 2, 740000), env);
    auto stream = open_stream(broker, "/v1/admin/events", admin());
    ASSERT_TRUE(stream->wait_until([&] { return stream->comments("keep-alive") >= 2; }, 5s))
        << stream->body();
    EXPECT_TRUE(stream->events().empty());
    EXPECT_FALSE(stream->ended());
    EXPECT_EQ(broker.stop(), 0);
    EXPECT_TRUE(stream->wait_for_end(5s));
}

TEST(EventStream, AClientFurtherBehindThanItsQueueIsDroppedAndLosesNothingWhenItResumes) {
    Environment env = stream_env();
    env["EVENTS_CLIENT_QUEUE_MAX"] = "10";
    constexpr int kAllocations = 200;
    BrokerInstance broker(sandboxes("sse-slow-", kAllocations, 750000), env);
    auto http = broker.client();
    auto stream = open_stream(broker, "/v1/admin/events?type=sandbox.allocated", admin());
    ASSERT_TRUE(stream->wait_for_text("retry: ", 5s));

    // Allocations 50 at once, while the client reads nothing: far more events than its queue
    // of 10 holds reach it between two of its reads.
    for (int round = 0; round < kAllocations / 50; ++round) {
        const auto result = burst(broker, 50, [](HttpClient& client, int) {
            return allocate(client, unique_participant("sse-slow"));
        });
        for (const auto& res : result.responses) ASSERT_EQ(res.status, 201) << res.body;
    }
    double dropped = -1;
    for (int i = 0; i < 50 && dropped < 1; ++i) {
        dropped = metric_sample(http.get("/metrics").body, "broker_event_stream_dropped_total");
        if (dropped < 1) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(dropped, 1);

    // Reading again: what was written to it before the drop, then the stream's end.
    ASSERT_TRUE(stream->wait_for_end(10s));
    const auto before = stream->events();
    ASSERT_LT(before.size(), static_cast<std::size_t>(kAllocations));
    // It resumes from the last event it got (the first allocation's predecessor when none
    // came: every event of this test is an allocation, after the import's events).
    std::string resume_from = before.empty() ? "" : before.back().id;
    if (resume_from.empty()) {
        auto everything =
            open_stream(broker, "/v1/admin/events?last_event_id=0&type=sandbox.synced", admin());
        ASSERT_TRUE(everything->wait_for_events(kAllocations, 10s));
        resume_from = everything->events().back().id;
    }
    auto resumed = open_stream(broker, "/v1/admin/events?type=sandbox.allocated", admin(resume_from));
    const std::size_t missing = kAllocations - before.size();
    ASSERT_TRUE(resumed->wait_for_events(missing, 10s)) << resumed->events().size() << " of " << missing;
    const auto after = resumed->events();
    std::set<std::string> sandbox_ids;
    for (const auto* events : {&before, &after}) {
        for (const auto& e : *events)
            sandbox_ids.insert(nlohmann::json::parse(e.data)["data"].value("id", ""));
    }
    EXPECT_EQ(sandbox_ids.size(), static_cast<std::size_t>(kAllocations));  // each allocation's event once
}

}  // namespace
}  // namespace broker::e2e
