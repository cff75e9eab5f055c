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

source "$(dirname "${BASH_SOURCE[0]}")/apt_install.sh"
apt_install ensure_chromium "the browser tests (tests/browser) will be skipped; everything else runs." "CI must run the browser tests" "${PACKAGES[@]}"

if [[ -x "$CHROMIUM" ]]; then
  echo "ensure_chromium: installed $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"
else
  echo "ensure_chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
