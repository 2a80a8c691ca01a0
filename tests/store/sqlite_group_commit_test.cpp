// The group-commit writer's failure path: ops run without a savepoint each, so when one throws
// the batch's transaction is rolled back and the others re-run, each in a savepoint; and bulk
// writes, which run alone, taking turns with the batches of small writes. These tests drive
// GroupCommitWriter directly with ops that count their runs and write rows.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/group_commit.hpp"
#include "temp_dir.hpp"

namespace broker::testing {
namespace {

using sqlite::Connection;
using sqlite::GroupCommitWriter;

template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

class GroupCommitTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto conn = std::make_unique<Connection>(path_, Connection::Mode::read_write, 10'000);
        conn->exec("PRAGMA journal_mode = WAL");
        conn->exec("CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v INTEGER NOT NULL)");
        writer_ = std::make_unique<GroupCommitWriter>(std::move(conn), 64, 1024);
    }

    // An op that inserts (k, v) and counts how often it ran.
    GroupCommitWriter::Work insert(std::string k, int v, std::atomic<int>& runs) {
        return [k = std::move(k), v, &runs](Connection& conn) {
            ++runs;
            auto q = conn.query("INSERT INTO t (k, v) VALUES (?1, ?2)");
            q.bind(1, k).bind(2, std::int64_t{v});
            q.run();
        };
    }

    // What is committed, read through a connection of its own.
    std::vector<std::string> rows() {
        Connection conn(path_, Connection::Mode::read_only, 10'000);
        std::vector<std::string> out;
        auto q = conn.query("SELECT k || '=' || v FROM t ORDER BY k");
        while (q.step()) out.push_back(q.text(0));
        return out;
    }

    // Runs `ops` in one batch: a first op holds the writer until all of them are queued.
    std::vector<std::future<void>> run_as_one_batch(const std::vector<GroupCommitWriter::Work>& ops) {
        std::promise<void> release;
        auto gate = release.get_future().share();
        GroupCommitWriter::Work hold = [gate](Connection&) { gate.wait(); };
        auto first = std::async(std::launch::async, [&] { writer_->run(hold); });
        EXPECT_TRUE(eventually([&] { return writer_->stats().in_batch == 1; }));
        std::vector<std::future<void>> results;
        for (const auto& op : ops) {
            results.push_back(std::async(std::launch::async, [this, &op] { writer_->run(op); }));
            const auto queued = results.size();
            EXPECT_TRUE(eventually([&] { return writer_->stats().queued == queued; }));
        }
        batches_before_ = writer_->stats().batches;
        release.set_value();
        first.get();
        for (auto& r : results) r.wait();
        return results;
    }

    TempDir dir_;
    std::string path_ = dir_.file("gc.db");
    std::unique_ptr<GroupCommitWriter> writer_;
    std::uint64_t batches_before_ = 0;
};

TEST_F(GroupCommitTest, ABatchWithoutFailuresRunsEachOpOnce) {
    std::atomic<int> a{0}, b{0}, c{0};
    const std::vector<GroupCommitWriter::Work> ops = {insert("a", 1, a), insert("b", 2, b),
                                                      insert("c", 3, c)};
    auto results = run_as_one_batch(ops);
    for (auto& r : results) EXPECT_NO_THROW(r.get());
    EXPECT_EQ(a + b + c, 3);
    EXPECT_EQ(rows(), (std::vector<std::string>{"a=1", "b=2", "c=3"}));
    EXPECT_EQ(writer_->stats().batches - batches_before_, 2u);  // the holding op's batch, then ours
}

TEST_F(GroupCommitTest, AFailedOpIsUndoneAndItsNeighboursCommitOnce) {
    std::atomic<int> a{0}, bad{0}, c{0};
    // Writes a row, then fails: the row must not survive, though no savepoint was open.
    GroupCommitWriter::Work failing = [&bad](Connection& conn) {
        ++bad;
        conn.query("INSERT INTO t (k, v) VALUES ('bad', 0)").run();
        throw std::runtime_error("op failed after writing");
    };
    const std::vector<GroupCommitWriter::Work> ops = {insert("a", 1, a), failing, insert("c", 3, c)};
    auto results = run_as_one_batch(ops);

    EXPECT_NO_THROW(results[0].get());
    try {
        results[1].get();
        FAIL() << "the failing op's caller must get its exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "op failed after writing");
    }
    EXPECT_NO_THROW(results[2].get());
    // The op before the failure ran in the rolled-back pass and again in the re-run; the
    // failed op is not run again; the one after it ran only in the re-run.
    EXPECT_EQ(a, 2);
    EXPECT_EQ(bad, 1);
    EXPECT_EQ(c, 1);
    EXPECT_EQ(rows(), (std::vector<std::string>{"a=1", "c=3"}));
    EXPECT_EQ(writer_->stats().batches - batches_before_, 2u);
}

TEST_F(GroupCommitTest, AnOpFailingOnlyInTheRerunIsUndoneAlone) {
    std::atomic<int> a{0}, flaky_runs{0}, c{0};
    GroupCommitWriter::Work fails_first = [](Connection& conn) {
        conn.query("INSERT INTO t (k, v) VALUES ('x', 9)").run();
        throw std::runtime_error("first");
    };
    // Succeeds in the first pass, fails after writing in the re-run: its savepoint undoes it.
    GroupCommitWriter::Work flaky = [&flaky_runs](Connection& conn) {
        conn.query("INSERT INTO t (k, v) VALUES ('f', 5)").run();
        if (++flaky_runs == 2) throw std::runtime_error("second");
    };
    const std::vector<GroupCommitWriter::Work> ops = {flaky, insert("a", 1, a), fails_first,
                                                      insert("c", 3, c)};
    auto results = run_as_one_batch(ops);
    EXPECT_THROW(results[0].get(), std::runtime_error);
    EXPECT_NO_THROW(results[1].get());
    EXPECT_THROW(results[2].get(), std::runtime_error);
    EXPECT_NO_THROW(results[3].get());
    EXPECT_EQ(rows(), (std::vector<std::string>{"a=1", "c=3"}));
}

TEST_F(GroupCommitTest, AConstraintFailureMidOpLeavesNoPartialWrite) {
    std::atomic<int> a{0}, dup{0};
    // Inserts one new row, then breaks the primary key: the new row must go too.
    GroupCommitWriter::Work half = [](Connection& conn) {
        conn.query("INSERT INTO t (k, v) VALUES ('half', 1)").run();
        conn.query("INSERT INTO t (k, v) VALUES ('a', 2)").run();
    };
    const std::vector<GroupCommitWriter::Work> ops = {insert("a", 1, a), half, insert("z", 26, dup)};
    auto results = run_as_one_batch(ops);
    EXPECT_NO_THROW(results[0].get());
    EXPECT_THROW(results[1].get(), StoreUnavailable);
    EXPECT_NO_THROW(results[2].get());
    EXPECT_EQ(rows(), (std::vector<std::string>{"a=1", "z=26"}));
}

TEST_F(GroupCommitTest, BulkWritesRunAloneTakingTurnsWithBatchesOfSmallWrites) {
    std::mutex mutex;
    std::vector<std::string> order;
    std::atomic<int> small_runs{0};
    const auto op = [&](std::string name, bool fail = false) -> GroupCommitWriter::Work {
        return [&, name, fail](Connection& conn) {
            {
                std::lock_guard lock(mutex);
                order.push_back(name);
            }
            auto q = conn.query("INSERT INTO t (k, v) VALUES (?1, 1)");
            q.bind(1, name);
            q.run();
            if (fail) throw std::runtime_error("bulk chunk failed after writing");
            if (name.starts_with("small")) ++small_runs;
        };
    };
    std::promise<void> release;
    auto gate = release.get_future().share();
    GroupCommitWriter::Work hold = [gate](Connection&) { gate.wait(); };
    auto first = std::async(std::launch::async, [&] { writer_->run(hold); });
    ASSERT_TRUE(eventually([&] { return writer_->stats().in_batch == 1; }));

    // Queued while the writer is busy: two bulk chunks (the first fails), then three small writes.
    const std::vector<std::pair<GroupCommitWriter::Work, GroupCommitWriter::Kind>> ops = {
        {op("bulk-1", true), GroupCommitWriter::Kind::bulk}, {op("bulk-2"), GroupCommitWriter::Kind::bulk},
        {op("small-a"), GroupCommitWriter::Kind::small},     {op("small-b"), GroupCommitWriter::Kind::small},
        {op("small-c"), GroupCommitWriter::Kind::small},
    };
    std::vector<std::future<void>> results;
    for (const auto& [work, kind] : ops) {
        results.push_back(std::async(std::launch::async, [this, &work, kind] { writer_->run(work, kind); }));
        const auto queued = results.size();
        ASSERT_TRUE(eventually([&] { return writer_->stats().queued == queued; }));
    }
    const auto batches_before = writer_->stats().batches;
    release.set_value();
    first.get();
    EXPECT_THROW(results[0].get(), std::runtime_error);
    for (std::size_t i = 1; i < results.size(); ++i) EXPECT_NO_THROW(results[i].get());

    // A bulk chunk, then the small writes that waited behind it (one batch), then the next
    // chunk: a small write waits behind one chunk at most. The failed chunk was undone alone
    // and made nobody run twice.
    EXPECT_EQ(order, (std::vector<std::string>{"bulk-1", "small-a", "small-b", "small-c", "bulk-2"}));
    EXPECT_EQ(small_runs, 3);
    EXPECT_EQ(rows(), (std::vector<std::string>{"bulk-2=1", "small-a=1", "small-b=1", "small-c=1"}));
    EXPECT_EQ(writer_->stats().batches - batches_before, 4u);  // holder, bulk-1, the small ones, bulk-2
}

// submit: the caller does not wait; each write's callback comes on the writer thread once its
// batch committed, with its own outcome, and the committed rows are readable by then.
class GroupCommitSubmitTest : public GroupCommitTest {};

TEST_F(GroupCommitSubmitTest, CallbacksComeAfterTheCommitWithEachWritesOwnOutcome) {
    std::promise<void> release;
    auto gate = release.get_future().share();
    GroupCommitWriter::Work hold = [gate](Connection&) { gate.wait(); };
    auto first = std::async(std::launch::async, [&] { writer_->run(hold); });
    ASSERT_TRUE(eventually([&] { return writer_->stats().in_batch == 1; }));

    struct Outcome {
        std::promise<void> called;
        std::exception_ptr error;
        std::thread::id thread;
        std::vector<std::string> visible;  // rows a reader saw from inside the callback
    };
    std::vector<Outcome> outcomes(3);
    std::vector<std::future<void>> called;
    for (auto& outcome : outcomes) called.push_back(outcome.called.get_future());
    std::atomic<int> a{0}, c{0};
    const std::vector<GroupCommitWriter::Work> ops = {
        insert("a", 1, a),
        [](Connection& conn) {
            conn.query("INSERT INTO t (k, v) VALUES ('bad', 0)").run();
            throw std::runtime_error("op failed after writing");
        },
        insert("c", 3, c)};
    for (std::size_t i = 0; i < ops.size(); ++i) {
        writer_->submit(ops[i], [this, &outcome = outcomes[i]](std::exception_ptr error) {
            outcome.error = error;
            outcome.thread = std::this_thread::get_id();
            outcome.visible = rows();
            outcome.called.set_value();
        });
    }
    EXPECT_EQ(writer_->stats().queued, 3u);  // submit returned without waiting for the writer
    for (auto& c : called) EXPECT_EQ(c.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
    release.set_value();
    first.get();
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        ASSERT_EQ(called[i].wait_for(std::chrono::seconds(10)), std::future_status::ready) << i;
        EXPECT_NE(outcomes[i].thread, std::this_thread::get_id());
        EXPECT_EQ(outcomes[i].visible, (std::vector<std::string>{"a=1", "c=3"})) << i;
    }
    EXPECT_FALSE(outcomes[0].error);
    ASSERT_TRUE(outcomes[1].error);
    EXPECT_THROW(std::rethrow_exception(outcomes[1].error), std::runtime_error);
    EXPECT_FALSE(outcomes[2].error);
    EXPECT_EQ(a, 2);  // the first pass, rolled back, and the re-run
    EXPECT_EQ(c, 1);
}

TEST_F(GroupCommitSubmitTest, AFullQueueRefusesAtOnceAndNeverCallsBack) {
    auto conn = std::make_unique<Connection>(dir_.file("small.db"), Connection::Mode::read_write, 10'000);
    conn->exec("CREATE TABLE t (k TEXT NOT NULL PRIMARY KEY, v INTEGER NOT NULL)");
    GroupCommitWriter writer(std::move(conn), 64, 1);
    std::promise<void> release;
    auto gate = release.get_future().share();
    GroupCommitWriter::Work hold = [gate](Connection&) { gate.wait(); };
    auto first = std::async(std::launch::async, [&] { writer.run(hold); });
    ASSERT_TRUE(eventually([&] { return writer.stats().in_batch == 1; }));

    std::atomic<int> called{0}, runs{0};
    const GroupCommitWriter::Work op = insert("q", 1, runs);
    writer.submit(op, [&called](std::exception_ptr) { ++called; });
    EXPECT_THROW(writer.submit(op, [&called](std::exception_ptr) { called += 100; }), Overloaded);
    release.set_value();
    first.get();
    ASSERT_TRUE(eventually([&] { return called.load() != 0; }));
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(called, 1);
}

}  // namespace
}  // namespace broker::testing
