#!/usr/bin/env bash
# The container test's fixture setup (ctest `container_image_build`): builds the image from
# the Dockerfile as users have it, with podman and runc, FROM a Debian base imported locally
# (scripts/container-base.sh), reusing the host's compiler cache when there is one.
#   build-image.sh          builds $BROKER_CONTAINER_IMAGE (default localhost/sandbox-broker:test)
#   build-image.sh remove   removes that image again, and the layers the build left (the
#                           fixture's cleanup); the base and the two stages kept as a cache stay
# The Dockerfile's `toolchain` and `runtime-libs` stages (the apt-get steps) are tagged
# localhost/sandbox-broker-toolchain:cache and localhost/sandbox-broker-runtime-libs:cache, so
# that the next build starts from them instead of installing packages again.
# Exit 77 (ctest: skipped) when podman is missing or cannot run a container here.
# Environment: BROKER_CONTAINER_CCACHE=0 builds without the host's compiler cache (a cold
# build, for measuring), CONTAINER_BASE_IMAGE (see scripts/container-base.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/tests/container/containers.conf}
image=${BROKER_CONTAINER_IMAGE:-localhost/sandbox-broker:test}

if ! command -v podman >/dev/null; then
    echo "skipped: podman is not installed (scripts/install-deps.sh installs it)"
    exit 77
fi
if [[ "${1:-}" == "remove" ]]; then
    podman rmi --force "$image" >/dev/null 2>&1 || true
    podman image prune --force >/dev/null  # the build's untagged layers
    echo "removed $image"
    exit 0
fi

base=$(scripts/container-base.sh)
if ! probe=$(podman run --rm --network none "$base" true 2>&1); then
    echo "skipped: podman cannot run a container here: $probe"
    exit 77
fi

# The host's compiler cache, mounted where the Dockerfile's build stage looks for one: the
# same compiler (Debian's package) and the same relative layout make its entries hit.
volumes=()
if [[ "${BROKER_CONTAINER_CCACHE:-1}" != "0" ]] && command -v ccache >/dev/null; then
    cache_dir=$(ccache --get-config cache_dir)
    mkdir -p "$cache_dir"
    volumes=(--volume "$cache_dir:/ccache")
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

started=$(date +%s)
build=(podman build --format docker --layers --build-arg BASE="$base" --build-arg BUILD_BASE="$base")
"${build[@]}" --target toolchain --tag localhost/sandbox-broker-toolchain:cache .
"${build[@]}" --target runtime-libs --tag localhost/sandbox-broker-runtime-libs:cache .
"${build[@]}" --build-arg BROKER_COMMIT="$commit" "${volumes[@]}" --tag "$image" .
seconds=$(( $(date +%s) - started ))
bytes=$(podman image inspect --format '{{.Size}}' "$image")
echo "[ figures  ] image $image built in ${seconds} s (compiler cache: ${volumes[*]:-none}); size $(( bytes / 1000000 )) MB"
