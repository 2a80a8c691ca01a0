#!/usr/bin/env sh
# Creates the Compose recipe's secret files under secrets/ (random values; an existing file is
# kept, so running it again changes nothing). The CSP token is a placeholder the simulator
# accepts: put the real provider token there for a real deployment.
set -eu
cd "$(dirname "$0")"
umask 077
mkdir -p secrets
random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
put() { [ -s "secrets/$1" ] || printf '%s\n' "$2" > "secrets/$1"; }
put postgres_password "$(random)"
put broker_api_token "$(random)"
put broker_admin_token "$(random)"
put csp_api_token "demo-$(random)"
put grafana_admin_password "$(random)"
put broker_store "postgresql://broker:$(cat secrets/postgres_password)@postgres:5432/broker"
# The container user (uid 10001) reads the files Compose mounts from here.
chmod 644 secrets/*
echo "secrets in $(pwd)/secrets (participant token: secrets/broker_api_token)"
