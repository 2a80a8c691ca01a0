#include "provider/sim/sim_ids.hpp"

#include <fmt/format.h>

#include <ctime>

namespace broker::sim {

std::uint64_t IdGenerator::below(std::uint64_t bound) {
    return std::uniform_int_distribution<std::uint64_t>(0, bound - 1)(random_);
}

std::string IdGenerator::uuid4() {
    const std::uint64_t hi = random_();
    const std::uint64_t lo = random_();
    // Version 4 in the high nibble of the third group, variant 10xx in the fourth.
    const std::uint64_t hi_v4 = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
    const std::uint64_t lo_variant = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi_v4 >> 32, (hi_v4 >> 16) & 0xffff,
                       hi_v4 & 0xffff, lo_variant >> 48, lo_variant & 0xffffffffffffULL);
}

std::string IdGenerator::sfdc_account_id() {
    static constexpr char kAlphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string id = "001";
    for (int i = 0; i < 15; ++i) id.push_back(kAlphabet[below(sizeof kAlphabet - 1)]);
    return id;
}

std::string IdGenerator::jwt() {
    // Three dot-separated parts like a real JWT; nothing reads inside it.
    return fmt::format("eyJzaW0iOnRydWV9.{:016x}{:016x}.{:016x}", random_(), random_(), random_());
}

std::string iso_timestamp(UnixSeconds seconds, int micros) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm utc{};
    gmtime_r(&t, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
}

std::string sandbox_name(const std::string& prefix, std::uint64_t index) {
    return fmt::format("{}{:04}", prefix, index);
}

}  // namespace broker::sim
