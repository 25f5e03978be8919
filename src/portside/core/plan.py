"""Plan: desired state + facts -> a list of actions (data). ``up --dry-run`` prints exactly this list;
``up`` executes exactly this list. Pure: no I/O here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from portside.core.config import PortsideConfig, TlsMode
from portside.core.errors import ConfigError


@dataclass(frozen=True)
class Facts:
    """What ops/ found out about the machine before planning."""

    app_dir: Path
    git_ref: str
    release: int
    release_dir: Path
    gateway_mode: str
    http_port: int
    https_port: int | None
    current_release: int | None
    current_ref: str | None
    current_config_hash: str | None
    current_env_hash: str | None
    current_healthy: bool
    env_hash: str
    nginx_version: tuple[int, int, int]
    names_taken: tuple[tuple[str, str], ...] = ()  # (server name, app) served by other apps on the same gateway


@dataclass(frozen=True)
class Action:
    """One step of a plan. ``step`` is the pipeline step it belongs to (build, test, release, verify); the
    executor's handler for each action type is in ops/deploy.py HANDLERS (a test keeps both complete)."""

    step: ClassVar[str] = ""

    def describe(self) -> str:  # pragma: no cover - every action overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class NoChange(Action):
    step: ClassVar[str] = "release"
    release: int
    ref: str

    def describe(self) -> str:
        return f"nothing to do: release {self.release} ({self.ref}) is live, healthy and matches the repository"


@dataclass(frozen=True)
class Preflight(Action):
    step: ClassVar[str] = "build"
    mode: str
    http_port: int
    https_port: int | None

    def describe(self) -> str:
        ports = f"{self.http_port}" + (f"/{self.https_port}" if self.https_port else "")
        return f"preflight: Docker answers, nginx is installed, the {self.mode} gateway can use ports {ports}"


@dataclass(frozen=True)
class ResolveBase(Action):
    step: ClassVar[str] = "build"
    kind: str

    def describe(self) -> str:
        return f"pick the {self.kind} base image (registry image if present or pullable, else portside's offline one)"


@dataclass(frozen=True)
class BuildImage(Action):
    step: ClassVar[str] = "build"
    role: str
    context: Path
    dockerfile: str
    tag: str
    base_kind: str

    def describe(self) -> str:
        return f"build {self.role} image {self.tag} from {self.context}/{self.dockerfile}"


@dataclass(frozen=True)
class CheckImageUser(Action):
    step: ClassVar[str] = "build"
    tag: str
    allow_root: bool

    def describe(self) -> str:
        extra = " (allow_root = true: warn only)" if self.allow_root else ""
        return f"refuse {self.tag} if it runs as root{extra}"


@dataclass(frozen=True)
class EnsureCertificate(Action):
    step: ClassVar[str] = "release"
    mode: str
    names: tuple[str, ...]

    def describe(self) -> str:
        if self.mode == "self-signed":
            return f"certificate for {', '.join(self.names)} from portside's local CA (reused while valid)"
        if self.mode == "acme":
            return (f"ACME certificate for {', '.join(self.names)} (reused until a third of its lifetime remains; "
                    "else HTTP-01 through the gateway on port 80)")
        return f"use the certificate files from tls.cert/tls.key for {', '.join(self.names)}"


@dataclass(frozen=True)
class ExtractSite(Action):
    step: ClassVar[str] = "release"
    tag: str
    dest: Path

    def describe(self) -> str:
        return f"copy /site out of {self.tag} into {self.dest}"


@dataclass(frozen=True)
class StartReplicas(Action):
    step: ClassVar[str] = "release"
    tag: str
    count: int
    port: int
    network: str
    memory: str
    cpus: float

    def describe(self) -> str:
        return (f"start {self.count} backend replica(s) of {self.tag} on network {self.network}, container port "
                f"{self.port} published on 127.0.0.1 only; no root, no capabilities, memory {self.memory}")


@dataclass(frozen=True)
class HealthCheck(Action):
    step: ClassVar[str] = "release"
    path: str
    timeout: int

    def describe(self) -> str:
        return f"wait until every new replica answers 2xx on {self.path} (at most {self.timeout}s each)"


@dataclass(frozen=True)
class SwitchGateway(Action):
    step: ClassVar[str] = "release"
    mode: str
    http_port: int
    https_port: int | None

    def describe(self) -> str:
        ports = f"{self.http_port}" + (f"/{self.https_port}" if self.https_port else "")
        return f"write the site config, 'nginx -t', reload the {self.mode} gateway on {ports} (last good kept)"


@dataclass(frozen=True)
class Verify(Action):
    step: ClassVar[str] = "verify"
    paths: tuple[str, ...]

    def describe(self) -> str:
        return (f"verify through the gateway: {', '.join(self.paths)}; on failure switch back to the previous "
                "release at once")


@dataclass(frozen=True)
class RunTests(Action):
    step: ClassVar[str] = "test"
    tag: str
    command: str

    def describe(self) -> str:
        return f"run the test command in {self.tag}: {self.command}"


@dataclass(frozen=True)
class StopOld(Action):
    step: ClassVar[str] = "verify"
    release: int
    drain_seconds: int

    def describe(self) -> str:
        return f"drain release {self.release}'s replicas for {self.drain_seconds}s, then stop them"


@dataclass(frozen=True)
class Prune(Action):
    step: ClassVar[str] = "verify"
    keep: int

    def describe(self) -> str:
        return f"keep the last {self.keep} releases (files and images); remove older ones"


@dataclass(frozen=True)
class Plan:
    app: str
    release: int
    ref: str
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def is_noop(self) -> bool:
        return len(self.actions) == 1 and isinstance(self.actions[0], NoChange)


def config_hash(config: PortsideConfig) -> str:
    data = json.dumps(config.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def env_hash(env: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(env):
        digest.update(f"{key}\0{env[key]}\0".encode())
    return digest.hexdigest()[:16]


def image_tag(app: str, role: str, ref: str) -> str:
    return f"{app}-{role}:{ref}"


def network_name(app: str) -> str:
    return f"portside-{app}"


def check_names(config: PortsideConfig, facts: Facts) -> None:
    """A domain or alias another app serves on the same gateway is refused before anything changes (nginx would
    only warn, and whichever site file sorts first would win)."""
    from portside.core.render.gateway import server_names

    taken = dict(facts.names_taken)
    clashes = [(name, taken[name]) for name in server_names(config) if name in taken]
    if clashes:
        listed = ", ".join(f"{name} (served by app {holder!r})" for name, holder in clashes)
        raise ConfigError([f"portside.toml: app.domain/app.aliases: {listed} is already served on this gateway. "
                           "Fix: give this app its own domain, or take the other app down first "
                           f"('portside down {clashes[0][1]}')"])


def build_plan(config: PortsideConfig, facts: Facts, force: bool = False) -> Plan:
    app = config.app.name
    check_names(config, facts)
    unchanged = (
        facts.current_release is not None
        and facts.current_ref == facts.git_ref
        and facts.current_config_hash == config_hash(config)
        and facts.current_env_hash == facts.env_hash
        and facts.current_healthy
    )
    if unchanged and not force:
        assert facts.current_release is not None
        return Plan(app, facts.current_release, facts.git_ref, (NoChange(facts.current_release, facts.git_ref),))
    actions: list[Action] = [Preflight(facts.gateway_mode, facts.http_port, facts.https_port)]
    fe, be = config.frontend, config.backend
    if fe is not None:
        actions.append(ResolveBase(fe.base_image))
        actions.append(BuildImage("frontend", facts.app_dir / fe.path, fe.dockerfile,
                                  image_tag(app, "frontend", facts.git_ref), fe.base_image))
    if be is not None:
        if be.base_image != (fe.base_image if fe else None):
            actions.append(ResolveBase(be.base_image))
        tag = image_tag(app, "backend", facts.git_ref)
        actions.append(BuildImage("backend", facts.app_dir / be.path, be.dockerfile, tag, be.base_image))
        actions.append(CheckImageUser(tag, be.allow_root))
        if config.deploy.test_command:
            actions.append(RunTests(tag, config.deploy.test_command))
    if fe is not None:
        actions.append(ExtractSite(image_tag(app, "frontend", facts.git_ref), facts.release_dir / "site"))
    if be is not None:
        actions.append(StartReplicas(image_tag(app, "backend", facts.git_ref), be.replicas, be.port,
                                     network_name(app), be.memory, be.cpus))
        actions.append(HealthCheck(be.health_path, be.health_timeout))
    if config.tls.mode is not TlsMode.off:
        # after the health check: a first ACME issuance can then serve the new release over HTTP meanwhile
        from portside.core.render.gateway import server_names

        actions.append(EnsureCertificate(config.tls.mode.value, server_names(config)))
    actions.append(SwitchGateway(facts.gateway_mode, facts.http_port, facts.https_port))
    actions.append(Verify(smoke_paths(config)))
    if facts.current_release is not None and be is not None:
        actions.append(StopOld(facts.current_release, config.deploy.drain_seconds))
    actions.append(Prune(config.deploy.keep_releases))
    return Plan(app, facts.release, facts.git_ref, tuple(actions))


def live_paths(config: PortsideConfig) -> tuple[str, ...]:
    """What answers through the gateway while the app is up: / (with a frontend) and the backend's health path
    as the gateway sees it (under the API prefix when the gateway strips it). 'status' probes these."""
    paths = []
    if config.frontend is not None:
        paths.append("/")
    if config.backend is not None:
        health = config.backend.health_path
        if config.gateway.strip_prefix:
            health = config.gateway.api_prefix + health
        paths.append(health)
    return tuple(paths)


def smoke_paths(config: PortsideConfig) -> tuple[str, ...]:
    """What must answer through the gateway after a switch: the live paths and deploy.smoke_paths."""
    return tuple(dict.fromkeys([*live_paths(config), *config.deploy.smoke_paths]))


def build_rollback_plan(config: PortsideConfig, facts: Facts, backend_image: str | None) -> Plan:
    """Back to an older release without rebuilding: its image, its files, its config."""
    actions: list[Action] = [Preflight(facts.gateway_mode, facts.http_port, facts.https_port)]
    be = config.backend
    if be is not None and backend_image:
        actions.append(StartReplicas(backend_image, be.replicas, be.port, network_name(config.app.name),
                                     be.memory, be.cpus))
        actions.append(HealthCheck(be.health_path, be.health_timeout))
    actions.append(SwitchGateway(facts.gateway_mode, facts.http_port, facts.https_port))
    actions.append(Verify(smoke_paths(config)))
    if facts.current_release is not None and be is not None:
        actions.append(StopOld(facts.current_release, 0))
    return Plan(config.app.name, facts.release, facts.git_ref, tuple(actions))
