// Blocking and waiting for the stop signals.
#include "runtime/stop_signals.hpp"

#include <pthread.h>

namespace broker {

StopSignals::StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

int StopSignals::wait() const {
    int received = 0;
    sigwait(&set_, &received);
    return received;
}

const char* StopSignals::name(int signal) {
    return signal == SIGINT ? "SIGINT" : "SIGTERM";
}

}  // namespace broker
