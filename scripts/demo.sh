#!/usr/bin/env bash
# The README's first command: deploy the bundled example on this machine and prove it answers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
# Base images from the Debian mirror (no registry needed); trust in builds what this host trusts.
python3 -m portside base-images --ca-bundle /etc/ssl/certs/ca-certificates.crt
python3 -m portside up --local examples/fullstack "$@"
python3 scripts/prove.py https://localhost:8443 --ca "${PORTSIDE_STATE_DIR:-/var/lib/portside}/ca/ca.pem"
