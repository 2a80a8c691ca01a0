// SIGINT and SIGTERM taken synchronously: blocked before any thread starts (so every thread
// inherits the mask and none is interrupted), then waited for where the program chooses to stop.
#pragma once

#include <signal.h>

namespace broker {

class StopSignals {
  public:
    // Blocks SIGINT and SIGTERM in the calling thread; construct it before starting threads.
    StopSignals();

    // Waits for one of them and returns it.
    int wait() const;
    const sigset_t& set() const { return set_; }

    // "SIGINT" or "SIGTERM", for the log line that says why the program stops.
    static const char* name(int signal);

  private:
    sigset_t set_;
};

}  // namespace broker
