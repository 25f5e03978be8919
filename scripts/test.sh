#!/usr/bin/env bash
# The README's second command (and CI's): install what the tests need, then run them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PORTSIDE_TEST_TOOLS=1 bash scripts/setup-host.sh
# Base images from the Debian mirror: no registry is needed (or reachable) here.
python3 -m portside base-images --ca-bundle /etc/ssl/certs/ca-certificates.crt
mkdir -p artifacts
echo "lint: ruff, and mypy --strict on all of src"
python3 -m ruff check src tests scripts bench/gateway bench/deploy bench/tls bench/soak
python3 -m mypy --strict --ignore-missing-imports src
exec python3 -m pytest -p no:cacheprovider "$@"
