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

source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
apt_install ensure_services "the two-replica test (tests/scale/test_replicas.py) will be skipped." "CI must run the scale-out test" "${PACKAGES[@]}"

if have_postgres && have_redis; then
  echo "ensure_services: installed $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1) and $(command -v redis-server || echo /usr/bin/redis-server)"
else
  echo "ensure_services: apt-get finished but initdb or redis-server is still missing" >&2
  exit 1
fi
