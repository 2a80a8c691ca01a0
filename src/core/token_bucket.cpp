// Token-bucket arithmetic in floating-point tokens.
#include "core/token_bucket.hpp"

#include <algorithm>

namespace broker {

double TokenBucket::available(const TokenRate& rate, TimePoint now) const {
    if (now <= updated_) return tokens_;
    const double elapsed = std::chrono::duration<double>(now - updated_).count();
    return std::min(rate.capacity, tokens_ + elapsed * rate.per_second);
}

void TokenBucket::refill(const TokenRate& rate, TimePoint now) {
    tokens_ = available(rate, now);
    updated_ = std::max(updated_, now);
}

bool TokenBucket::try_take() {
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

}  // namespace broker
