// How many cores the process may use, and the thread counts derived from it. The count is the
// CPUs of the affinity mask capped by a cgroup v2 CPU quota (cpu.max): a container limited to
// 2 CPUs on a 64-core host should size its threads for 2, which std::thread::hardware_concurrency
// (the host's CPUs) does not tell.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace broker {

// Cores a cgroup v2 `cpu.max` line grants ("QUOTA PERIOD" in µs, rounded up; "max PERIOD": no
// limit, nullopt). Malformed text: nullopt.
std::optional<int> cores_of_cpu_max(std::string_view text);

// The cores this process may use, at least 1 (computed once per process).
int usable_cores();

// HTTP_THREADS when unset: one I/O thread per two cores, at least one. The I/O threads share
// the cores with the SQLite writer, the blocking pool and (on a small machine) whatever else
// runs there; a second I/O thread on two cores measured more CPU per answer (both threads
// contend for the same queues and wake each other) and no more answers (bench/README.md).
int default_http_threads(int cores);

// STORE_THREADS when unset: 8 per core, between 8 and 64, and no more than
// `store_connections` when given (DB_POOL_SIZE with PostgreSQL; at least 1). Pool threads
// mostly wait (for a reader connection, the SQLite writer, a PostgreSQL or DynamoDB round
// trip), so a few per core keep the cores busy. With PostgreSQL every call holds one of
// DB_POOL_SIZE connections, so threads beyond it only queue for one, which costs thread
// switches on every call; SQLite's and DynamoDB's calls do not all wait on one bounded set
// of connections, so they are not capped.
int default_store_threads(int cores, std::optional<std::size_t> store_connections = std::nullopt);

}  // namespace broker
