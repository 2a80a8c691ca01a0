// The DynamoDB store: the original service's table as it is (its `SBX#` items and three
// indexes), served with the broker's contracts. DynamoDB has single-item atomicity only (and
// the emulator the tests use has no transactions), so every multi-item protocol rests on
// conditional single-item writes ordered so that a crash between any two steps leaves
// nothing another request cannot repair:
//   - allocation: a participant's slot item (PART#p / SLOT#n, conditionally created) names
//     the sandbox being taken before the sandbox's own conditional update; a slot is valid
//     while its sandbox is allocated to the participant under the slot's key, in progress
//     for a short while after it was written, and stale (removed by the next request)
//     otherwise. Idempotency and the per-participant limit are thus decided by strongly
//     consistent reads of the participant's own items, never by an index;
//   - deletion claims: a DEL#id item per sandbox being deleted (worker, lease, next attempt);
//   - job leases and runs: conditional updates of one item per job and one per run.
// Index reads (eventually consistent) only find candidates; every change is conditional on
// the item itself. History events are written right after the change they record; a
// change's outbox event travels in the change's own write (see dynamo_outbox.cpp).
// The counts by status are counter items added to right after each change (a crash between
// the two makes them drift until a recount repairs them: see dynamo_counts.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/count_reconciler.hpp"
#include "store/dashboard_store.hpp"
#include "store/dynamodb/aws_credentials.hpp"
#include "store/dynamodb/dynamo_client.hpp"
#include "store/dynamodb/dynamo_items.hpp"
#include "store/dynamodb/dynamo_options.hpp"
#include "store/event_store.hpp"
#include "store/job_state_store.hpp"
#include "store/lifecycle_store.hpp"
#include "store/outbox.hpp"
#include "store/pool_alert_store.hpp"
#include "store/pool_change.hpp"
#include "store/schema_steps.hpp"
#include "store/store.hpp"
#include "store/webhook_store.hpp"

namespace broker {

// The broker's schema version on a DynamoDB table (the BROKER#SCHEMA item).
inline constexpr int kDynamoSchemaVersion = 2;

// The table's schema steps (`version` and `migrate --status` print them).
std::span<const SchemaStep> dynamo_schema_steps();

// How long a participant's slot may name a sandbox not yet allocated to it before another
// request takes it for the remains of a crashed allocation (seconds of the request's clock).
inline constexpr UnixSeconds kDynamoSlotTimeout = 30;

// The most one allocation spends on its steps up to the take (across the client's retries),
// well under kDynamoSlotTimeout; the slot's confirmation and an undo are not cut short.
inline constexpr std::chrono::seconds kDynamoAllocationBudget{10};

// How long a process uses the reservations and track limits it read before reading them again:
// a rule made on another replica applies there within this time (at once on this one).
inline constexpr std::chrono::seconds kDynamoQuotaCacheAge{1};

class DynamoStore final : public Store,
                          public LifecycleStore,
                          public JobStateStore,
                          public DashboardStore,
                          public PoolChangeSource,
                          public EventStore,
                          public PoolAlertStore,
                          public OutboxControl,
                          public WebhookStore,
                          public CountReconciler {
  public:
    // Connects lazily: constructing never fails for an unreachable endpoint (ping() tells).
    DynamoStore(DynamoOptions options, std::shared_ptr<AwsCredentialProvider> credentials);
    ~DynamoStore() override;

    // Store
    MigrationReport migrate() override;
    SchemaStatus schema_status() override;
    AllocateResult allocate(const AllocateRequest& request) override;
    std::optional<Sandbox> get(const std::string& sandbox_id) override;
    MarkResult mark_for_deletion(const MarkForDeletionRequest& request) override;
    UpsertSummary upsert_provider_sandboxes(std::span<const ProviderSandbox> sandboxes,
                                            UnixSeconds now) override;
    StatusCounts count_by_status() override;
    ListPage list(const ListQuery& query) override;
    void ping() override;
    ExtendResult extend_lease(const ExtendLeaseRequest& request) override;
    // Reservations and track limits (dynamo_quota.cpp).
    void create_reservation(const Reservation& reservation) override;
    std::vector<Reservation> list_reservations() override;
    std::optional<Reservation> get_reservation(const std::string& id) override;
    bool cancel_reservation(const std::string& id) override;
    void set_track_limit(const std::string& track, std::int64_t max_active) override;
    bool remove_track_limit(const std::string& track) override;
    std::vector<TrackLimit> list_track_limits(UnixSeconds now) override;
    // Counts the available items themselves (not the counters): it decides allocation outcomes.
    std::int64_t count_available(const std::string& name_prefix) override;

    // LifecycleStore
    // A sync stamps every listed item with its pass (attribute sync_pass), unchanged
    // ones included, and marks stale the available items without it.
    UpsertSummary sync_part(std::span<const ProviderSandbox> part, std::int64_t pass,
                            UnixSeconds now) override;
    std::int64_t finish_sync(std::int64_t pass, UnixSeconds now) override;
    void abandon_sync(std::int64_t pass) override;
    std::vector<Sandbox> expire_allocations(UnixSeconds now, const LeasePolicy& lease, int limit) override;
    std::vector<Sandbox> claim_for_deletion(const DeletionClaim& claim) override;
    bool record_deleted(const std::string& sandbox_id, const std::string& actor, UnixSeconds now,
                        DeletedHow how = DeletedHow::deleted_by_broker) override;
    bool record_deletion_failure(const DeletionFailure& failure) override;
    std::int64_t renew_deletion_claims(std::span<const std::string> sandbox_ids, const std::string& worker_id,
                                       UnixSeconds now, UnixSeconds lease_until) override;
    std::int64_t release_deletion_claims(std::span<const std::string> sandbox_ids,
                                         const std::string& worker_id, UnixSeconds now) override;
    std::int64_t remove_stale(UnixSeconds stale_before, UnixSeconds now, const std::string& actor) override;
    std::int64_t bulk_remove(SandboxStatus status, UnixSeconds now, const std::string& actor) override;
    std::vector<SandboxEvent> history(const std::string& sandbox_id) override;
    std::int64_t prune_history(UnixSeconds before) override;
    std::int64_t insert_copied(std::span<const CopiedSandbox> sandboxes) override;

    // JobStateStore
    bool try_start_job(const JobStartRequest& request) override;
    bool renew_job_lease(const std::string& job, const std::string& holder, UnixSeconds now,
                         UnixSeconds lease_until, const std::string& progress) override;
    bool finish_job(const std::string& job, const std::string& holder, UnixSeconds now, bool ok,
                    const std::string& result) override;
    void set_job_paused(const std::string& job, bool paused, UnixSeconds now) override;
    std::int64_t request_job_run(const std::string& job, UnixSeconds now) override;
    std::optional<JobRun> job_run(const std::string& job, std::int64_t run_id) override;
    std::vector<JobState> job_states() override;
    // DashboardStore (dynamo_dashboard.cpp)
    ListPage search(const SandboxSearch& query) override;
    AllocationWindowStats allocation_window(const AllocationWindowQuery& query) override;
    std::int64_t count_allocated_between(UnixSeconds from, UnixSeconds to) override;
    CleanupBacklog cleanup_backlog(UnixSeconds now) override;
    std::vector<DeletionFailureInfo> deletion_failures(int limit) override;
    void record_pool_sample(const PoolSample& sample) override;
    std::vector<PoolSample> pool_samples(UnixSeconds from, UnixSeconds to, int limit) override;
    std::int64_t prune_pool_samples(UnixSeconds before) override;

    // EventStore (dynamo_outbox.cpp): reading relays the pending events into sequenced ones first.
    std::vector<OutboxEvent> read_events(std::int64_t after_id, int limit) override;
    void append_event(std::string_view type, std::string_view data_json, UnixSeconds now) override;
    std::int64_t last_event_id() override;
    std::int64_t prune_events(std::int64_t delivered_up_to, UnixSeconds older_than) override;
    // PoolAlertStore: the state and its event change in one conditional UpdateItem.
    bool pool_low() override;
    bool set_pool_low(bool low, std::string_view data_json, UnixSeconds now) override;

    // WebhookStore (dynamo_webhooks.cpp)
    void create_webhook(const WebhookSubscription& subscription) override;
    std::vector<WebhookSubscription> list_webhooks() override;
    std::optional<WebhookSubscription> get_webhook(const std::string& id) override;
    bool delete_webhook(const std::string& id) override;
    bool disable_webhook(const std::string& id, const std::string& reason, UnixSeconds now) override;
    bool enable_webhook(const std::string& id) override;
    bool enqueue_deliveries(const std::string& subscription_id, std::int64_t from_cursor,
                            std::int64_t to_cursor, std::span<const OutboxEvent> events,
                            UnixSeconds now) override;
    std::vector<WebhookDelivery> claim_deliveries(const DeliveryClaim& claim) override;
    bool record_attempt(const DeliveryAttempt& attempt) override;
    // Item by item: DynamoDB has no transaction over conditional updates that may each fail.
    std::vector<bool> record_attempts(std::span<const DeliveryAttempt> attempts) override;
    DeliveryPage list_deliveries(const std::string& subscription_id, std::optional<std::int64_t> before,
                                 int limit) override;
    std::optional<WebhookDelivery> get_delivery(const std::string& subscription_id,
                                                std::int64_t delivery_id) override;
    std::optional<WebhookDelivery> redeliver(const std::string& subscription_id, std::int64_t delivery_id,
                                             UnixSeconds now) override;
    std::int64_t count_pending(const std::string& subscription_id) override;
    std::int64_t prune_deliveries(UnixSeconds before) override;

    // CountReconciler (dynamo_counts.cpp): count_by_status reads counter items that every
    // transition this store makes adds to; the reconcile recounts through the status index and
    // adds the difference.
    CountReconcileReport reconcile_counts_if_due(UnixSeconds now) override;
    // The reconcile itself, whether due or not.
    CountReconcileReport reconcile_counts(UnixSeconds now);

    const DynamoOptions& options() const { return options_; }

    // Tests only (dynamo_counts.cpp): the points of a reconcile where other writers' counts
    // may land; the hook may write meanwhile, as another process would. Set before use.
    enum class CountStep {
        recounted,  // the statuses recounted, the counters not yet read again
        compared,   // the counters read again and compared; the difference not yet added
    };
    void set_count_step_hook(std::function<void(CountStep)> hook) { count_step_hook_ = std::move(hook); }

    // Tests only (dynamo_outbox.cpp): the boundaries between the steps that write a change's
    // event. The hook is called at each on the writer's thread; it may throw (the process died
    // there) or act meanwhile (as another process would). Set before the store is used.
    enum class OutboxStep {
        intent_written,   // the intent is written, the change not yet sent
        change_written,   // the change landed, carrying its event; history and pending not yet
        pending_written,  // the pending event is written; the relay has not moved it
    };
    void set_outbox_step_hook(std::function<void(OutboxStep)> hook) { outbox_step_hook_ = std::move(hook); }
    // Tests only: the wall clock (seconds) intents are dated and judged by. Set before use.
    void set_outbox_clock(std::function<std::int64_t()> now) { outbox_clock_ = std::move(now); }

    // PoolChangeSource: told after sync and upsert commits that add available sandboxes.
    void set_pool_change_listener(PoolChangeListener* listener) override { pool_changes_.set(listener); }

  private:
    // A participant's allocation slot item (PART#<participant> / SLOT#<n>).
    struct Slot {
        std::string sort_key;  // SLOT#<n>
        int index = 0;
        std::string sandbox_id;
        std::string key;  // the idempotency key it was taken under
        std::string token;
        UnixSeconds taken_at = 0;
        bool confirmed = false;  // its sandbox was taken and the slot confirmed afterwards
    };

    // Whether an item (null: absent) shows a write of this request's own.
    using ShowsOwnWrite = std::function<bool(const ddb::Item* item)>;

    // Reads
    std::optional<ddb::Item> get_item(const std::string& pk, const std::string& sk, bool consistent = true);
    std::vector<ddb::Item> query_all(nlohmann::json request, std::size_t max_items = SIZE_MAX);
    std::vector<ddb::Item> by_status(SandboxStatus status, std::size_t max_items = SIZE_MAX);
    std::vector<ddb::Item> batch_get(const std::vector<ddb::Item>& keys);
    // A conditional write. When its condition failed on a retry after an attempt that may have
    // been applied, the item is read (consistently) and, if `own` recognises this request's
    // write in it, the reply is success with that item as its Attributes: the earlier
    // attempt's answer was lost, not the race.
    ddb::DynamoReply write(std::string_view operation, nlohmann::json request, const ShowsOwnWrite& own = {});
    // Writes: true when done, false when the condition failed; anything else throws.
    bool conditional(std::string_view operation, nlohmann::json request, const ShowsOwnWrite& own = {});
    // A transition's event, carried by the change that makes it (dynamo_outbox.cpp).
    struct CarriedEvent {
        std::string type;
        std::string token;       // the event's, in the intent, on the item and in the outbox
        std::string pending_sk;  // the intent's sort key, which the pending event takes over
        UnixSeconds at = 0;
        std::optional<SandboxStatus> from;
        std::string actor;
        std::string reason;
        int index = -1;  // its place in the item's `outbox` list, when the write told it
    };
    // The transition's count, the history item and, for a change that carried an event, its
    // pending event (from the item as the change left it: `after`, or read again). Called right
    // after the change: the one place a transition is recorded.
    void record(const std::string& sandbox_id, UnixSeconds at, std::optional<SandboxStatus> from,
                std::optional<SandboxStatus> to, const std::string& actor, const std::string& reason,
                const std::optional<CarriedEvent>& carried, const ddb::Item* after = nullptr);

    // Maintained counts (dynamo_counts.cpp). The counter items as read (one Query).
    struct Counters {
        StatusCounts counts;
        StatusCounts changes;      // how many transitions touched each status: only ever grows
        std::int64_t version = 0;  // of the base item: bumped by every reconcile's correction
        bool established = false;  // a complete reconcile has run: the counts are the pool's
        UnixSeconds reconciled_at = 0;
    };
    // Adds one transition to a counter shard (nothing for from == to). A failure is logged,
    // not thrown: the change it counts has landed, and the reconcile repairs the count.
    void count_transition(std::optional<SandboxStatus> from, std::optional<SandboxStatus> to);
    Counters read_counters();
    std::int64_t recount(SandboxStatus status);
    void count_step(CountStep step) const {
        if (count_step_hook_) count_step_hook_(step);
    }

    // Allocation steps (dynamo_allocate.cpp)
    std::vector<Slot> read_slots(const std::string& participant);
    void drop_slot(const std::string& participant, const Slot& slot, bool with_key, bool unconfirmed_only);
    bool confirm_slot(const std::string& participant, Slot& slot);
    void undo_take(const AllocateRequest& r, const std::string& sandbox_id,
                   const std::optional<CarriedEvent>& carried);
    // `held_back`: name prefixes reservations keep from this request (skipped).
    std::vector<std::string> find_candidates(const std::string& prefix, std::size_t want,
                                             const std::vector<std::string>& tried, bool from_start,
                                             const std::vector<std::string>& held_back = {});
    AllocateOutcome nothing_available(const std::string& prefix);
    std::optional<Sandbox> take(const AllocateRequest& r, const std::string& sandbox_id,
                                std::optional<CarriedEvent>& carried, ddb::Item& taken_item);
    void remember_position(const std::string& sandbox_id);
    std::optional<std::string> random_position();
    std::size_t positions_size();
    // Gives an allocation that has no slot (made by the original service, or copied) one.
    void adopt_allocation(const Sandbox& sandbox, UnixSeconds now);

    // Reservations and track limits (dynamo_quota.cpp). The rules as last read (at most
    // kDynamoQuotaCacheAge old): an allocation no rule applies to reads nothing more.
    struct QuotaRules {
        std::vector<Reservation> reservations;  // windows; `used` read again when it matters
        std::map<std::string, std::int64_t> limits;
        std::chrono::steady_clock::time_point read_at;
    };
    // What the rules ask of one allocation round: a refusal, or the names to avoid, the gate
    // to pass (other tracks' reservations), the track seat to take, the reservations to charge.
    struct QuotaStep {
        std::optional<AllocateOutcome> refusal;
        bool gated = false;  // other tracks' reservations hold sandboxes back: pass the gate
        std::int64_t gate_seq = 0;
        bool blocked_all = false;
        std::vector<std::string> blocked_prefixes;
        std::vector<Reservation> own;
        std::vector<Reservation> others;  // what the gate checks
        std::int64_t max_active = 0;      // > 0: the track is limited, take a seat
        int free_seat = -1;               // the seat to take
        std::string free_seat_token;      // the stale seat's token it replaces; empty: a new one
    };
    // One seat of a limited track (TRACK#<track> / SEAT#<n>) and whether it is held now.
    struct Seat {
        int index = 0;
        std::string token;
        bool held = false;
    };
    std::vector<Seat> read_seats(const std::string& track, UnixSeconds now, bool drop_dead);
    QuotaRules quota_rules(bool fresh = false);
    QuotaStep plan_quota(const AllocateRequest& r);
    bool has_available(const std::string& prefix, std::int64_t n);
    bool take_seat(const AllocateRequest& r, const QuotaStep& step, const Slot& slot);
    // A take under the gate is in doubt until it passes: it may still be given back. Its
    // round lists itself (QUOTA#DOUBT) before its first take and leaves when it ends (its
    // take standing, or given back); an entry older than kDynamoSlotTimeout is a crashed
    // taker's.
    // `others_in_doubt` (this round has left or not entered): whether an answer of "nothing
    // for this request" should wait for another's take to settle.
    std::string enter_doubt(UnixSeconds now);
    void leave_doubt(const std::string& entry);
    bool others_in_doubt(UnixSeconds now);
    bool pass_gate(std::int64_t seq);
    // After the take of a sandbox named `name`: passes the gate, checking again (with the
    // take counted) each time another allocation passed first; false when what remains no
    // longer covers what is held back, or the gate stays contended.
    bool settle_gate(const QuotaStep& step, const std::string& name, UnixSeconds now);
    void charge(const std::vector<Reservation>& own, const std::string& name, UnixSeconds now);
    void forget_quota_rules();

    // `pass`: a sync's, stamped on every listed item.
    UpsertSummary upsert(std::span<const ProviderSandbox> sandboxes, UnixSeconds now,
                         std::optional<std::int64_t> pass = std::nullopt);
    void stamp_pass(const std::string& id, std::int64_t pass, const char* condition);
    // available -> stale with its event, only if the item does not carry `unless_pass`; false
    // when it was no longer available or carries it.
    bool mark_stale(const std::string& id, UnixSeconds now, std::int64_t unless_pass);

    // The outbox (dynamo_outbox.cpp). A transition's event: its intent, written before the
    // change (nothing when the transition has no event or events are off); the change's write
    // amended to carry it (and to fail for a fenced token); the intent removed when the change
    // did not land.
    std::optional<CarriedEvent> intend_event(const std::string& sandbox_id, UnixSeconds at,
                                             std::optional<SandboxStatus> from,
                                             std::optional<SandboxStatus> to, const std::string& actor,
                                             const std::string& reason);
    static void carry(nlohmann::json& request, const std::optional<CarriedEvent>& carried);
    void drop_intent(const std::optional<CarriedEvent>& carried);
    void outbox_step(OutboxStep step) const {
        if (outbox_step_hook_) outbox_step_hook_(step);
    }
    std::int64_t outbox_now() const;
    // The one way an event enters the outbox: a pending item, new, or (`carried`) the carried
    // event's intent made whole.
    void write_pending_event(std::string_view type, UnixSeconds at, const std::string& sandbox_id,
                             const std::string& track, const std::string& data,
                             const CarriedEvent* carried = nullptr);
    // The relay that gives pending events their sequence numbers, one relay at a time (a lease
    // item), and takes the events it moved off the sandbox items carrying them.
    void relay_events();
    // An intent not made whole: false while its change may still be on its way (the relay
    // stops there); else its carried event is moved, or its token fenced off the item.
    bool settle_intent(const ddb::Item& intent, std::int64_t& seq);
    void remove_carried(const std::string& sandbox_id, const std::string& token);
    std::int64_t put_sequenced(std::int64_t seq, const ddb::Item& entry);
    void save_relay_seq(std::int64_t seq);
    std::vector<JobRun> runs_of(const std::string& job);
    // A subscription's delivery items (WEBHOOK#<id> / D#<n>) in id order; only the pending
    // ones when asked (dynamo_webhooks.cpp).
    std::vector<ddb::Item> webhook_deliveries(const std::string& subscription_id, bool pending_only);

    DynamoOptions options_;
    ddb::DynamoClient client_;
    std::mutex positions_mutex_;
    std::vector<std::string> positions_;  // sandbox ids seen available: random start points
    std::atomic<int> allocating_{0};      // allocations in progress in this process
    PoolChangeNotifier pool_changes_;
    std::mutex quota_mutex_;
    std::optional<QuotaRules> quota_rules_;
    std::uint64_t quota_generation_ = 0;  // bumped by every change of the rules made here
    const std::string relay_id_;          // this store's name as the relay's lease holder
    std::function<void(OutboxStep)> outbox_step_hook_;
    std::function<std::int64_t()> outbox_clock_;
    std::function<void(CountStep)> count_step_hook_;
};

}  // namespace broker
