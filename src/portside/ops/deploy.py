"""Apply a plan: the only place where a release is built, started, switched and recorded.

Order (Kamal's boot): start new -> health-check -> switch gateway -> drain -> stop old.
A failure before the switch removes what the new release started; the old release keeps serving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from portside.adapters import certs, probe, runtime
from portside.adapters.base_images import BaseImageBuilder, resolve_base
from portside.adapters.gateway import Gateway, PrivateGateway, SystemGateway, nginx_version
from portside.adapters.git import source_ref
from portside.adapters.probe import replica_healthy
from portside.adapters.store import Release, Store, now
from portside.core.config import PortsideConfig, TlsMode, read_env_file
from portside.core.errors import BuildError, DeployError, GatewayError, PortsideError, disk_full
from portside.core.plan import (
    Action,
    BuildImage,
    CheckImageUser,
    EnsureCertificate,
    ExtractSite,
    Facts,
    HealthCheck,
    NoChange,
    Plan,
    Preflight,
    Prune,
    ResolveBase,
    RunTests,
    StartReplicas,
    StopOld,
    SwitchGateway,
    Verify,
    config_hash,
)
from portside.core.render.gateway import render_site
from portside.ops import drain, site
from portside.ops.context import Context
from portside.ops.site import acme_dir

LOCAL_HTTP = 8080
LOCAL_HTTPS = 8443


@dataclass(frozen=True)
class GatewayChoice:
    mode: str  # "private" or "system"
    http_port: int
    https_port: int | None


def choose_gateway(config: PortsideConfig, local: bool, http_port: int | None, https_port: int | None,
                   mode: str | None) -> GatewayChoice:
    tls = config.tls.mode is not TlsMode.off
    if local or mode == "private":
        http = http_port or (LOCAL_HTTP if local else 80)
        https = (https_port or (LOCAL_HTTPS if local else 443)) if tls else None
        return GatewayChoice("private", http, https)
    return GatewayChoice("system", http_port or 80, (https_port or 443) if tls else None)


def make_gateway(ctx: Context, choice: GatewayChoice) -> Gateway:
    if choice.mode == "private":
        return PrivateGateway(ctx.paths.gateway, choice.http_port, choice.https_port)
    return SystemGateway(Path("/etc/nginx/conf.d"), ctx.paths.gateway / "system-last-good",
                         https=choice.https_port is not None)


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


def mask_secrets(text: str, config: PortsideConfig, admin_dir: Path) -> str:
    """Every value of the env file (4 characters or more) replaced by '****' in text that goes to a log."""
    if config.backend is None or not config.backend.env_file:
        return text
    for value in read_env_file(admin_dir / config.backend.env_file).values():
        secret = value.get_secret_value()
        if len(secret) >= 4:
            text = text.replace(secret, "****")
    return text


def env_hash(env: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for key in sorted(env):
        digest.update(f"{key}\0{env[key]}\0".encode())
    return digest.hexdigest()[:16]


def release_healthy(config: PortsideConfig, release: Release | None) -> bool:
    if release is None:
        return False
    if config.backend is None:
        return True
    ports = [int(u.rsplit(":", 1)[1]) for u in release.upstreams]
    return bool(ports) and all(replica_healthy(p, config.backend.health_path) for p in ports)


def gather_facts(ctx: Context, store: Store, config: PortsideConfig, app_dir: Path, choice: GatewayChoice,
                 admin_dir: Path | None = None) -> Facts:
    """``app_dir`` is what gets built (for a pipeline: portside's checkout of the commit); ``admin_dir`` is the
    admin's registered folder, where server-owned files such as the env file live (default: ``app_dir``)."""
    app = config.app.name
    current = store.current(app)
    number = store.next_release_number(app)
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
        nginx_version=nginx_version(),
        names_taken=names_taken(store, app, choice),
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
        if release is None or release.config_json == "{}":
            continue
        try:
            recorded = PortsideConfig.model_validate_json(release.config_json)
        except ValueError:  # recorded by a version with other rules: its names are still its names
            data = json.loads(release.config_json)["app"]
            taken += [(name, other.name) for name in (data["domain"], *data.get("aliases", ()))]
            continue
        taken += [(name, other.name) for name in server_names(recorded)]
    return tuple(taken)


@dataclass
class _Run:
    """What the actions of one run produced, for the actions after them and for cleanup."""

    bases: dict[str, str] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    replicas: list[runtime.Replica] = field(default_factory=list)
    cert: certs.CertPair | None = None
    switched: bool = False


class Deployer:
    def __init__(self, ctx: Context, store: Store, config: PortsideConfig, app_dir: Path, facts: Facts,
                 gateway: Gateway, say: Callable[[str], None], offline: bool = False,
                 progress: Callable[[str], None] | None = None, rollback: bool = False,
                 before_action: Callable[[Action], None] | None = None,
                 after_action: Callable[[Action], None] | None = None) -> None:
        self.ctx = ctx
        self.store = store
        self.config = config
        self.app_dir = app_dir
        self.facts = facts
        self.gateway = gateway
        self.say = say
        self.offline = offline
        self.progress = progress or (lambda _line: None)
        self.rollback = rollback
        self.acme_options = AcmeOptions()
        self.before_action = before_action or (lambda _action: None)
        self.after_action = after_action or (lambda _action: None)
        self.previous: Release | None = None
        self.live_after: float | None = None  # seconds from the first action until the new release was verified
        self._client: docker.DockerClient | None = None
        self.run = _Run()

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = runtime.connect()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def apply(self, plan: Plan) -> _Run:
        app = self.config.app.name
        verb = "rollback" if self.rollback else "up"
        if plan.is_noop:
            self.say(plan.actions[0].describe())
            self.store.audit(app, "up", f"release {plan.release} unchanged", "ok")
            return self.run
        started = time.monotonic()
        try:
            for action in plan.actions:
                self.before_action(action)
                self.say(action.describe())
                self._do(action, plan)
                if isinstance(action, Verify):
                    self.live_after = time.monotonic() - started
                self.after_action(action)
        except BaseException as exc:
            self._undo(plan)
            full = disk_full(exc, self.ctx.paths.root, f"release {plan.release} is live, but what came after it "
                             "did not finish" if self.run.switched else "nothing was switched: the live release "
                             "keeps serving")
            shown = full or exc
            result = shown.message if isinstance(shown, PortsideError) else repr(exc)
            try:
                self.store.audit(app, verb, f"release {plan.release} ({plan.ref})", f"failed: {result}")
            except (sqlite3.Error, OSError) as lost:  # e.g. that disk is full too: the first error is the news
                self.say(f"note: the audit record of this failure was not written ({lost})")
            if full is not None:
                raise full from exc
            raise
        self.store.audit(app, verb, f"release {plan.release} ({plan.ref})", "ok")
        return self.run

    # -- one method per action type -------------------------------------------------------------

    def _do(self, action: Action, plan: Plan) -> None:
        handler = getattr(self, "_" + type(action).__name__)
        handler(action, plan)

    def _NoChange(self, action: NoChange, plan: Plan) -> None:  # noqa: N802
        pass

    def _Preflight(self, action: Preflight, plan: Plan) -> None:  # noqa: N802
        assert self.client is not None  # connects, or says how to start Docker
        for note in self.gateway.prepare():  # the main file; free ports; catch-all servers
            self.say(f"note: {note}")
        self.ctx.paths.root.mkdir(parents=True, exist_ok=True)
        _make_traversable(self.ctx.paths.root, self.ctx.paths.root)

    def _ResolveBase(self, action: ResolveBase, plan: Plan) -> None:  # noqa: N802
        if action.kind in self.run.bases:
            return

        def builder() -> BaseImageBuilder:
            return BaseImageBuilder(self.client, self.ctx.paths.root / "cache" / "debootstrap",
                                    self.ctx.paths.logs, self.say,
                                    ca_bundle=Path("/etc/ssl/certs/ca-certificates.crt"))

        self.run.bases[action.kind] = resolve_base(self.client, action.kind, builder, self.say, self.offline)
        self.say(f"  {action.kind} base: {self.run.bases[action.kind]}")

    def _BuildImage(self, action: BuildImage, plan: Plan) -> None:  # noqa: N802
        base = self.run.bases.get(action.base_kind)
        buildargs = {"BASE_IMAGE": base} if base else {}
        memory = 2 * 1024**3
        started = time.monotonic()
        result = runtime.build_image(
            self.client, action.context, action.dockerfile, action.tag,
            self.ctx.paths.app_dir(plan.app) / "logs" / f"build-{plan.release}-{action.role}.log",
            buildargs=buildargs,
            labels={runtime.LABEL_APP: plan.app, runtime.LABEL_RELEASE: str(plan.release),
                    runtime.LABEL_ROLE: action.role},
            memory_bytes=memory, what=f"{action.role} image",
            on_line=lambda line: self.progress(f"building {action.role}: {line[:100]}"),
        )
        self.run.images[action.role] = result.tag
        self.say(f"  built {action.tag} in {time.monotonic() - started:.1f}s")

    def _CheckImageUser(self, action: CheckImageUser, plan: Plan) -> None:  # noqa: N802
        user = runtime.image_uid(self.client, action.tag, runtime.image_user(self.client, action.tag))
        if not user.is_root:
            return
        shown = user.describe()
        if action.allow_root:
            self.say(f"WARNING: {action.tag} runs as {shown}; allowed by backend.allow_root. "
                     "A compromise of the app is then root inside the container.")
            return
        raise BuildError(f"the backend image {action.tag} runs as {shown}.",
                         fix="add a non-root user to the Dockerfile ('RUN useradd --uid 10001 app' then "
                         "'USER 10001'), or set backend.allow_root = true if you must")

    def cert_paths(self) -> certs.CertPair | None:
        """Where the certificate is (or will be, once EnsureCertificate ran)."""
        return site.cert_paths(self.ctx, self.config, self.app_dir)

    def _EnsureCertificate(self, action: EnsureCertificate, plan: Plan) -> None:  # noqa: N802
        if action.mode == "manual":
            self.run.cert = self.cert_paths()
            return
        if action.mode == "acme":
            self.run.cert = ensure_acme_certificate(self.ctx, self.config, self.gateway, self.facts.http_port,
                                                    self.say, self.acme_options, self._http_only_site(plan))
            return
        ca = certs.ensure_local_ca(self.ctx.paths.ca_dir)
        self.run.cert = certs.ensure_leaf(ca, self.ctx.paths.certs(plan.app), action.names)

    def _ExtractSite(self, action: ExtractSite, plan: Plan) -> None:  # noqa: N802
        runtime.extract_dir(self.client, action.tag, "/site", action.dest)  # replaces dest only if all passed
        if not (action.dest / "index.html").is_file():
            raise BuildError(f"the frontend build has no index.html (in {action.tag}:/site).",
                             fix="check frontend.output_dir and that the build writes index.html")
        _make_traversable(action.dest, self.ctx.paths.root)

    def _StartReplicas(self, action: StartReplicas, plan: Plan) -> None:  # noqa: N802
        runtime.ensure_network(self.client, action.network, plan.app)
        env = runtime_env(self.config, self.app_dir) | {"PORTSIDE_RELEASE": str(plan.release)}
        backend = self.config.backend
        assert backend is not None  # StartReplicas is planned only for a backend
        check = runtime.health_check(self.client, action.tag, action.port, backend.health_path,
                                     backend.health_timeout)
        if check is None:
            self.say("  note: the image has no curl, wget, python3 or node for Docker's health check; "
                     "portside probes the replicas from the host instead")
        ports = runtime.allocate_ports(self.client, action.count)
        for index in range(action.count):
            name = f"{plan.app}-backend-r{plan.release}-{index + 1}"
            for attempt in range(5):
                try:
                    replica = runtime.run_replica(
                        self.client, image=action.tag, name=name, network=action.network, port=action.port,
                        env=env, labels={runtime.LABEL_APP: plan.app, runtime.LABEL_RELEASE: str(plan.release),
                                         runtime.LABEL_ROLE: "backend"},
                        memory=action.memory, cpus=action.cpus, host_port=ports[index], healthcheck=check,
                        read_only=backend.read_only)
                    break
                except docker.errors.APIError as exc:  # another deploy took the port first: pick another
                    if not runtime.port_taken_meanwhile(exc) or attempt == 4:
                        raise
                    ports[index] = runtime.allocate_ports(self.client, 1, frozenset(ports))[0]
            self.run.replicas.append(replica)
            try:
                note = runtime.check_replica_user(self.client, replica, backend.allow_root)
            except DeployError:
                self._remove_new_replicas()
                self.run.replicas.clear()
                raise
            if note:
                self.say(note)
            self.say(f"  {replica.name} on 127.0.0.1:{replica.host_port}")

    def _HealthCheck(self, action: HealthCheck, plan: Plan) -> None:  # noqa: N802
        for replica in self.run.replicas:
            runtime.wait_healthy(self.client, replica, action.path, action.timeout)
            self.say(f"  {replica.name} healthy")

    def _SwitchGateway(self, action: SwitchGateway, plan: Plan) -> None:  # noqa: N802
        text = self.render(plan)
        self.previous = self.store.current(plan.app)
        self.gateway.deploy_site(plan.app, text)  # one swap moves / and /api together
        try:
            with self.store.transaction():
                self._record(action, plan, text)
        except BaseException:  # e.g. a full disk: the previous site goes back (a rename), nothing is recorded
            try:
                self.gateway.restore_site(plan.app)
            except (OSError, PortsideError) as exc:
                self.say(f"WARNING: the gateway serves release {plan.release}, which was not recorded, and the "
                         f"previous site could not be put back ({exc}); run 'portside up' again once this is fixed")
            raise
        self.run.switched = True

    def _record(self, action: SwitchGateway, plan: Plan, text: str) -> None:
        self.store.upsert_app(plan.app, self.app_dir, action.mode, action.http_port, action.https_port)
        existing = self.store.release(plan.app, plan.release)  # a rollback keeps the release's identity
        self.store.save_release(Release(
            app=plan.app, number=plan.release, created_at=existing.created_at if existing else now(),
            git_ref=plan.ref,
            frontend_image=existing.frontend_image if existing else self.run.images.get("frontend"),
            backend_image=existing.backend_image if existing else self.run.images.get("backend"),
            env_hash=self.facts.env_hash, config_hash=config_hash(self.config), site_conf=text,
            upstreams=tuple(f"127.0.0.1:{r.host_port}" for r in self.run.replicas), status="live",
            config_json=self.config.model_dump_json()))
        self.store.set_current(plan.app, plan.release)

    def _Verify(self, action: Verify, plan: Plan) -> None:  # noqa: N802
        tls = self.facts.https_port is not None
        port = self.facts.https_port if tls else self.facts.http_port
        assert port is not None
        failures = []
        for path in action.paths:
            try:
                status = probe.through_gateway(self.config.app.domain, port, path, tls).status
            except OSError as exc:
                failures.append(f"{path}: {exc}")
                continue
            if not 200 <= status < 400:
                failures.append(f"{path}: HTTP {status}")
        if not failures:
            self.say(f"  verified {len(action.paths)} path(s) through the gateway")
            return
        back = self._switch_back(plan)
        raise DeployError(f"verification through the gateway failed ({'; '.join(failures)}); {back}.",
                          fix="see 'portside logs <app> backend' and the gateway log; fix and deploy again")

    def _switch_back(self, plan: Plan) -> str:
        """After a failed verification: the previous release's config (its replicas still run) goes back live."""
        self.store.set_status(plan.app, plan.release, "failed")
        previous = self.previous
        if previous is None or previous.number == plan.release:
            self.gateway.remove_site(plan.app)
            self.store.set_current(plan.app, None)
            self._remove_new_replicas()
            return "there was no previous release, so the site was taken down"
        self.gateway.deploy_site(plan.app, previous.site_conf)
        self.store.set_current(plan.app, previous.number)
        self._remove_new_replicas()
        self.store.audit(plan.app, "rollback", f"automatic, to release {previous.number}", "ok")
        return f"switched back to release {previous.number}, which is serving"

    def _RunTests(self, action: RunTests, plan: Plan) -> None:  # noqa: N802
        log = self.ctx.paths.app_dir(plan.app) / "logs" / f"test-{plan.release}.log"
        backend = self.config.backend
        code, output = runtime.run_once(self.client, action.tag, ["sh", "-c", action.command],
                                        runtime_env(self.config, self.app_dir), memory="1g",
                                        cpus=backend.cpus if backend else 1.0,
                                        network=self.config.deploy.test_network)
        output = mask_secrets(output, self.config, self.app_dir)  # a test that prints its env leaks nothing
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
        if code != 0:
            tail = "".join(output.splitlines(keepends=True)[-25:])
            raise BuildError(f"the test command failed (exit code {code}): {action.command}.",
                             fix=f"fix the tests (last lines below; whole log: {log}); nothing was changed",
                             detail=tail)
        self.say("  tests passed")

    def _http_only_site(self, plan: Plan) -> str | None:
        """tls.bootstrap = 'app': the new release over plain HTTP (challenge included) until the first
        certificate exists; None for the holding page."""
        if self.config.tls.bootstrap != "app":
            return None
        from portside.core.config import TlsSection

        plain = self.config.model_copy(update={"tls": TlsSection(mode=TlsMode.off)})
        original, self.config = self.config, plain
        try:
            return self.render(plan)
        finally:
            self.config = original

    def _StopOld(self, action: StopOld, plan: Plan) -> None:  # noqa: N802
        old = [c for c in runtime.app_containers(self.client, plan.app)
               if c.labels.get(runtime.LABEL_RELEASE) != str(plan.release)]
        running = [c for c in old if c.status == "running"]
        if action.drain_seconds and running:  # nothing to drain from the dead
            from portside.ops.pipelines import service_running

            if service_running(self.ctx):
                drain.hand_over(self.store, running, plan.app, action.release, action.drain_seconds)
                runtime.stop_containers([c for c in old if c.status != "running"])
                self.say(f"  release {action.release} drains for {action.drain_seconds}s in portside serve "
                         "('portside status' shows its replicas as draining)")
                return
            self.progress(f"draining release {action.release} for {action.drain_seconds}s (the new release is "
                          "live; with 'portside serve' running this happens in the background)")
            time.sleep(action.drain_seconds)
        runtime.stop_containers(old)

    def _Prune(self, action: Prune, plan: Plan) -> None:  # noqa: N802
        releases = self.store.releases(plan.app)
        keep = {r.number for r in releases[: action.keep]}
        kept_images = {img for r in releases if r.number in keep for img in (r.frontend_image, r.backend_image) if img}
        for release in releases:
            if release.number in keep or release.status == "pruned":
                continue
            shutil.rmtree(self.ctx.paths.release_dir(plan.app, release.number), ignore_errors=True)
            for image in (release.frontend_image, release.backend_image):
                if image and image not in kept_images:
                    try:
                        self.client.images.remove(image, noprune=False)
                    except docker.errors.APIError:
                        pass
            self.store.set_status(plan.app, release.number, "pruned")

    # -- rendering and cleanup ----------------------------------------------------------------

    def render(self, plan: Plan) -> str:
        root = site.site_root(self.config, self.facts.release_dir)
        root.mkdir(parents=True, exist_ok=True)
        _make_traversable(root, self.ctx.paths.root)
        self.ctx.paths.acme_webroot.mkdir(parents=True, exist_ok=True)
        _make_traversable(self.ctx.paths.acme_webroot, self.ctx.paths.root)
        return render_site(self.config, site.site_inputs(
            self.ctx, self.config, label=f"{plan.release} ({plan.ref})", release_dir=self.facts.release_dir,
            upstreams=tuple(f"127.0.0.1:{r.host_port}" for r in self.run.replicas),
            http_port=self.facts.http_port, https_port=self.facts.https_port,
            nginx_version=self.facts.nginx_version, admin_dir=self.app_dir, cert=self.run.cert))

    def _undo(self, plan: Plan) -> None:
        if self.run.switched:
            return  # live (or already switched back by _Verify); later failures do not undo it
        if self.run.replicas:
            self.say(f"removing the {len(self.run.replicas)} new replica(s); the previous release keeps serving")
            self._remove_new_replicas()
        if not self.rollback:
            shutil.rmtree(self.facts.release_dir, ignore_errors=True)

    def _remove_new_replicas(self) -> None:
        try:
            runtime.stop_containers([self.client.containers.get(r.container_id) for r in self.run.replicas],
                                    timeout=2)
        except docker.errors.DockerException:
            pass


@dataclass(frozen=True)
class AcmeOptions:
    staging: bool = False
    preflight: bool = True
    public_ip: str | None = None
    force: bool = False


def acme_issuer(ctx: Context, config: PortsideConfig, say: Callable[[str], None], staging: bool = False) -> Any:
    import hashlib as _hashlib

    from portside.adapters.acme import LETS_ENCRYPT_STAGING, AcmeIssuer

    url = LETS_ENCRYPT_STAGING if staging else config.tls.directory_url
    account = ctx.paths.root / "acme-accounts" / _hashlib.sha256(url.encode()).hexdigest()[:16]
    return AcmeIssuer(url, account, ctx.paths.acme_webroot, config.tls.email,
                      Path(config.tls.ca_bundle) if config.tls.ca_bundle else None, say)


def acme_due(pair: certs.CertPair, names: tuple[str, ...]) -> bool:
    from portside.adapters.acme import read_cert

    info = read_cert(pair.cert)
    if info is None or not pair.key.exists() or set(info.names) != set(names):
        return True
    return dt.datetime.now(dt.UTC) >= info.renew_at


def ensure_acme_certificate(ctx: Context, config: PortsideConfig, gateway: Gateway, http_port: int,
                            say: Callable[[str], None], options: AcmeOptions,
                            http_only_site: str | None = None) -> certs.CertPair:
    """A valid certificate for the app's names, issued at deploy time (never lazily on a first visitor).

    Until one exists the site runs an HTTP-only phase; no rendered config ever references missing files."""
    from portside.adapters.acme import preflight
    from portside.core.render.gateway import render_bootstrap, server_names

    names = server_names(config)
    folder = acme_dir(ctx, config.app.name)
    pair = certs.CertPair(folder / "fullchain.pem", folder / "privkey.pem")
    if not options.force and not acme_due(pair, names):
        say("  certificate valid; next renewal when a third of its lifetime remains")
        return pair
    ctx.paths.acme_webroot.mkdir(parents=True, exist_ok=True)
    _make_traversable(ctx.paths.acme_webroot, ctx.paths.root)
    holding = render_bootstrap(config, ctx.paths.acme_webroot, http_port)
    first = not gateway.site_file(config.app.name).exists() or "waiting for its first certificate" in \
        gateway.site_file(config.app.name).read_text()
    if first:
        gateway.prepare()
        if http_only_site is not None:
            say("  no certificate yet: the new release is served over HTTP (with the challenge) meanwhile")
            gateway.deploy_site(config.app.name, http_only_site)
        else:
            say("  no certificate yet: HTTP-only phase (challenge + holding page) until it exists")
            gateway.deploy_site(config.app.name, holding)
    try:
        if options.preflight and config.tls.preflight:
            from portside.adapters.acme import caa_identity

            preflight(names, ctx.paths.acme_webroot, http_port, public_ip=options.public_ip,
                      caa=caa_identity(config.tls.directory_url))
        issued = acme_issuer(ctx, config, say, options.staging).issue(names, folder, config.tls.key_type)
    except PortsideError:
        if first and http_only_site is not None:
            gateway.deploy_site(config.app.name, holding)  # the new replicas are about to be removed
        raise
    say(f"  certificate issued for {', '.join(names)}")
    return issued


def _make_traversable(path: Path, top: Path) -> None:
    """nginx workers run as an unprivileged user: every folder from ``top`` down to ``path`` must be
    traversable by others. Folders above ``top`` are not changed; if one blocks, say so."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if parent == top or top in parent.parents:
            if not mode & 0o001:
                parent.chmod(mode | 0o011)
        elif not mode & 0o001:
            raise GatewayError(f"{parent} is not traversable by nginx's workers, so they cannot read {path}.",
                               fix=f"'chmod o+x {parent}', or set PORTSIDE_STATE_DIR to a folder under /var/lib")
        if parent == Path("/"):
            break


def rollback(ctx: Context, store: Store, app: str, to: int | None, say: Callable[[str], None],
             progress: Callable[[str], None] | None = None) -> Release:
    """Back to an earlier release: its images, files and config, without rebuilding."""
    from portside.core.config import PortsideConfig
    from portside.core.errors import ConfigError
    from portside.core.plan import build_rollback_plan

    info = store.registered(app)
    current = store.current(app)
    candidates = [r for r in store.releases(app) if r.status in ("retired", "rolled-back", "failed", "live")
                  and ctx.paths.release_dir(app, r.number).exists() and r.config_json != "{}"]
    if to is None:
        older = [r for r in candidates if r.status in ("retired", "rolled-back")
                 and (current is None or r.number < current.number)]
        if not older:
            raise ConfigError([f"{app}: no earlier release to roll back to. Fix: 'portside releases {app}' "
                               "lists what is kept"])
        target = older[0]
    else:
        found = [r for r in candidates if r.number == to]
        if not found:
            kept = ", ".join(str(r.number) for r in candidates) or "none"
            raise ConfigError([f"{app}: release {to} is not kept (kept: {kept}). Fix: pick a kept release"])
        target = found[0]
    if current is not None and target.number == current.number:
        raise ConfigError([f"{app}: release {to} is already live. Fix: pick another release"])
    config = PortsideConfig.model_validate_json(target.config_json)
    app_dir = info.app_dir
    env = runtime_env(config, app_dir)
    facts = Facts(
        app_dir=app_dir, git_ref=target.git_ref, release=target.number,
        release_dir=ctx.paths.release_dir(app, target.number), gateway_mode=info.gateway_mode,
        http_port=info.http_port, https_port=info.https_port,
        current_release=current.number if current else None, current_ref=current.git_ref if current else None,
        current_config_hash=None, current_env_hash=None, current_healthy=False, env_hash=env_hash(env),
        nginx_version=nginx_version())
    plan = build_rollback_plan(config, facts, target.backend_image)
    choice = GatewayChoice(info.gateway_mode, info.http_port, info.https_port)
    deployer = Deployer(ctx, store, config, app_dir, facts, make_gateway(ctx, choice), say, progress=progress,
                        rollback=True)
    try:
        deployer.apply(plan)
    finally:
        deployer.close()
    if current is not None:
        store.set_status(app, current.number, "rolled-back")
    return target
