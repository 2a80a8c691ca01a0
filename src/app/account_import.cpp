// `sandbox-broker import`: see account_import.hpp.
#include "app/account_import.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace broker {
CspAccountCounts check_account_list(std::istream& in) {
    return stream_csp_accounts(in, [](ProviderSandbox&&) {});
}

AccountImport import_account_list(std::istream& in, Store& store, UnixSeconds now, std::size_t chunk) {
    AccountImport result;
    std::vector<ProviderSandbox> pending;
    pending.reserve(chunk);
    const auto flush = [&] {
        if (pending.empty()) return;
        result.summary += store.upsert_provider_sandboxes(pending, now);
        result.listed += pending.size();
        pending.clear();
    };
    try {
        result.ignored = stream_csp_accounts(in, [&](ProviderSandbox&& sandbox) {
                             pending.push_back(std::move(sandbox));
                             if (pending.size() >= chunk) flush();
                         }).ignored;
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error("the account list changed while it was imported (" + std::string(e.what()) +
                                 "); " + std::to_string(result.listed) +
                                 " sandboxes were written before it; import it again once it is whole");
    }
    flush();
    return result;
}

}  // namespace broker
