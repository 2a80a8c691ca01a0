#include "provider/sim/sim_state.hpp"

#include <stdexcept>

namespace broker::sim {
namespace {

// The uuid of "identity/accounts/<uuid>", or the text itself when it has no slash.
std::string_view last_segment(std::string_view id) {
    const auto slash = id.rfind('/');
    return slash == std::string_view::npos ? id : id.substr(slash + 1);
}

}  // namespace

std::string_view to_string(SimCall call) {
    switch (call) {
        case SimCall::list_accounts:
            return "list_calls";
        case SimCall::delete_account:
            return "delete_calls";
        case SimCall::sign_in:
            return "sign_in_calls";
        case SimCall::account_switch:
            return "account_switch_calls";
        case SimCall::list_services:
            return "service_list_calls";
        case SimCall::delete_service:
            return "service_delete_calls";
    }
    return "unknown_calls";
}

nlohmann::json SimAccount::to_json() const {
    return {{"id", external_id()},
            {"name", name},
            {"csp_id", csp_id},
            {"created_at", created_at},
            {"sfdc_account_id", sfdc_account_id},
            {"account_type", account_type},
            {"state", state}};
}

nlohmann::json SimStats::to_json() const {
    nlohmann::json out = {{"active", active},
                          {"ignored", ignored},
                          {"deleted", deleted},
                          {"vanished", vanished},
                          {"services", services},
                          {"services_deleted", services_deleted},
                          {"delete_not_found", delete_not_found}};
    for (const auto call : {SimCall::list_accounts, SimCall::delete_account, SimCall::sign_in,
                            SimCall::account_switch, SimCall::list_services, SimCall::delete_service}) {
        const auto it = calls.find(call);
        out[std::string(to_string(call))] = it == calls.end() ? 0 : it->second;
    }
    return out;
}

SimState::SimState(std::uint64_t seed, const Clock& clock) : clock_(clock), ids_(seed) {}

SimAccount& SimState::create(const AccountSpec& spec) {
    SimAccount a;
    a.uuid = ids_.uuid4();
    a.csp_id = kFirstCspId + static_cast<std::int64_t>(entries_.size());
    a.name = spec.name.empty() ? "account-" + std::to_string(a.csp_id) : spec.name;
    a.created_at = iso_timestamp(clock_.now(), static_cast<int>(ids_.below(1'000'000)));
    a.sfdc_account_id = spec.sfdc_account_id ? *spec.sfdc_account_id : ids_.sfdc_account_id();
    a.account_type = spec.account_type;
    a.state = spec.state;
    // The lab's own service (what the clean-up step looks for) and one it must leave alone.
    a.services.push_back({ids_.uuid4(), "Instrqt-SaaS-" + a.name});
    a.services.push_back({ids_.uuid4(), "dns-forwarder-" + a.name});
    by_uuid_.emplace(a.uuid, entries_.size());
    entries_.push_back({std::move(a), Fate::present});
    return entries_.back().account;
}

std::vector<SimAccount> SimState::add_sandboxes(std::uint64_t count, const std::string& prefix) {
    std::lock_guard lock(mutex_);
    std::vector<SimAccount> added;
    added.reserve(count);
    auto& next = next_index_[prefix];
    for (std::uint64_t i = 0; i < count; ++i) {
        AccountSpec spec;
        spec.name = sandbox_name(prefix, next++);
        added.push_back(create(spec));
    }
    return added;
}

SimAccount SimState::add_account(const AccountSpec& spec) {
    std::lock_guard lock(mutex_);
    return create(spec);
}

void SimState::add_ignored_accounts() {
    std::lock_guard lock(mutex_);
    create({"Lab Platform Organization", "organization", "active", std::nullopt});
    create({"trial-tenant", "trial", "active", std::nullopt});
    create({"retired-sandbox", "sandbox", "inactive", std::nullopt});
}

nlohmann::json SimState::list_accounts() const {
    std::lock_guard lock(mutex_);
    auto results = nlohmann::json::array();
    for (const auto& entry : entries_) {
        if (entry.fate == Fate::present) results.push_back(entry.account.to_json());
    }
    return {{"results", std::move(results)}};
}

std::string SimState::list_body() const {
    std::lock_guard lock(mutex_);
    std::string body = "{\"results\":[";
    bool first = true;
    for (const auto& entry : entries_) {
        if (entry.fate != Fate::present) continue;
        if (!first) body += ',';
        first = false;
        body += entry.account.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    body += "]}";
    return body;
}

SimState::Entry* SimState::present_by_uuid(std::string_view uuid) {
    const auto it = by_uuid_.find(uuid);
    if (it == by_uuid_.end()) return nullptr;
    Entry& entry = entries_[it->second];
    return entry.fate == Fate::present ? &entry : nullptr;
}

bool SimState::delete_sandbox(std::string_view uuid) {
    std::lock_guard lock(mutex_);
    Entry* entry = present_by_uuid(uuid);
    if (!entry || entry->account.account_type != "sandbox") {
        ++delete_not_found_;
        return false;
    }
    entry->fate = Fate::deleted;
    ++deleted_;
    return true;
}

bool SimState::vanish(std::int64_t csp_id) {
    std::lock_guard lock(mutex_);
    const auto index = csp_id - kFirstCspId;
    if (index < 0 || index >= static_cast<std::int64_t>(entries_.size())) return false;
    Entry& entry = entries_[static_cast<std::size_t>(index)];
    if (entry.fate != Fate::present) return false;
    entry.fate = Fate::vanished;
    ++vanished_;
    return true;
}

std::string SimState::sign_in() {
    std::lock_guard lock(mutex_);
    return *user_tokens_.insert(ids_.jwt()).first;
}

std::optional<std::string> SimState::switch_account(std::string_view user_jwt, std::string_view account_id) {
    std::lock_guard lock(mutex_);
    if (!user_tokens_.contains(user_jwt)) return std::nullopt;
    const std::string_view uuid = last_segment(account_id);
    if (!present_by_uuid(uuid)) return std::nullopt;
    std::string token = ids_.jwt();
    account_tokens_.emplace(token, std::string(uuid));
    return token;
}

std::optional<std::size_t> SimState::account_of_token(std::string_view account_jwt) const {
    const auto token = account_tokens_.find(account_jwt);
    if (token == account_tokens_.end()) return std::nullopt;
    const std::size_t index = by_uuid_.find(token->second)->second;
    if (entries_[index].fate != Fate::present) return std::nullopt;
    return index;
}

std::optional<std::vector<SimService>> SimState::services(std::string_view account_jwt) const {
    std::lock_guard lock(mutex_);
    const auto index = account_of_token(account_jwt);
    if (!index) return std::nullopt;
    return entries_[*index].account.services;
}

bool SimState::delete_service(std::string_view account_jwt, std::string_view service_id) {
    std::lock_guard lock(mutex_);
    const auto index = account_of_token(account_jwt);
    if (!index) return false;
    auto& services = entries_[*index].account.services;
    for (auto it = services.begin(); it != services.end(); ++it) {
        if (it->id == service_id) {
            services.erase(it);
            ++services_deleted_;
            return true;
        }
    }
    return false;
}

void SimState::count(SimCall call) {
    std::lock_guard lock(mutex_);
    ++calls_[call];
}

SimStats SimState::stats() const {
    std::lock_guard lock(mutex_);
    SimStats s;
    for (const auto& entry : entries_) {
        if (entry.fate != Fate::present) continue;
        if (entry.account.is_active_sandbox()) {
            ++s.active;
        } else {
            ++s.ignored;
        }
        s.services += entry.account.services.size();
    }
    s.deleted = deleted_;
    s.vanished = vanished_;
    s.services_deleted = services_deleted_;
    s.delete_not_found = delete_not_found_;
    s.calls = calls_;
    return s;
}

nlohmann::json SimState::inventory() const {
    std::lock_guard lock(mutex_);
    auto accounts = nlohmann::json::array();
    for (const auto& entry : entries_) {
        auto item = entry.account.to_json();
        item["fate"] = entry.fate == Fate::present   ? "present"
                       : entry.fate == Fate::deleted ? "deleted"
                                                     : "vanished";
        item["services"] = entry.account.services.size();
        accounts.push_back(std::move(item));
    }
    return {{"accounts", std::move(accounts)}};
}

}  // namespace broker::sim
