// The simulated provider's world: its accounts (sandboxes plus a few others a client must
// ignore), the NIOSXaaS services inside each account and the sessions that reach them, and
// counters of what clients asked for. One mutex guards it all; every operation is short, so
// the I/O threads call it directly.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "provider/sim/sim_ids.hpp"

namespace broker::sim {

inline constexpr std::int64_t kFirstCspId = 2009521;

// What may be asked of a new account; empty fields are filled in like the provider would.
struct AccountSpec {
    std::string name;
    std::string account_type = "sandbox";
    std::string state = "active";
    std::optional<std::string> sfdc_account_id;
};

struct SimService {
    std::string id;  // a uuid
    std::string name;
};

struct SimAccount {
    std::string uuid;
    std::string name;
    std::int64_t csp_id = 0;
    std::string created_at;
    std::string sfdc_account_id;
    std::string account_type;
    std::string state;
    std::vector<SimService> services;

    std::string external_id() const { return "identity/accounts/" + uuid; }
    bool is_active_sandbox() const { return account_type == "sandbox" && state == "active"; }
    // The entry of GET /current_user/accounts.
    nlohmann::json to_json() const;
};

// Requests that reach the simulator, counted whether they succeed, fail or are faulted.
enum class SimCall { list_accounts, delete_account, sign_in, account_switch, list_services, delete_service };

struct SimStats {
    std::uint64_t active = 0;   // present active sandboxes: what a client's list keeps
    std::uint64_t ignored = 0;  // present accounts a client must skip (not sandboxes, not active)
    std::uint64_t deleted = 0;  // accounts removed by a DELETE, each counted once
    std::uint64_t vanished = 0;
    std::uint64_t services = 0;          // services left in present accounts
    std::uint64_t services_deleted = 0;  // removed by a DELETE, each counted once
    std::uint64_t delete_not_found = 0;  // DELETEs of unknown or already removed accounts
    std::map<SimCall, std::uint64_t> calls;

    nlohmann::json to_json() const;
};

class SimState {
  public:
    SimState(std::uint64_t seed, const Clock& clock);

    // Adds `count` active sandboxes named `<prefix>NNNN`, numbering on from the last one
    // added with that prefix. Returns them.
    std::vector<SimAccount> add_sandboxes(std::uint64_t count, const std::string& prefix);

    // Adds one account as described; its name defaults to `account-<csp_id>`.
    SimAccount add_account(const AccountSpec& spec);

    // A few accounts that are not active sandboxes: an organization, a trial tenant, an
    // inactive sandbox. Clients must list past them.
    void add_ignored_accounts();

    // The list body: `{"results": [...]}` of every present account.
    nlohmann::json list_accounts() const;
    // The same as its text, written an entry at a time: a list of a million accounts is never
    // built as a document.
    std::string list_body() const;

    // Removes the sandbox with this uuid. False when no present sandbox has it (never was,
    // deleted before, vanished, or not a sandbox).
    bool delete_sandbox(std::string_view uuid);

    // Removes the account with this csp_id without a DELETE, as an operator working by hand
    // would. False when no present account has it.
    bool vanish(std::int64_t csp_id);

    // NIOSXaaS sessions: a user token from any non-empty credentials, then an account token
    // for a present account (`identity/accounts/<uuid>` or the bare uuid).
    std::string sign_in();
    std::optional<std::string> switch_account(std::string_view user_jwt, std::string_view account_id);

    // The services of the account an account token belongs to; nothing for an unknown token
    // or an account that is gone.
    std::optional<std::vector<SimService>> services(std::string_view account_jwt) const;

    // Removes one service of the token's account. False when the token, account or service is unknown.
    bool delete_service(std::string_view account_jwt, std::string_view service_id);

    void count(SimCall call);
    SimStats stats() const;

    // Every account ever created, with its fate, for inspection by tests.
    nlohmann::json inventory() const;

  private:
    enum class Fate { present, deleted, vanished };
    struct Entry {
        SimAccount account;
        Fate fate = Fate::present;
    };

    SimAccount& create(const AccountSpec& spec);  // with mutex_ held
    Entry* present_by_uuid(std::string_view uuid);
    // Index into entries_ of the present account a token was issued for.
    std::optional<std::size_t> account_of_token(std::string_view account_jwt) const;

    const Clock& clock_;
    mutable std::mutex mutex_;
    IdGenerator ids_;
    std::vector<Entry> entries_;  // in creation order, which is csp_id order
    std::map<std::string, std::size_t, std::less<>> by_uuid_;
    std::map<std::string, std::uint64_t, std::less<>> next_index_;    // per name prefix
    std::set<std::string, std::less<>> user_tokens_;                  // issued by sign_in
    std::map<std::string, std::string, std::less<>> account_tokens_;  // token -> account uuid
    std::uint64_t deleted_ = 0;
    std::uint64_t vanished_ = 0;
    std::uint64_t services_deleted_ = 0;
    std::uint64_t delete_not_found_ = 0;
    std::map<SimCall, std::uint64_t> calls_;
};

std::string_view to_string(SimCall call);

}  // namespace broker::sim
