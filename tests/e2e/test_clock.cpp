// The end-to-end tests' clock file: see test_clock.hpp.
#include "e2e/test_clock.hpp"

#include <fstream>
#include <stdexcept>

namespace broker::e2e {

TestClock::TestClock() : path_(dir_.path() / "clock") {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    ms_ = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count() * 1000;
    write();
}

void TestClock::advance(std::chrono::milliseconds by) {
    ms_ += by.count();
    write();
}

// A new file renamed over the old: the broker never reads half a time.
void TestClock::write() const {
    const auto next = dir_.path() / "clock.next";
    {
        std::ofstream out(next, std::ios::binary | std::ios::trunc);
        out << ms_ << '\n';
        if (!out) throw std::runtime_error("cannot write " + next.string());
    }
    std::filesystem::rename(next, path_);
}

}  // namespace broker::e2e
