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
    # the container test: podman with runc (tests/container/containers.conf), its network
    # backend for the build's RUN steps, and debootstrap for the locally imported Debian base
    podman runc netavark aardvark-dns iptables debootstrap
)
# Node.js and npm run the OpenAPI validator (tools/openapi-validate). Debian's packages, unless
# the machine already has a node and an npm of its own (another distribution's nodejs
# conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    PACKAGES+=(nodejs npm)
fi

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

install_packages() {
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "install-deps: all ${#PACKAGES[@]} packages already installed"
        return 0
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
}
install_packages

# The OpenAPI validator's npm packages, exactly as locked; skipped (offline) when the
# installed tree already matches the lock file.
validator="$(dirname "$0")/../tools/openapi-validate"
if [[ ! -f "$validator/node_modules/.package-lock.json" ||
      "$validator/package-lock.json" -nt "$validator/node_modules/.package-lock.json" ]]; then
    echo "install-deps: npm ci in tools/openapi-validate"
    (cd "$validator" && npm ci --no-audit --no-fund --loglevel=error)
fi
