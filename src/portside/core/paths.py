"""Where things live in the state dir: the layout, decided once. Pure (path arithmetic, no I/O); the
run's Context (ops/context.py) carries one, the store and the unit files use the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def portside_dir(root: Path, app: str) -> Path:
    """portside's own folder for an app in the state dir: its checkout of the repository, releases, certs, logs."""
    return root / "apps" / app


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "portside.db"

    @property
    def gateway(self) -> Path:
        return self.root / "gateway"

    @property
    def acme_webroot(self) -> Path:
        return self.root / "acme-webroot"

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def app_dir(self, app: str) -> Path:
        return portside_dir(self.root, app)

    def release_dir(self, app: str, release: int) -> Path:
        return self.app_dir(app) / "releases" / str(release)

    def certs(self, app: str) -> Path:
        return self.app_dir(app) / "certs"
