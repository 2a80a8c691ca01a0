#include "http/request_id.hpp"

#include <cstdint>
#include <random>

namespace broker {
namespace {

// splitmix64: fast and well mixed; ids need uniqueness, not secrecy.
std::uint64_t next_random() {
    thread_local std::uint64_t state = [] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

bool is_sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string new_request_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (int half = 0; half < 2; ++half) {
        std::uint64_t bits = next_random();
        for (int i = 0; i < 16; ++i, bits >>= 4)
            id[static_cast<std::size_t>(half * 16 + i)] = kHex[bits & 0xf];
    }
    return id;
}

std::string request_id_for(std::string_view incoming) {
    return is_sane_request_id(incoming) ? std::string(incoming) : new_request_id();
}

}  // namespace broker
