// Per-test tables on the DynamoDB emulator: see dynamo_harness.hpp.
#include "dynamo_harness.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "store/dynamodb/static_credentials.hpp"

namespace broker::testing {
namespace {

std::string unique_table_name() {
    static std::atomic<int> counter{0};
    // A random part as well: a test process that died before dropping its table (a sanitizer
    // halts at its first report) leaves it on the emulator, and a later process may get the
    // same pid.
    static const std::string run = std::to_string(std::random_device{}());
    return "conformance_" + std::to_string(::getpid()) + "_" + run + "_" + std::to_string(++counter);
}

class DynamoHarness final : public StoreHarness {
  public:
    explicit DynamoHarness(const std::string& endpoint) : table_(endpoint) { open(); }
    ~DynamoHarness() override { store_ = {}; }
    const StoreHandle& handle() override { return store_; }
    void reopen() override {
        store_ = {};
        open();
    }
    void record_schema(int version, int compatible_from) override {
        store_ = {};
        table_.put_schema_item(version, compatible_from);
        open();
    }

  private:
    void open() {
        store_ = StoreHandle(std::make_unique<DynamoStore>(table_.options(), test_aws_credentials()));
    }

    DynamoTable table_;
    StoreHandle store_;
};

}  // namespace

std::string test_dynamodb_url() {
    const char* url = std::getenv("BROKER_TEST_DYNAMODB_URL");
    return url ? url : "";
}

std::shared_ptr<AwsCredentialProvider> test_aws_credentials() {
    // The emulator checks that requests are signed, not by whom.
    return std::make_shared<StaticAwsCredentials>(
        AwsCredentials{"AKIDTESTONLY", "test-secret", "", std::nullopt});
}

DynamoTable::DynamoTable(std::string endpoint) : endpoint_(std::move(endpoint)), name_(unique_table_name()) {
    client_ = std::make_unique<ddb::DynamoClient>(options().client, test_aws_credentials());
}

DynamoTable::~DynamoTable() {
    try {
        client_->call("DeleteTable", {{"TableName", name_}});
    } catch (const std::exception&) {
        // An emulator that went away takes its tables with it.
    }
}

void DynamoTable::put_schema_item(int version, int compatible_from) {
    client_->must("PutItem", {{"TableName", name_},
                              {"Item",
                               {{"PK", {{"S", "BROKER#SCHEMA"}}},
                                {"SK", {{"S", "VERSION"}}},
                                {"version", {{"N", std::to_string(version)}}},
                                {"compatible_from", {{"N", std::to_string(compatible_from)}}}}}});
}

DynamoOptions DynamoTable::options() const {
    DynamoOptions options;
    options.table = name_;
    options.client.endpoint = endpoint_;
    options.client.region = "us-east-1";
    options.create_table = true;                          // each test's own table, made by the test
    options.count_settle = std::chrono::milliseconds(0);  // the emulator's index has no lag
    return options;
}

std::unique_ptr<StoreHarness> make_dynamo_harness(const std::string& endpoint) {
    return std::make_unique<DynamoHarness>(endpoint);
}

void DynamoTableTest::SetUp() {
    const std::string url = test_dynamodb_url();
    if (url.empty())
        GTEST_SKIP() << "BROKER_TEST_DYNAMODB_URL is not set (scripts/dynalite.sh start prints one)";
    table_ = std::make_unique<DynamoTable>(url);
    store_ = std::make_unique<DynamoStore>(table_->options(), test_aws_credentials());
}

std::vector<nlohmann::json> DynamoTableTest::scan_all() {
    std::vector<nlohmann::json> items;
    nlohmann::json request = {{"TableName", table_->name()}};
    for (;;) {
        nlohmann::json answer = table_->client().must("Scan", request);
        for (auto& item : answer["Items"]) items.push_back(std::move(item));
        if (!answer.contains("LastEvaluatedKey")) return items;
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"];
    }
}

AllocateRequest DynamoTableTest::request(const std::string& participant, UnixSeconds now) const {
    AllocateRequest r;
    r.participant_id = participant;
    r.idempotency_key = participant;
    r.track_name = "track-a";
    r.now = now;
    r.lease = LeasePolicy{std::chrono::hours(4), std::chrono::minutes(30)};
    return r;
}

}  // namespace broker::testing
