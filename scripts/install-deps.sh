#!/usr/bin/env bash
# Installs the Debian 12 packages that the build, the tests and the benchmarks need.
# Quick and offline when everything is already installed (checked with dpkg-query first).
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential cmake ninja-build pkg-config ccache
    # libraries the broker links
    libboost-dev libboost-system-dev libsqlite3-dev sqlite3 nlohmann-json3-dev libspdlog-dev libfmt-dev
    libcli11-dev libssl-dev libcurl4-openssl-dev libpqxx-dev libpq-dev libmimalloc-dev
    # tests and benchmarks
    libgtest-dev libgmock-dev libbenchmark-dev wrk curl ca-certificates
    # the PostgreSQL store's conformance run, and clang for the fuzz target
    postgresql clang libclang-rt-14-dev
    # the container test: podman with runc (tests/container/containers.conf), its network
    # backend for the build's RUN steps, and debootstrap for the locally imported Debian base
    podman runc netavark aardvark-dns iptables debootstrap
    # the dashboard: Chart.js, embedded at build time; its browser tests in headless Chromium
    libjs-chart.js chromium chromium-driver python3-selenium
)
# Node.js and npm run the OpenAPI validator (tools/openapi-validate). Debian's packages, unless
# the machine already has a node and an npm of its own (another distribution's nodejs
# conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    PACKAGES+=(nodejs npm)
fi

# The deploy kit's checks: promtool (Debian ships it in the prometheus package) for the alert
# rules, and kubectl to render the Kubernetes recipes (Debian's kubernetes-client, unless the
# machine already has a kubectl of its own: the two packages conflict).
PACKAGES+=(prometheus)
if ! command -v kubectl >/dev/null; then
    PACKAGES+=(kubernetes-client)
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

# The prometheus package also installs a server and, where systemd runs, starts it: only its
# promtool is wanted here, so a server this script's install started is stopped again.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null &&
    systemctl is-active --quiet prometheus 2>/dev/null; then
    "${as_root[@]}" systemctl disable --now prometheus || true
fi

# The project's npm tools, each exactly as its lock file says; skipped (offline) when the
# installed tree already matches the lock file:
#   tools/openapi-validate  the OpenAPI document's validator
#   tools/deploy-check      the deployment recipes' check
#   tools/dynalite          the DynamoDB emulator the DynamoDB store's tests run against
for tool in openapi-validate deploy-check dynalite; do
    dir="$(dirname "$0")/../tools/$tool"
    if [[ ! -f "$dir/node_modules/.package-lock.json" ||
          "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        echo "install-deps: npm ci in tools/$tool"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
done
