#!/usr/bin/env bash
# Makes sure a Chromium exists at /usr/bin/chromium, because the status-page tests drive a real
# headless browser through playwright-core (which downloads no browser of its own here).
# Installs Debian's chromium package only when it is missing and we can (root + apt-get);
# otherwise says exactly what to install.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then exit 0; fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM missing; installing Debian's chromium package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # fonts-liberation: metric-compatible fonts, so pages lay out as they do on real devices.
  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi

cat >&2 <<'MSG'
Chromium was not found at /usr/bin/chromium (the status-page tests run it headless).
Install it, e.g.:  sudo apt-get install chromium        (Debian)
                   sudo apt-get install chromium-browser (Ubuntu; then link it to /usr/bin/chromium)
MSG
exit 1
