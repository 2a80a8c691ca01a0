// What every libFuzzer target here shares: a broken invariant is a finding (abort, so
// libFuzzer keeps the input), and the bytes as a string_view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace broker::fuzz {

inline void check(bool condition) {
    if (!condition) std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace broker::fuzz
