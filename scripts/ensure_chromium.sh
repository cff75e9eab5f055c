#!/usr/bin/env bash
# Make sure Debian's chromium (used headless by the Playwright browser tests) and a
# CJK font are installed. Idempotent: runs apt-get only when /usr/bin/chromium (or
# fonts-noto-cjk) is missing.
# Never downloads a Playwright-managed browser. Without root (or password-less sudo) it
# prints the exact apt-get command and exits 0, so that `make test` runs everything but the
# browser tests; with CI set it exits 1 instead, since CI must run them.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium fonts-noto-cjk)

have_fonts() { dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'install ok installed'; }

if [[ -x "$CHROMIUM" ]] && have_fonts; then
  version="$("$CHROMIUM" --version 2>/dev/null | tail -n 1 || true)"
  echo "ensure_chromium: $CHROMIUM (${version:-version unknown}) and fonts-noto-cjk already installed; nothing to do."
  exit 0
fi
if [[ -x "$CHROMIUM" ]]; then
  PACKAGES=(fonts-noto-cjk)
  echo "ensure_chromium: $CHROMIUM present, but fonts-noto-cjk is missing (Chinese would render as boxes)."
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "ensure_chromium: missing ${PACKAGES[*]}, and this is not root (no password-less sudo)," >&2
    echo "  so it cannot be installed here. Install it once as root:" >&2
    echo "      apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    if [[ -n "${CI:-}" ]]; then
      echo "ensure_chromium: CI must run the browser tests; failing." >&2
      exit 1
    fi
    echo "ensure_chromium: the browser tests (tests/browser) will be skipped; everything else runs." >&2
    exit 0
  fi
fi

# Wait for another apt/dpkg run (e.g. a background install) to release its locks.
wait_for_apt() {
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    if (( waited == 0 )); then echo "ensure_chromium: waiting for another apt/dpkg process to finish..."; fi
    sleep 5
    waited=$((waited + 5))
    if (( waited >= 1800 )); then
      echo "ensure_chromium: apt is still locked after ${waited}s; giving up." >&2
      exit 1
    fi
  done
}

export DEBIAN_FRONTEND=noninteractive
if command -v fuser >/dev/null 2>&1; then wait_for_apt; fi

echo "ensure_chromium: missing ${PACKAGES[*]}; running apt-get update"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
echo "ensure_chromium: installing ${PACKAGES[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if [[ -x "$CHROMIUM" ]]; then
  echo "ensure_chromium: installed $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
else
  echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
