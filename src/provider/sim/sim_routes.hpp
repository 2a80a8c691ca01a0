// The simulator's routes, registered on the project's own Router: the CSP account paths
// (ARCHITECTURE §5) under /v2, the NIOSXaaS session and service paths, and the /_sim
// control paths that tests and demos use to inspect and steer it. Faults apply to the
// provider paths only, never to /_sim.
#pragma once

#include <string>

#include "http/router.hpp"
#include "provider/sim/fault_injector.hpp"
#include "provider/sim/sim_state.hpp"

namespace broker::sim {

// What every simulator handler works on; outlives the server.
struct Simulator {
    SimState& state;
    FaultInjector& faults;
    std::string token;        // the CSP API token required on /v2 account paths; empty: none required
    std::string name_prefix;  // for POST /_sim/accounts without one
};

// GET /v2/current_user/accounts, DELETE /v2/sandbox/accounts/{uuid}.
void add_csp_routes(Router& router, Simulator& sim);

// POST /v2/session/users/sign_in, POST /v2/session/account_switch,
// GET and DELETE /api/universalinfra/v1/universalservices[/{uuid}].
void add_niosxaas_routes(Router& router, Simulator& sim);

// GET /_sim/stats, GET /_sim/accounts, POST /_sim/accounts, POST /_sim/accounts/{csp_id}/vanish,
// GET and POST /_sim/faults.
void add_control_routes(Router& router, Simulator& sim);

}  // namespace broker::sim
