#!/usr/bin/env bash
# Install Debian's Chromium for docs/check_site.py; does nothing when a
# Chromium is already on PATH. Needs root or sudo, and apt.
set -euo pipefail
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "found $(command -v "$name")"
        exit 0
    fi
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
