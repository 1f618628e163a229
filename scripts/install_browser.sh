#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "warning: chromium is not installed; run 'sudo apt-get install chromium' for the browser tests" >&2
fi
