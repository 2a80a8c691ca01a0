// Threat: guessing a token through response timing. A comparison that stops at the first
// differing byte, or at a length mismatch, answers a near-miss measurably slower than a
// far miss, and the token can be found a byte (or its length) at a time. Defence:
// http/auth hashes the presented token and compares SHA-256 digests with CRYPTO_memcmp, so
// the work depends on neither the configured token's content nor its length.
//
// Measured on the Authenticator itself (the network would drown the signal). To make a leak
// large enough to see on a busy 2-core machine, the configured token is 4 KiB: an early
// exit would skip most of 4 KiB of comparing (or all of the hashing, for a length check), a
// 5-20x difference, while a sound implementation costs the same for every guess. Batches of
// each kind of guess are interleaved and the order rotated, so load changes hit all kinds
// alike; the verdict is the median over many rounds of each kind's time relative to the
// far miss, with a generous bound (±35 %). The hash length of the guesses is kept equal
// (4 KiB vs 4 KiB + 1 byte fall in the same number of SHA-256 blocks).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "http/auth.hpp"

namespace broker {
namespace {

constexpr std::size_t kTokenBytes = 4096;
constexpr int kRounds = 61;
constexpr int kBatch = 40;

std::string random_token(std::mt19937_64& rng, std::size_t size) {
    static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(size, 'a');
    for (auto& c : out) c = kAlphabet[rng() % kAlphabet.size()];
    return out;
}

double median(std::vector<double> values) {
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    return values[values.size() / 2];
}

// Each kind's cost relative to kind 0: for every round, one batch of each kind (the order
// rotated), each batch's time divided by kind 0's in the same round; the median per kind.
template <class Call>
std::vector<double> median_cost_ratios(std::size_t kinds, const Call& call) {
    std::vector<std::vector<double>> ratios(kinds);
    std::vector<double> took(kinds);
    for (int round = 0; round < kRounds; ++round) {
        for (std::size_t k = 0; k < kinds; ++k) {
            const std::size_t kind = (round + k) % kinds;
            const auto started = std::chrono::steady_clock::now();
            for (int i = 0; i < kBatch; ++i) call(kind);
            took[kind] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        }
        for (std::size_t kind = 0; kind < kinds; ++kind) ratios[kind].push_back(took[kind] / took[0]);
    }
    std::vector<double> medians;
    for (auto& r : ratios) medians.push_back(median(r));
    return medians;
}

struct Guesses {
    std::string token;
    std::string far_miss;      // right length, differs at the first byte
    std::string near_miss;     // right length, only the last byte differs
    std::string wrong_length;  // the token plus one byte: the same number of SHA-256 blocks
};

Guesses guesses() {
    std::mt19937_64 rng(20261130);
    Guesses g;
    g.token = random_token(rng, kTokenBytes);
    g.near_miss = g.token;
    g.near_miss.back() = g.near_miss.back() == 'x' ? 'y' : 'x';
    g.far_miss = random_token(rng, kTokenBytes);
    g.far_miss.front() = g.token.front() == 'x' ? 'y' : 'x';
    g.wrong_length = g.token + "z";
    return g;
}

void expect_same_cost(const std::vector<double>& medians, const char* what) {
    const double near = medians[1];
    const double length = medians[2];
    EXPECT_GT(near, 0.74) << what << ": a near miss is answered faster than a far miss";
    EXPECT_LT(near, 1.35) << what << ": a near miss costs more than a far miss: a prefix leaks";
    EXPECT_GT(length, 0.74) << what << ": a wrong-length token is answered faster: the length leaks";
    EXPECT_LT(length, 1.35) << what << ": a wrong-length token costs more than a right-length one";
}

// Through the whole Authenticator, as a request's Authorization header is: an early exit on
// the length (before hashing) shows here.
TEST(TokenTiming, AuthenticatingAWrongTokenCostsTheSameWhateverItsPrefixOrLength) {
    const Guesses g = guesses();
    std::mt19937_64 rng(7);
    const Authenticator auth(g.token, random_token(rng, kTokenBytes));
    const std::array<std::string, 3> headers = {"Bearer " + g.far_miss, "Bearer " + g.near_miss,
                                                "Bearer " + g.wrong_length};
    for (const auto& header : headers) ASSERT_EQ(auth.authenticate(header), Role::none);
    ASSERT_EQ(auth.authenticate("Bearer " + g.token), Role::participant)
        << "the measured path is the real one";

    int sink = 0;
    const auto medians = median_cost_ratios(
        3, [&](std::size_t kind) { sink += static_cast<int>(auth.authenticate(headers[kind])); });
    EXPECT_EQ(sink, 0);
    RecordProperty("authenticate_near_over_far", std::to_string(medians[1]));
    RecordProperty("authenticate_length_over_far", std::to_string(medians[2]));
    expect_same_cost(medians, "Authenticator");
}

// The comparison alone, without the header parsing whose linear scan of the presented token
// would hide a byte-by-byte early exit: a memcmp-style comparison shows here.
TEST(TokenTiming, ComparingAWrongTokenCostsTheSameWhateverItsPrefixOrLength) {
    const Guesses g = guesses();
    const std::array<const std::string*, 3> presented = {&g.far_miss, &g.near_miss, &g.wrong_length};
    int sink = 0;
    const auto medians = median_cost_ratios(3, [&](std::size_t kind) {
        sink += static_cast<int>(constant_time_equal(*presented[kind], g.token));
    });
    EXPECT_EQ(sink, 0);
    RecordProperty("compare_near_over_far", std::to_string(medians[1]));
    RecordProperty("compare_length_over_far", std::to_string(medians[2]));
    expect_same_cost(medians, "constant_time_equal");
}

// The same property as a plain function: equal digests compare equal, anything else not,
// whatever the lengths (the timing test above measures the cost).
TEST(TokenTiming, ConstantTimeEqualIsEqualityOnAnyLengths) {
    EXPECT_TRUE(constant_time_equal("", ""));
    EXPECT_TRUE(constant_time_equal(std::string(5000, 'a'), std::string(5000, 'a')));
    EXPECT_FALSE(constant_time_equal(std::string(5000, 'a'), std::string(4999, 'a')));
    EXPECT_FALSE(constant_time_equal("token-0123456789abcdef", "token-0123456789abcdeg"));
}

}  // namespace
}  // namespace broker
