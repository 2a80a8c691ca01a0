// The sandbox columns the SQL stores' row readers read, in their order: one list that every
// statement returning sandboxes (src/store/*/sql/*.sql) matches and the readers check, so a
// column put in the wrong place in a statement fails at the first read, not silently.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace broker {

inline constexpr std::array<std::string_view, 15> kSandboxColumns{"sandbox_id",
                                                                  "name",
                                                                  "external_id",
                                                                  "sfdc_account_id",
                                                                  "status",
                                                                  "allocated_to_track",
                                                                  "track_name",
                                                                  "idempotency_key",
                                                                  "allocated_at",
                                                                  "expires_at",
                                                                  "deletion_requested_at",
                                                                  "deletion_retry_count",
                                                                  "created_at",
                                                                  "updated_at",
                                                                  "version"};

// The index of `column` in kSandboxColumns; a name not in it does not compile.
consteval int sandbox_column(std::string_view column) {
    for (std::size_t i = 0; i < kSandboxColumns.size(); ++i) {
        if (kSandboxColumns[i] == column) return static_cast<int>(i);
    }
    throw "not a sandbox column";
}

// kSandboxColumns followed by `more`, for a statement that returns more after the sandbox.
template <std::size_t N>
consteval std::array<std::string_view, kSandboxColumns.size() + N> sandbox_columns_and(
    std::array<std::string_view, N> more) {
    std::array<std::string_view, kSandboxColumns.size() + N> all{};
    for (std::size_t i = 0; i < kSandboxColumns.size(); ++i) all[i] = kSandboxColumns[i];
    for (std::size_t i = 0; i < N; ++i) all[kSandboxColumns.size() + i] = more[i];
    return all;
}

}  // namespace broker
