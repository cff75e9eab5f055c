#!/usr/bin/env bash
# Make sure Debian's PostgreSQL and Redis server binaries are installed, for the scale-out
# test (tests/scale/test_replicas.py starts its own throwaway servers on loopback; nothing
# here starts or configures a service). Idempotent: runs apt-get only when initdb (looked up
# where Debian installs it, /usr/lib/postgresql/*/bin) or redis-server is missing.
# Without root (or password-less sudo) it prints the exact apt-get command and exits 0, so
# that `make test` runs everything but that test; with CI set it exits 1 instead, since CI
# must run it.
set -euo pipefail

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]]; }

PACKAGES=()
have_postgres || PACKAGES+=(postgresql)
have_redis || PACKAGES+=(redis-server)

if (( ${#PACKAGES[@]} == 0 )); then
  pg="$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || command -v initdb)"
  redis="$(command -v redis-server || echo /usr/bin/redis-server)"
  echo "ensure_services: $pg and $redis already installed; nothing to do."
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "ensure_services: missing ${PACKAGES[*]}, and this is not root (no password-less sudo)," >&2
    echo "  so it cannot be installed here. Install it once as root:" >&2
    echo "      apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    if [[ -n "${CI:-}" ]]; then
      echo "ensure_services: CI must run the scale-out test; failing." >&2
      exit 1
    fi
    echo "ensure_services: the two-replica test (tests/scale/test_replicas.py) will be skipped." >&2
    exit 0
  fi
fi

# Wait for another apt/dpkg run (e.g. ensure_chromium.sh in parallel) to release its locks.
wait_for_apt() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    if (( waited == 0 )); then echo "ensure_services: waiting for another apt/dpkg process to finish..."; fi
    sleep 5
    waited=$((waited + 5))
    if (( waited >= 1800 )); then
      echo "ensure_services: apt is still locked after ${waited}s; giving up." >&2
      exit 1
    fi
  done
}

export DEBIAN_FRONTEND=noninteractive
if command -v fuser >/dev/null 2>&1; then wait_for_apt; fi

echo "ensure_services: missing ${PACKAGES[*]}; running apt-get update"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
echo "ensure_services: installing ${PACKAGES[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if have_postgres && have_redis; then
  echo "ensure_services: installed $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) and $(command -v redis-server || echo /usr/bin/redis-server)"
else
  echo "ensure_services: apt-get finished but initdb or redis-server is still missing" >&2
  exit 1
fi
