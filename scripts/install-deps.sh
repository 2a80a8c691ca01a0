#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the benchmarks need.
# Quick and offline when everything is already installed (checked with dpkg-query first).
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential cmake ninja-build pkg-config ccache
    # libraries the broker links
    libboost-dev libboost-system-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libspdlog-dev libfmt-dev
    libcli11-dev libssl-dev libcurl4-openssl-dev libpqxx-dev libpq-dev
    # tests and benchmarks
    libgtest-dev libgmock-dev libbenchmark-dev wrk curl ca-certificates
    # the PostgreSQL store's conformance run, and clang for the fuzz target
    postgresql clang libclang-rt-14-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "install-deps: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
