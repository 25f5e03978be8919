"""Apply a plan: the only place where a release is built, started, switched and recorded.

Order (Kamal's boot): start new -> health-check -> switch gateway -> drain -> stop old.
A failure before the switch removes what the new release started; the old release keeps serving.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from portside.adapters import certs, images, probe, runtime
from portside.adapters.gateway import Gateway
from portside.adapters.store import Release, Store, now
from portside.core.certs import http_only_config
from portside.core.config import PortsideConfig
from portside.core.errors import DeployError, PortsideError, disk_full
from portside.core.health import replica_name
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
from portside.core.rollback import ReleaseStatus
from portside.ops import build, drain, site
from portside.ops.certificates import AcmeOptions, ensure_acme_certificate, make_traversable
from portside.ops.context import Context
from portside.ops.facts import runtime_env


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
                 gateway: Gateway, offline: bool = False,
                 progress: Callable[[str], None] | None = None, rollback: bool = False,
                 before_action: Callable[[Action], None] | None = None,
                 after_action: Callable[[Action], None] | None = None) -> None:
        self.ctx = ctx
        self.store = store
        self.config = config
        self.app_dir = app_dir
        self.facts = facts
        self.gateway = gateway
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
            self.ctx.say(plan.actions[0].describe())
            self.store.audit(app, "up", f"release {plan.release} unchanged", "ok")
            return self.run
        started = time.monotonic()
        try:
            for action in plan.actions:
                self.before_action(action)
                self.ctx.say(action.describe())
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
                self.ctx.say(f"note: the audit record of this failure was not written ({lost})")
            if full is not None:
                raise full from exc
            raise
        self.store.audit(app, verb, f"release {plan.release} ({plan.ref})", "ok")
        return self.run

    # -- one method per action type -------------------------------------------------------------

    def _do(self, action: Action, plan: Plan) -> None:
        HANDLERS[type(action)](self, action, plan)

    def _no_change(self, action: NoChange, plan: Plan) -> None:
        pass

    def _preflight(self, action: Preflight, plan: Plan) -> None:
        assert self.client is not None  # connects, or says how to start Docker
        for note in self.gateway.prepare():  # the main file; free ports; catch-all servers
            self.ctx.say(f"note: {note}")
        self.ctx.paths.root.mkdir(parents=True, exist_ok=True)
        make_traversable(self.ctx.paths.root, self.ctx.paths.root)

    def _resolve_base(self, action: ResolveBase, plan: Plan) -> None:
        if action.kind not in self.run.bases:
            self.run.bases[action.kind] = build.base_image(self.client, self.ctx, action.kind, self.offline)

    def _build_image(self, action: BuildImage, plan: Plan) -> None:
        self.run.images[action.role] = build.build_image(self.client, self.ctx, action, plan,
                                                         self.run.bases.get(action.base_kind), self.progress)

    def _check_image_user(self, action: CheckImageUser, plan: Plan) -> None:
        build.check_image_user(self.client, action, self.ctx.say)

    def _run_tests(self, action: RunTests, plan: Plan) -> None:
        build.run_tests(self.client, self.ctx, self.config, self.app_dir, action, plan)

    def _ensure_certificate(self, action: EnsureCertificate, plan: Plan) -> None:
        if action.mode == "manual":
            self.run.cert = site.cert_paths(self.ctx, self.config, self.app_dir)
            return
        if action.mode == "acme":
            self.run.cert = ensure_acme_certificate(self.ctx, self.config, self.gateway, self.facts.http_port,
                                                    self.acme_options, self._http_only_site(plan))
            return
        ca = certs.ensure_local_ca(self.ctx.paths.ca_dir)
        self.run.cert = certs.ensure_leaf(ca, self.ctx.paths.certs(plan.app), action.names)

    def _extract_site(self, action: ExtractSite, plan: Plan) -> None:
        build.extract_site(self.client, action.tag, action.dest)
        make_traversable(action.dest, self.ctx.paths.root)

    def _start_replicas(self, action: StartReplicas, plan: Plan) -> None:
        runtime.ensure_network(self.client, action.network, plan.app)
        env = runtime_env(self.config, self.app_dir) | {"PORTSIDE_RELEASE": str(plan.release)}
        backend = self.config.backend
        assert backend is not None  # StartReplicas is planned only for a backend
        check = images.health_check(self.client, action.tag, action.port, backend.health_path,
                                     backend.health_timeout)
        if check is None:
            self.ctx.say("  note: the image has no curl, wget, python3 or node for Docker's health check; "
                     "portside probes the replicas from the host instead")
        ports = runtime.allocate_ports(self.client, action.count)
        for index in range(action.count):
            name = replica_name(plan.app, plan.release, index + 1)
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
                self.ctx.say(note)
            self.ctx.say(f"  {replica.name} on 127.0.0.1:{replica.host_port}")

    def _health_check(self, action: HealthCheck, plan: Plan) -> None:
        for replica in self.run.replicas:
            runtime.wait_healthy(self.client, replica, action.path, action.timeout)
            self.ctx.say(f"  {replica.name} healthy")

    def _switch_gateway(self, action: SwitchGateway, plan: Plan) -> None:
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
                self.ctx.say(f"WARNING: the gateway serves release {plan.release}, which was not recorded, and the "
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
            upstreams=tuple(f"127.0.0.1:{r.host_port}" for r in self.run.replicas), status=ReleaseStatus.LIVE,
            config_json=self.config.model_dump_json()))
        self.store.set_current(plan.app, plan.release)

    def _verify(self, action: Verify, plan: Plan) -> None:
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
            self.ctx.say(f"  verified {len(action.paths)} path(s) through the gateway")
            return
        back = self._switch_back(plan)
        raise DeployError(f"verification through the gateway failed ({'; '.join(failures)}); {back}.",
                          fix="see 'portside logs <app> backend' and the gateway log; fix and deploy again")

    def _switch_back(self, plan: Plan) -> str:
        """After a failed verification: the previous release's config (its replicas still run) goes back live."""
        self.store.set_status(plan.app, plan.release, ReleaseStatus.FAILED)
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

    def _stop_old(self, action: StopOld, plan: Plan) -> None:
        old = [c for c in runtime.app_containers(self.client, plan.app)
               if c.labels.get(runtime.LABEL_RELEASE) != str(plan.release)]
        running = [c for c in old if c.status == "running"]
        if action.drain_seconds and running:  # nothing to drain from the dead
            from portside.ops.pipelines import service_running

            if service_running(self.ctx):
                drain.hand_over(self.store, running, plan.app, action.release, action.drain_seconds)
                runtime.stop_containers([c for c in old if c.status != "running"])
                self.ctx.say(f"  release {action.release} drains for {action.drain_seconds}s in portside serve "
                         "('portside status' shows its replicas as draining)")
                return
            self.progress(f"draining release {action.release} for {action.drain_seconds}s (the new release is "
                          "live; with 'portside serve' running this happens in the background)")
            time.sleep(action.drain_seconds)
        runtime.stop_containers(old)

    def _prune(self, action: Prune, plan: Plan) -> None:
        releases = self.store.releases(plan.app)
        keep = {r.number for r in releases[: action.keep]}
        kept_images = {img for r in releases if r.number in keep for img in (r.frontend_image, r.backend_image) if img}
        for release in releases:
            if release.number in keep or release.status == ReleaseStatus.PRUNED:
                continue
            shutil.rmtree(self.ctx.paths.release_dir(plan.app, release.number), ignore_errors=True)
            for image in (release.frontend_image, release.backend_image):
                if image and image not in kept_images:
                    try:
                        self.client.images.remove(image, noprune=False)
                    except docker.errors.APIError:
                        pass
            self.store.set_status(plan.app, release.number, ReleaseStatus.PRUNED)

    # -- rendering and cleanup ----------------------------------------------------------------

    def render(self, plan: Plan) -> str:
        return self._site(plan, self.config)

    def _http_only_site(self, plan: Plan) -> str | None:
        """tls.bootstrap = 'app': the new release over plain HTTP until the first certificate exists."""
        plain = http_only_config(self.config)
        return None if plain is None else self._site(plan, plain)

    def _site(self, plan: Plan, config: PortsideConfig) -> str:
        """The release's site file; the folders it serves are created and opened to nginx's workers."""
        root = site.site_root(config, self.facts.release_dir)
        root.mkdir(parents=True, exist_ok=True)
        make_traversable(root, self.ctx.paths.root)
        self.ctx.paths.acme_webroot.mkdir(parents=True, exist_ok=True)
        make_traversable(self.ctx.paths.acme_webroot, self.ctx.paths.root)
        return site.release_site(self.ctx, config, plan, self.facts, admin_dir=self.app_dir, cert=self.run.cert,
                                 upstreams=tuple(f"127.0.0.1:{r.host_port}" for r in self.run.replicas))

    def _undo(self, plan: Plan) -> None:
        if self.run.switched:
            return  # live (or already switched back by _Verify); later failures do not undo it
        if self.run.replicas:
            self.ctx.say(f"removing the {len(self.run.replicas)} new replica(s); the previous release keeps serving")
            self._remove_new_replicas()
        if not self.rollback:
            shutil.rmtree(self.facts.release_dir, ignore_errors=True)

    def _remove_new_replicas(self) -> None:
        try:
            runtime.stop_containers([self.client.containers.get(r.container_id) for r in self.run.replicas],
                                    timeout=2)
        except docker.errors.DockerException:
            pass


HANDLERS: dict[type[Action], Callable[[Deployer, Any, Plan], None]] = {
    NoChange: Deployer._no_change,
    Preflight: Deployer._preflight,
    ResolveBase: Deployer._resolve_base,
    BuildImage: Deployer._build_image,
    CheckImageUser: Deployer._check_image_user,
    EnsureCertificate: Deployer._ensure_certificate,
    ExtractSite: Deployer._extract_site,
    StartReplicas: Deployer._start_replicas,
    HealthCheck: Deployer._health_check,
    SwitchGateway: Deployer._switch_gateway,
    Verify: Deployer._verify,
    RunTests: Deployer._run_tests,
    StopOld: Deployer._stop_old,
    Prune: Deployer._prune,
}
"""The handler of each action type (tests/test_plan.py checks that every action has one)."""
