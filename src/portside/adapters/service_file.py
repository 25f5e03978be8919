"""service.json in the state dir: where 'portside serve' listens, recorded when it starts. The gateway proxies
/_portside/ to that port on loopback, and 'portside deploy' queues with the service when it answers there."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from portside.core.config import SERVICE_PORT, SERVICE_PREFIX

NAME = "service.json"


def record_service(root: Path, host: str, port: int) -> None:
    """A new file each start (created with the caller's umask: 0600 under serve); an older, wider one is not
    reused."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / NAME
    path.unlink(missing_ok=True)
    path.write_text(json.dumps({"host": host, "port": port, "started": time.time()}))


def service_port(root: Path) -> int:
    """The port serve recorded, or the default it uses when it has not run yet."""
    try:
        return int(json.loads((root / NAME).read_text())["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return SERVICE_PORT


def service_answers(root: Path) -> bool:
    """'portside serve' runs for this state dir: its health endpoint answers on the recorded port."""
    if not (root / NAME).exists():
        return False
    url = f"http://127.0.0.1:{service_port(root)}{SERVICE_PREFIX}/health"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback, our own service
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False
