#!/usr/bin/env bash
# Make sure Debian's chromium (used headless by the Playwright browser tests) and a
# CJK font are installed. Idempotent: runs apt-get only when /usr/bin/chromium (or
# fonts-noto-cjk) is missing.
# Never downloads a Playwright-managed browser.
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
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure_chromium: $CHROMIUM is missing and this is not root (no sudo); install: ${PACKAGES[*]}" >&2
    exit 1
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
