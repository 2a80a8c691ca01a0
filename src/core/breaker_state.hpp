// The states of a circuit breaker, shared by the breaker itself (provider/) and the gauge
// that reports it (obs/, where closed = 0, open = 1, half_open = 2).
#pragma once

namespace broker {

enum class BreakerState {
    closed = 0,     // calls go through
    open = 1,       // calls are refused until the open period ends
    half_open = 2,  // one probe call may go through; its outcome closes or reopens the circuit
};

}  // namespace broker
