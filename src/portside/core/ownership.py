"""Who decides what: settings the repository owns, settings only the server's admin owns.

A webhook deploy builds whatever the pushed commit says, but a commit must never decide where secrets come from,
where portside sends data, which certificate is served, or how much of the host the app may take. Those settings
are **server-owned**: they are read only from the admin's registered portside.toml on the server (the folder
given to the first ``portside up``), and a commit's values for them are ignored and named in the pipeline log.

Everything else is **repository-owned** (how to build and route: paths inside the checkout, Dockerfiles, ports,
health path, API prefix, WebSocket paths), and every repository path must stay inside the checkout.
Pure: no I/O except ``confine`` and ``check_paths``, which resolve paths on disk.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from portside.core.config import PortsideConfig, _format_error
from portside.core.errors import ConfigError

# Whole sections, or "section.key". Anything not listed is repository-owned.
SERVER_OWNED: tuple[str, ...] = (
    "app.domain",  # a commit must not take over another app's (or another site's) name on the gateway
    "app.aliases",
    "backend.env",  # secrets and the files they come from
    "backend.env_file",
    "backend.allow_root",  # hardening switches
    "backend.read_only",
    "backend.memory",  # how much of the host the app may take
    "backend.cpus",
    "backend.replicas",
    "gateway.content_security_policy",  # header overrides
    "gateway.permissions_policy",
    "gateway.max_body_size",  # the limits that protect the host
    "gateway.rate_limit",
    "gateway.rate_burst",
    "gateway.conn_limit",
    "tls",  # certificates, CA, ACME account
    "deploy",  # repository, credentials, branch, test command, notification and status targets
)


def _split(path: str) -> tuple[str, str | None]:
    section, _, key = path.partition(".")
    return section, key or None


def compose(repo: PortsideConfig, server: PortsideConfig,
            file: str = "portside.toml") -> tuple[PortsideConfig, list[str]]:
    """The config a pipeline deploys: the repository's, with every server-owned setting taken from the admin's
    config. Returns it and the server-owned keys whose value in the commit differed (and was ignored)."""
    data: dict[str, Any] = repo.model_dump(mode="json")
    theirs: dict[str, Any] = server.model_dump(mode="json")
    ignored: list[str] = []
    for path in SERVER_OWNED:
        section, key = _split(path)
        if data.get(section) is None:  # the repository has no such section (e.g. no backend): nothing to set
            continue
        if key is None:
            if data[section] != theirs.get(section):
                ignored += _differing(section, data[section], theirs.get(section))
            data[section] = theirs[section]
            continue
        if key not in data[section]:
            continue  # test_every_server_owned_key_exists keeps this list and the models in step
        server_value = (theirs.get(section) or {}).get(key, _default(section, key))
        if data[section].get(key) != server_value:
            ignored.append(path)
        data[section][key] = server_value
    try:
        return PortsideConfig.model_validate(data), ignored
    except ValidationError as exc:
        raise ConfigError([_format_error(file, e, PortsideConfig) for e in exc.errors()]) from None


def _default(section: str, key: str) -> Any:
    """The default of a key of an optional section the admin's config does not have (e.g. [backend])."""
    field = PortsideConfig.model_fields[section]
    model = next(a for a in (field.annotation, *getattr(field.annotation, "__args__", ())) if isinstance(a, type)
                 and hasattr(a, "model_fields"))
    return model.model_fields[key].get_default(call_default_factory=True)


def _differing(section: str, mine: Any, theirs: Any) -> list[str]:
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        return [section]
    return [f"{section}.{k}" for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]


def confine(root: Path, relative: str, key: str, file: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` once every link is resolved."""
    if PurePosixPath(relative).is_absolute() or relative.startswith("~"):
        raise ConfigError([f"{file}: {key}: {relative!r} is an absolute path. Fix: a path relative to the "
                           "repository, inside it"])
    top = root.resolve()
    resolved = (top / relative).resolve()
    if not resolved.is_relative_to(top):
        raise ConfigError([f"{file}: {key}: {relative!r} leads outside the repository (to {resolved}). Fix: a "
                           "folder inside the repository; links that point outside are refused too"])
    return resolved


def check_paths(config: PortsideConfig, root: Path, file: str) -> list[str]:
    """Every repository-owned path in ``config`` confined to ``root``; a problem per path that is not."""
    problems: list[str] = []
    for name, section in (("frontend", config.frontend), ("backend", config.backend)):
        if section is None:
            continue
        for key, relative in ((f"{name}.path", section.path),
                              (f"{name}.dockerfile", str(PurePosixPath(section.path) / section.dockerfile))):
            try:  # a Dockerfile outside the build context would be read from the host by the Docker client
                confine(root, relative, key, file)
            except ConfigError as exc:
                problems += exc.problems
                break
    return problems
