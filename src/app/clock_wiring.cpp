// The broker's clock, wired: see clock_wiring.hpp.
#include "app/clock_wiring.hpp"

namespace broker {

std::unique_ptr<Clock> make_clock(const std::string& test_clock_file) {
    if (test_clock_file.empty()) return std::make_unique<SystemClock>();
    return std::make_unique<FileClock>(test_clock_file);
}

ClockWatch::ClockWatch(Clock& clock, const std::vector<std::function<void()>>& on_move)
    : clock_(dynamic_cast<FileClock*>(&clock)) {
    if (!clock_ || on_move.empty()) return;
    for (const auto& listener : on_move) clock_->on_move(listener);
    clock_->start_watching();
}

void ClockWatch::stop() {
    if (clock_) clock_->stop_watching();
}

}  // namespace broker
