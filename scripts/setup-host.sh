#!/usr/bin/env bash
# Installs and starts what portside, its demo and its tests need on a fresh Debian/Ubuntu machine.
# Idempotent: skips whatever is already there. Run as root (CI runs it as root).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pair in nginx:nginx dockerd:docker.io debootstrap:debootstrap curl:curl; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need_apt+=("$pkg")
done
if [ "${PORTSIDE_TEST_TOOLS:-0}" = 1 ]; then
  # server setup tests: ssh and systemd-analyze here; sshd, nftables, fail2ban and unattended-upgrades only
  # inside their test image (installed on this machine they would start daemons and change its firewall)
  for pair in chromium:chromium wrk:wrk caddy:caddy pebble:pebble ip:iproute2 git:git ssh:openssh-client \
              systemd-analyze:systemd nsenter:util-linux; do
    cmd=${pair%%:*}; pkg=${pair##*:}
    command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
  done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt)"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The distro's nginx may have been started by the package; portside uses its own private instance here.
if ! docker info >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start docker
  else
    echo "setup: starting dockerd (no systemd here)"
    nohup dockerd >/var/log/portside-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/portside-dockerd.log"; exit 3; }
fi

extras=""
[ "${PORTSIDE_TEST_TOOLS:-0}" = 1 ] && extras="[test]"
if ! python3 -c "import portside, typer, docker" 2>/dev/null || [ -n "$extras" ]; then
  echo "setup: pip install -e .$extras"
  if ! python3 -m pip install -q -e ".$extras" >/tmp/portside-pip.log 2>&1; then
    tail -20 /tmp/portside-pip.log; echo "setup: pip install failed (log: /tmp/portside-pip.log)"; exit 3
  fi
fi
