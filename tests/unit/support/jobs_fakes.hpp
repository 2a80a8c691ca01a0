// Hand-written fakes for the job tests: a provider holding accounts in memory (deletes really
// remove them, a second delete answers 404) with scripted failures, and a scripted NIOSXaaS
// step. Thread-safe: two workers may share one. Test-only.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "provider/provider.hpp"

namespace broker::testing {

class FakeProvider final : public Provider {
  public:
    // Adds accounts `<prefix>00000`... with csp ids `first_id`...
    void add_accounts(int count, int first_id = 100000, const std::string& prefix = "sbx-") {
        std::lock_guard lock(mutex_);
        for (int i = 0; i < count; ++i) {
            const std::string id = std::to_string(first_id + i);
            char name[32];
            std::snprintf(name, sizeof name, "%s%05d", prefix.c_str(), i);
            accounts_[id] = {id, name, "identity/accounts/uuid-" + id, "sfdc-" + id};
        }
    }
    // The account disappears without a delete (removed by hand at the provider).
    void vanish(const std::string& sandbox_id) {
        std::lock_guard lock(mutex_);
        hidden_[sandbox_id] = accounts_.at(sandbox_id);
        accounts_.erase(sandbox_id);
    }
    void reappear(const std::string& sandbox_id) {
        std::lock_guard lock(mutex_);
        accounts_[sandbox_id] = hidden_.at(sandbox_id);
        hidden_.erase(sandbox_id);
    }
    // The account is deleted at the provider as if by us before a crash.
    void delete_behind_our_back(const std::string& external_id) {
        std::lock_guard lock(mutex_);
        remove_locked(external_id);
    }

    void fail_list(bool fail) {
        std::lock_guard lock(mutex_);
        fail_list_ = fail;
    }
    // Every delete of `external_id` fails (retryable outage) until cleared.
    void fail_deletes_of(const std::string& external_id, bool fail) {
        std::lock_guard lock(mutex_);
        if (fail) {
            failing_.insert(external_id);
        } else {
            failing_.erase(external_id);
        }
    }
    void circuit_open(bool open) {
        std::lock_guard lock(mutex_);
        circuit_open_ = open;
    }
    // Called inside every delete before anything else (to block, count, or stop a worker).
    void on_delete(std::function<void(const std::string&)> hook) {
        std::lock_guard lock(mutex_);
        on_delete_ = std::move(hook);
    }

    ListResult list_sandboxes() override {
        std::lock_guard lock(mutex_);
        ++list_calls_;
        ListResult r;
        r.attempts = 1;
        if (fail_list_) {
            r.failure = ProviderFailure{ProviderFailureKind::bad_response, "HTML instead of JSON", {}};
            return r;
        }
        for (const auto& [id, account] : accounts_) r.sandboxes.push_back(account);
        r.ignored = 2;  // a non-sandbox and an inactive account, as the real list has
        return r;
    }

    DeleteResult delete_sandbox(const std::string& external_id) override {
        std::function<void(const std::string&)> hook;
        {
            std::lock_guard lock(mutex_);
            hook = on_delete_;
        }
        if (hook) hook(external_id);
        std::lock_guard lock(mutex_);
        ++delete_calls_;
        DeleteResult r;
        r.attempts = 1;
        if (circuit_open_) {
            r.failure = ProviderFailureKind::circuit_open;
            r.reason = "circuit_open: circuit open after repeated provider failures";
            r.retryable = true;
            return r;
        }
        if (failing_.count(external_id)) {
            r.failure = ProviderFailureKind::unavailable;
            r.reason = "unavailable: HTTP 500";
            r.retryable = true;
            return r;
        }
        r.status = remove_locked(external_id) ? DeleteStatus::deleted : DeleteStatus::already_gone;
        return r;
    }

    int list_calls() const {
        std::lock_guard lock(mutex_);
        return list_calls_;
    }
    int delete_calls() const {
        std::lock_guard lock(mutex_);
        return delete_calls_;
    }
    // How often each account was really removed: never more than once, whatever happens.
    std::map<std::string, int> removals() const {
        std::lock_guard lock(mutex_);
        return removals_;
    }
    std::size_t active() const {
        std::lock_guard lock(mutex_);
        return accounts_.size();
    }

  private:
    bool remove_locked(const std::string& external_id) {
        for (auto it = accounts_.begin(); it != accounts_.end(); ++it) {
            if (it->second.external_id == external_id) {
                ++removals_[external_id];
                accounts_.erase(it);
                return true;
            }
        }
        return false;
    }

    mutable std::mutex mutex_;
    std::map<std::string, ProviderSandbox> accounts_;
    std::map<std::string, ProviderSandbox> hidden_;
    std::set<std::string> failing_;
    std::map<std::string, int> removals_;
    std::function<void(const std::string&)> on_delete_;
    bool fail_list_ = false;
    bool circuit_open_ = false;
    int list_calls_ = 0;
    int delete_calls_ = 0;
};

class FakeCleaner final : public ServiceCleaner {
  public:
    explicit FakeCleaner(CleanupOutcome outcome = CleanupOutcome::cleaned, int services = 1)
        : outcome_(outcome), services_(services) {}
    CleanupResult cleanup(const std::string& external_id) override {
        std::lock_guard lock(mutex_);
        calls_.push_back(external_id);
        CleanupResult r;
        r.outcome = outcome_;
        r.services = services_;
        if (outcome_ == CleanupOutcome::failed) r.reason = "sign-in failed: HTTP 401";
        return r;
    }
    std::vector<std::string> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    mutable std::mutex mutex_;
    CleanupOutcome outcome_;
    int services_;
    std::vector<std::string> calls_;
};

}  // namespace broker::testing
