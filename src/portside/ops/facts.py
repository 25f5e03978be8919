"""What is found out before planning: the backend's runtime environment, the live release's health, the names
other apps serve on the same gateway. Reads only: 'plan' and 'up --dry-run' gather these too."""

from __future__ import annotations

import json
from pathlib import Path

import docker.errors
import requests

from portside.adapters import runtime
from portside.adapters.git import source_ref
from portside.adapters.nginx import nginx_version
from portside.adapters.replicas import release_views
from portside.adapters.store import AppRecord, Release, Store
from portside.core import health
from portside.core.config import PortsideConfig, read_env_file
from portside.core.errors import EnvironmentProblem, PortsideError
from portside.core.gateway_choice import GatewayChoice
from portside.core.plan import Facts, env_hash
from portside.core.render.gateway import NginxVersion
from portside.ops.context import Context


def runtime_env(config: PortsideConfig, app_dir: Path) -> dict[str, str]:
    """The backend's environment: PORT (the 12-factor convention most frameworks honour, so the app listens
    where portside.toml says), then backend.env, then backend.env_file (which win)."""
    env: dict[str, str] = {}
    if config.backend is None:
        return env
    env["PORT"] = str(config.backend.port)
    env.update(config.backend.env)
    if config.backend.env_file:
        env.update({k: v.get_secret_value() for k, v in read_env_file(app_dir / config.backend.env_file).items()})
    return env


MASK = "****"


def secret_values(config: PortsideConfig, admin_dir: Path) -> list[str]:
    """The env file's values, which never reach a log; shorter than 4 characters they would mask ordinary
    words, so those are left."""
    if config.backend is None or not config.backend.env_file:
        return []
    values = (v.get_secret_value() for v in read_env_file(admin_dir / config.backend.env_file).values())
    return [value for value in values if len(value) >= 4]


def mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def mask_secrets(text: str, config: PortsideConfig, admin_dir: Path) -> str:
    """Text that goes to a log with every env-file value (secret_values) replaced by '****'."""
    return mask(text, secret_values(config, admin_dir))


LOOK_SECONDS = 5.0  # how long planning waits for Docker to say which replicas run


def release_healthy(config: PortsideConfig, release: Release | None) -> bool:
    """The live release runs every replica ``config`` asks for, each healthy (core.health.release_intact), as
    Docker and the replicas' own health paths say: the same observation as the reconciler's and 'status''s.
    Docker not answering within LOOK_SECONDS counts as not healthy: 'plan' still answers at once, and the
    deploy that follows says how to start Docker."""
    if release is None:
        return False
    if config.backend is None:
        return True
    try:
        client = runtime.connect(timeout=LOOK_SECONDS)
    except EnvironmentProblem:
        return False
    try:
        views = release_views(client, release.app, release.number, config.backend.health_path)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False
    finally:
        client.close()
    return health.release_intact(config.backend.replicas, views)


def deployed_config(store: Store, record: AppRecord) -> PortsideConfig | None:
    """The app's config as it runs: what its live release was deployed with (Release.config); with no live
    release, or one recorded without a readable config, the admin's portside.toml; None when that does not
    read either. The one answer for status, certificates and renewal. (The reconciler and rollback re-render
    a release, so they need its own config and take Release.config alone.)"""
    release = store.current(record.name)
    recorded = release.config() if release else None
    if recorded is not None:
        return recorded
    try:
        return record.config()
    except PortsideError:
        return None


def gather_facts(ctx: Context, store: Store | None, config: PortsideConfig, app_dir: Path, choice: GatewayChoice,
                 admin_dir: Path | None = None, nginx: NginxVersion | None = None) -> Facts:
    """``app_dir`` is what gets built (for a pipeline: portside's checkout of the commit); ``admin_dir`` is the
    admin's registered folder, where server-owned files such as the env file live (default: ``app_dir``).
    Without a store (no state yet) the app has no releases and no neighbours."""
    app = config.app.name
    current = store.current(app) if store else None
    number = store.next_release_number(app) if store else 1
    env = runtime_env(config, admin_dir or app_dir)
    return Facts(
        app_dir=app_dir,
        git_ref=source_ref(app_dir),
        release=number,
        release_dir=ctx.paths.release_dir(app, number),
        gateway_mode=choice.mode,
        http_port=choice.http_port,
        https_port=choice.https_port,
        current_release=current.number if current else None,
        current_ref=current.git_ref if current else None,
        current_config_hash=current.config_hash if current else None,
        current_env_hash=current.env_hash if current else None,
        current_healthy=release_healthy(config, current),
        env_hash=env_hash(env),
        nginx_version=nginx or nginx_version(),
        names_taken=names_taken(store, app, choice) if store else (),
    )


def names_taken(store: Store, app: str, choice: GatewayChoice) -> tuple[tuple[str, str], ...]:
    """Server names that other live apps serve on the same gateway (the same nginx: mode and HTTP port)."""
    from portside.core.render.gateway import server_names

    taken = []
    for other in store.apps():
        if other.name == app or other.current_release is None or other.gateway_mode != choice.mode \
                or other.http_port != choice.http_port:
            continue
        release = store.current(other.name)
        if release is None or not release.has_config:
            continue
        recorded = release.config()
        if recorded is None:  # recorded by a version with other rules: its names are still its names
            data = json.loads(release.config_json)["app"]
            taken += [(name, other.name) for name in (data["domain"], *data.get("aliases", ()))]
            continue
        taken += [(name, other.name) for name in server_names(recorded)]
    return tuple(taken)
