#!/usr/bin/env bash
# Install Debian's Chromium and its chromedriver, for docs/check_site.py and
# the labeling app's browser test (tests/test_labeling_browser.py); does
# nothing when both are there. Needs root or sudo, and apt.
set -euo pipefail
have_browser=""
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        have_browser="$(command -v "$name")"
        break
    fi
done
if [ -n "$have_browser" ] && [ -x /usr/bin/chromedriver ]; then
    echo "found $have_browser and /usr/bin/chromedriver"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium chromium-driver
