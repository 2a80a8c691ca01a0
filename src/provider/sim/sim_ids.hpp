// Identifiers and timestamps for the provider simulator, shaped like the real provider's:
// `identity/accounts/<uuid v4>`, 18-character Salesforce account ids, ISO 8601 timestamps
// with microseconds. Drawn from a seeded generator so a given --seed gives the same ids on
// every run, which keeps demos and failing tests reproducible.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "core/clock.hpp"

namespace broker::sim {

class IdGenerator {
  public:
    explicit IdGenerator(std::uint64_t seed) : random_(seed) {}

    // "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx", lower-case hex.
    std::string uuid4();

    // "001" followed by 15 letters and digits, like a Salesforce account id.
    std::string sfdc_account_id();

    // An opaque bearer token for the NIOSXaaS session endpoints.
    std::string jwt();

    // A number in [0, bound).
    std::uint64_t below(std::uint64_t bound);

  private:
    std::mt19937_64 random_;
};

// "2025-03-27T16:53:47.605459Z" for `seconds` since the epoch plus `micros`.
std::string iso_timestamp(UnixSeconds seconds, int micros);

// "<prefix><index>", the index zero-padded to at least four digits ("lab-0007", "lab-12345").
std::string sandbox_name(const std::string& prefix, std::uint64_t index);

}  // namespace broker::sim
