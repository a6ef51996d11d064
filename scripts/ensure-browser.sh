#!/usr/bin/env bash
# Makes sure the browser test can run: Debian's chromium and chromium-driver, and Selenium from PyPI.
# On Debian as root it installs what is missing; otherwise it says what to install. The test never skips.
set -euo pipefail

have_browser() { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }
have_selenium() { python3 -c 'import selenium' 2>/dev/null; }

if ! have_browser; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing chromium and chromium-driver with apt-get..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "chromium is missing: sudo apt-get install chromium chromium-driver" >&2
        exit 1
    fi
fi
if ! have_selenium; then
    # 4.45.0: later releases want a newer certifi than some registries have.
    python3 -m pip install --quiet selenium==4.45.0 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages selenium==4.45.0
fi
