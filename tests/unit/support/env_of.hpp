// An environment made of fixed values, for tests of the configuration readers.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/env_value.hpp"

namespace broker::testing {

inline EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        if (auto it = values.find(name); it != values.end()) return it->second;
        return std::nullopt;
    };
}

}  // namespace broker::testing
