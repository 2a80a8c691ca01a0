// A sandbox as the admin API answers it: every field, times as Unix seconds or null, strings
// never null. Shared by the admin and dashboard endpoints.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "core/sandbox.hpp"

namespace broker {

nlohmann::json time_or_null(const std::optional<UnixSeconds>& t);
nlohmann::json sandbox_json(const Sandbox& s);

}  // namespace broker
