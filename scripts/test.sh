#!/usr/bin/env bash
# The README's second command (and CI's): install what the tests need, then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTSIDE_TEST_TOOLS=1 bash scripts/setup-host.sh
python3 -c "import playwright" 2>/dev/null || python3 -m pip install -q playwright 2>&1 | grep -v "as the 'root' user" || true
# Base images from the Debian mirror: no registry is needed (or reachable) here.
portside base-images --ca-bundle /etc/ssl/certs/ca-certificates.crt
mkdir -p artifacts
exec python3 -m pytest -p no:cacheprovider "$@"
