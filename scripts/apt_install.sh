#!/usr/bin/env bash
# Shared by scripts/ensure_*.sh: install Debian packages with apt, or say how.
#
#   source scripts/apt_install.sh
#   apt_install NAME "what is skipped without them" "why CI needs them" PACKAGE...
#
# As root (or with password-less sudo) it waits for any other apt/dpkg run to release its
# locks, then runs apt-get update and apt-get install. Without root it prints the exact
# apt-get command and exits the calling script: 0 normally (the caller's tests are skipped),
# 1 when CI is set (CI must run them).

apt_install() {
  local name="$1" skipped="$2" ci_reason="$3"
  shift 3
  local packages=("$@") sudo=""
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      echo "$name: missing ${packages[*]}, and this is not root (no password-less sudo)," >&2
      echo "  so it cannot be installed here. Install it once as root:" >&2
      echo "      apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
      if [[ -n "${CI:-}" ]]; then
        echo "$name: $ci_reason; failing." >&2
        exit 1
      fi
      echo "$name: $skipped" >&2
      exit 0
    fi
  fi
  # another apt/dpkg run (the other ensure_* script, a background install) holds the locks
  if command -v fuser >/dev/null 2>&1; then
    local waited=0
    while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
      if (( waited == 0 )); then echo "$name: waiting for another apt/dpkg process to finish..."; fi
      sleep 5
      waited=$((waited + 5))
      if (( waited >= 1800 )); then
        echo "$name: apt is still locked after ${waited}s; giving up." >&2
        exit 1
      fi
    done
  fi
  echo "$name: missing ${packages[*]}; running apt-get update"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  echo "$name: installing ${packages[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
}
