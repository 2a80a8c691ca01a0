#!/usr/bin/env bash
# Makes the Debian 12 base image the container build starts from where no container registry
# is reachable: debootstrap --variant=minbase bookworm into .cache/container-base/ and
# `podman import` it. Cached: does nothing when the image already exists (about 90 s otherwise).
# Prints the image name, for `podman build --build-arg BASE=... --build-arg BUILD_BASE=...`.
#   CONTAINER_BASE_IMAGE  the name to import as (default localhost/sandbox-broker-base:bookworm)
#   DEBIAN_MIRROR         the Debian mirror debootstrap reads (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  its security archive (default http://deb.debian.org/debian-security)
set -euo pipefail
cd "$(dirname "$0")/.."

image=${CONTAINER_BASE_IMAGE:-localhost/sandbox-broker-base:bookworm}
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

root=.cache/container-base/rootfs
rm -rf "$root"
mkdir -p "$root"
echo "container-base: debootstrap --variant=minbase bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >.cache/container-base/debootstrap.log 2>&1 || {
    tail -n 20 .cache/container-base/debootstrap.log >&2
    exit 1
}
# The sources a registry's debian:bookworm has: the release, its updates and its security
# fixes, so that images built on this base get the same package versions as a host that is
# up to date (and the same headers: a compiler cache shared with the host then hits).
rm -f "$root"/etc/apt/sources.list
cat >"$root"/etc/apt/sources.list.d/debian.sources <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# A smaller import: no package lists, caches or documentation (apt-get update refills the lists).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
rm -rf "$root"
echo "$image"
