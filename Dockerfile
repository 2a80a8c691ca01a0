# sandbox-broker's container image: one image for every role (run, serve, worker, migrate,
# csp-sim, ...), the command chooses. Build with `docker build -t sandbox-broker .`, or with
# podman (`podman build --format docker ...`: the OCI format has no HEALTHCHECK).
#
# Build arguments:
#   BASE         runtime base image (default debian:bookworm-slim)
#   BUILD_BASE   build stage base image (default debian:bookworm); both may be a Debian 12
#                base imported locally (scripts/container-base.sh) where no registry is reachable
#   BROKER_COMMIT  the commit `--version` names (the build context has no .git)
#   BUILD_JOBS   parallel compile jobs (default: every core)
# The build stage uses the compiler cache mounted at /ccache when there is one
# (`podman build -v "$HOME/.ccache:/ccache"`), so that it reuses a host build's cache; without
# it, it compiles from scratch.
ARG BASE=debian:bookworm-slim
ARG BUILD_BASE=debian:bookworm

# The compiler and the -dev packages, a stage of its own so that a build can keep it (tagged)
# as a cache when everything else is removed.
FROM ${BUILD_BASE} AS toolchain
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        g++ make cmake pkg-config ccache \
        libboost-dev libsqlite3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev \
        libssl-dev libcurl4-openssl-dev libpqxx-dev libpq-dev libmimalloc-dev \
        libjs-chart.js \
 && rm -rf /var/lib/apt/lists/*

FROM toolchain AS build
# The same source layout as a checkout (build/ beside src/), so that compiler cache entries
# made by a host build (CCACHE_BASEDIR = the checkout) match the ones made here.
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake/ cmake/
COPY src/ src/
ARG BROKER_COMMIT=unknown
ARG BUILD_JOBS=
# BROKER_TEST_HOOKS=OFF: the image's binary has no --test-clock (the tests' clock).
RUN set -eu; \
    launcher=""; \
    if [ -d /ccache ]; then \
        export CCACHE_DIR=/ccache CCACHE_BASEDIR=/src; \
        launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; \
    fi; \
    BROKER_COMMIT="$BROKER_COMMIT" cmake --preset release -DBROKER_BUILD_TESTS=OFF -DBROKER_BUILD_BENCH=OFF -DBROKER_TEST_HOOKS=OFF $launcher; \
    cmake --build --preset release --target sandbox-broker -j"${BUILD_JOBS:-$(nproc)}"; \
    strip -o /sandbox-broker build/sandbox-broker; \
    if [ -d /ccache ]; then ccache --show-stats | grep -E 'Hits|Misses' || true; fi

FROM ${BASE} AS runtime-libs
# Only the libraries the binary links, and CA certificates for the provider's HTTPS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates libcurl4 libpq5 libpqxx-6.4 libspdlog1.10 libfmt9 libmimalloc2.0 libsqlite3-0 libssl3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
           /usr/share/doc/* /usr/share/man/* /usr/share/info/*
# A fixed non-root user, so that volume permissions and runAsUser are known in advance.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin broker \
 && install -d -o broker -g broker -m 700 /data

FROM runtime-libs
COPY --from=build /sandbox-broker /usr/local/bin/sandbox-broker

# The embedded store lives on /data: the working directory is /, so the binary's default
# store, sqlite:data/broker.db, is /data/broker.db. BROKER_STORE is not set here, so that
# BROKER_STORE_FILE (a secret) can be given instead. Nothing else is written (works with
# --read-only; the libraries may use /tmp, give it a tmpfs). METRICS_LISTEN is left unset:
# /metrics is on the API's port; set it (e.g. 0.0.0.0:9090) for a worker, so that it can be
# scraped and health-checked.
ENV BROKER_LISTEN=0.0.0.0:8080 \
    SHUTDOWN_DRAIN_SEC=5
VOLUME /data
WORKDIR /
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/sandbox-broker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sandbox-broker"]
CMD ["run"]
