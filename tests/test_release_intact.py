"""'portside up' on an unchanged config does nothing only when the live release is intact: every intended replica
routable, as Docker and the health paths say (the observation status and the reconciler use). One replica short
(the reconciler has already taken it out of the upstream) must not read as "nothing to do"."""

from __future__ import annotations

import pytest

from portside.adapters.store import Release
from portside.core.config import load_config
from portside.core.health import ReplicaView, release_intact
from portside.ops import facts
from tests.conftest import EXAMPLE

UP = ReplicaView("board-backend-r3-1", "running", "healthy", "127.0.0.1:20001")
DEAD = ReplicaView("board-backend-r3-2", "exited", "unhealthy", "127.0.0.1:20002", restarts=5)


def test_intact_needs_every_intended_replica_routable() -> None:
    assert release_intact(2, [UP, UP])
    assert not release_intact(2, [UP, DEAD])
    assert not release_intact(2, [UP])
    assert not release_intact(1, [])
    assert release_intact(1, [UP, DEAD])  # an extra stopped container does not hide a healthy one


class _Client:
    def __init__(self, timeout: float = 300) -> None:
        self.timeout = timeout

    def close(self) -> None:
        pass


def _release(upstreams: tuple[str, ...]) -> Release:
    return Release(app="fullstack", number=3, created_at="2026-01-01T00:00:00+00:00", git_ref="abc",
                   frontend_image=None, backend_image="b", env_hash="e", config_hash="c", site_conf="",
                   upstreams=upstreams, status="live")


def test_one_replica_short_is_not_healthy_although_its_upstream_lists_only_the_healthy_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    example = load_config(EXAMPLE)
    assert example.backend is not None
    config = example.model_copy(update={"backend": example.backend.model_copy(update={"replicas": 2})})
    assert config.backend is not None
    asked: list[tuple[str, int, str | None]] = []

    def views(_client: object, app: str, release: int, path: str | None) -> list[ReplicaView]:
        asked.append((app, release, path))
        return [UP, DEAD]

    monkeypatch.setattr(facts.runtime, "connect", _Client)
    monkeypatch.setattr(facts, "release_views", views)
    release = _release(("127.0.0.1:20001",))  # the reconciler already routes to the healthy one only
    assert not facts.release_healthy(config, release)
    assert asked == [("fullstack", 3, config.backend.health_path)]
    monkeypatch.setattr(facts, "release_views", lambda *_a: [UP, UP])
    assert facts.release_healthy(config, release)


def test_docker_not_answering_is_not_healthy(monkeypatch: pytest.MonkeyPatch) -> None:
    from portside.core.errors import EnvironmentProblem

    def down(timeout: float = 300) -> None:
        raise EnvironmentProblem("Docker is not running.", fix="start it")

    monkeypatch.setattr(facts.runtime, "connect", down)
    assert not facts.release_healthy(load_config(EXAMPLE), _release(("127.0.0.1:20001",)))


def test_a_frontend_only_app_needs_no_replica() -> None:
    config = load_config(EXAMPLE).model_copy(update={"backend": None})
    assert facts.release_healthy(config, _release(()))
    assert not facts.release_healthy(config, None)
