#!/usr/bin/env bash
# Set up reportgen on a fresh Debian machine (Python 3.11+): the Debian libraries
# WeasyPrint needs (only those missing), a virtual environment in .venv, and the
# locked package versions from requirements.lock (byte-identical output depends on them).
# Usage: bash scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev,dask]"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "reportgen needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi

# Debian packages: WeasyPrint's Pango/HarfBuzz (libharfbuzz-subset0 halves font subsetting
# time), python3-venv for 'python -m venv', poppler-utils for looking at pages (pdftoppm).
needed=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils)
# the live-preview test drives a real headless browser
[ -n "$extras" ] && needed+=(chromium)
if [ "$PYTHON" = python3 ] && [ "$(command -v python3)" = /usr/bin/python3 ]; then
    needed+=(python3-venv)
fi
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${needed[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -c requirements.lock -e ".${extras}"
echo "reportgen is set up in .venv ($(.venv/bin/reportgen --version))"
