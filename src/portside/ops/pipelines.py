"""The pipeline: a durable queue in SQLite, and the run that turns a commit into a release.

Steps: fetch -> build -> test -> release -> verify. Each step's log is a file that can be followed live.
One pipeline at a time per app (the same lock as 'portside up'); a newer commit supersedes older queued ones.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portside.adapters import runtime
from portside.adapters.locks import app_lock
from portside.adapters.service_file import service_answers
from portside.adapters.store import Store, now
from portside.core.config import CONFIG_NAME, PortsideConfig, load_config
from portside.core.errors import ConfigError, PortsideError
from portside.core.hooks import is_commit_sha
from portside.ops.checkout import check_tip, fetch, git_auth, mask_url_credentials
from portside.ops.context import Context
from portside.ops.facts import mask, secret_values

STEPS = ("fetch", "build", "test", "release", "verify")

@dataclass(frozen=True)
class Pipeline:
    id: int
    app: str
    ref: str
    sha: str
    trigger: str
    status: str
    step: str | None
    release: int | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    received_at: float
    live_at: float | None


class PipelineStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # -- secrets ----------------------------------------------------------------------------------

    def hook_secret(self, app: str, create: bool = False) -> str | None:
        row = self.db.execute("SELECT secret FROM hook_secrets WHERE app=?", (app,)).fetchone()
        if row:
            return str(row[0])
        if not create:
            return None
        secret = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO hook_secrets VALUES (?,?,?)", (app, secret, now()))
        return secret

    # -- deliveries -------------------------------------------------------------------------------

    def seen(self, provider: str, delivery_id: str, app: str) -> dict[str, Any] | None:
        if not delivery_id:
            return None
        row = self.db.execute("SELECT * FROM deliveries WHERE provider=? AND delivery_id=? AND app=?",
                              (provider, delivery_id, app)).fetchone()
        return dict(row) if row else None

    def record_delivery(self, provider: str, delivery_id: str, app: str, event: str, sha: str, decision: str,
                        reason: str, pipeline_id: int | None) -> None:
        self.db.execute("INSERT OR IGNORE INTO deliveries VALUES (?,?,?,?,?,?,?,?,?)",
                        (provider, delivery_id or f"none-{time.time_ns()}", app, event, sha, now(), decision,
                         reason, pipeline_id))

    def deliveries(self, app: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM deliveries WHERE app=? ORDER BY received_at DESC LIMIT ?",
                               (app, limit))
        return [dict(r) for r in rows]

    # -- the queue --------------------------------------------------------------------------------

    def enqueue(self, app: str, ref: str, sha: str, trigger: str) -> tuple[Pipeline, bool]:
        """Queue a pipeline; returns (pipeline, created). The same SHA already queued or running is reused;
        older queued pipelines of the app are superseded (only the newest commit matters)."""
        if not is_commit_sha(sha):
            raise ConfigError([f"{sha!r} is not a commit id. Fix: a full 40- (or 64-) character hex SHA"])
        with self.db:
            row = self.db.execute("SELECT * FROM pipelines WHERE app=? AND sha=? AND status IN ('queued','running') "
                                  "ORDER BY id DESC LIMIT 1", (app, sha)).fetchone()
            if row:
                return _pipeline(row), False
            self.db.execute("UPDATE pipelines SET status='superseded', finished_at=? WHERE app=? AND status='queued'",
                            (now(), app))
            cursor = self.db.execute(
                "INSERT INTO pipelines (app, ref, sha, trigger, status, created_at, received_at) "
                "VALUES (?,?,?,?, 'queued', ?, ?)", (app, ref, sha, trigger, now(), time.time()))
            pipeline_id = cursor.lastrowid
        pipeline = self.get(int(pipeline_id or 0))
        assert pipeline is not None
        return pipeline, True

    def get(self, pipeline_id: int) -> Pipeline | None:
        row = self.db.execute("SELECT * FROM pipelines WHERE id=?", (pipeline_id,)).fetchone()
        return _pipeline(row) if row else None

    def recent(self, app: str | None = None, limit: int = 20) -> list[Pipeline]:
        if app:
            rows = self.db.execute("SELECT * FROM pipelines WHERE app=? ORDER BY id DESC LIMIT ?", (app, limit))
        else:
            rows = self.db.execute("SELECT * FROM pipelines ORDER BY id DESC LIMIT ?", (limit,))
        return [_pipeline(r) for r in rows]

    def claim(self) -> Pipeline | None:
        """The oldest queued pipeline of an app that has none running."""
        with self.db:
            row = self.db.execute(
                "SELECT * FROM pipelines p WHERE status='queued' AND NOT EXISTS "
                "(SELECT 1 FROM pipelines r WHERE r.app=p.app AND r.status='running') ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE pipelines SET status='running', started_at=? WHERE id=? AND status='queued'",
                            (now(), row["id"]))
        return self.get(int(row["id"]))

    def claim_id(self, pipeline_id: int) -> Pipeline | None:
        """Claim one given pipeline (a hand-run 'portside deploy' with no service running)."""
        with self.db:
            changed = self.db.execute("UPDATE pipelines SET status='running', started_at=? WHERE id=? AND "
                                      "status='queued'", (now(), pipeline_id)).rowcount
        return self.get(pipeline_id) if changed else None

    def set_step(self, pipeline_id: int, step: str) -> None:
        self.db.execute("UPDATE pipelines SET step=? WHERE id=?", (step, pipeline_id))

    def mark_live(self, pipeline_id: int, release: int) -> None:
        """The gateway switched to the pipeline's release: the moment that counts for merge-to-live."""
        self.db.execute("UPDATE pipelines SET release=?, live_at=? WHERE id=?", (release, time.time(), pipeline_id))

    def finish(self, pipeline_id: int, status: str, error: str | None = None, release: int | None = None) -> None:
        self.db.execute("UPDATE pipelines SET status=?, error=?, release=COALESCE(?, release), finished_at=? "
                        "WHERE id=?", (status, error, release, now(), pipeline_id))

    def mark_interrupted(self) -> list[Pipeline]:
        """After a crash: running pipelines did not finish. Their apps keep the release that was live."""
        running = [_pipeline(r) for r in self.db.execute("SELECT * FROM pipelines WHERE status='running'")]
        for pipeline in running:
            self.finish(pipeline.id, "interrupted", f"portside serve stopped during the {pipeline.step} step")
        return running


def _pipeline(row: sqlite3.Row) -> Pipeline:
    return Pipeline(**dict(row))


def registered_config(store: Store, app: str) -> PortsideConfig:
    """The admin's config of an app registered here (by a first 'portside up'), which must name its repository.
    Server-owned settings come only from here (AppRecord.config), never from a pushed commit."""
    record = store.registered(app)
    config = record.config()
    if not config.deploy.repository:
        raise ConfigError([f"{record.app_dir}/portside.toml: deploy.repository is not set. Fix: the git URL (or "
                           "path) portside fetches from, e.g. 'https://gitlab.com/team/board.git'"])
    return config


def step_log(ctx: Context, pipeline: Pipeline, step: str) -> Path:
    return ctx.paths.app_dir(pipeline.app) / "pipelines" / str(pipeline.id) / f"{step}.log"


# -- running a pipeline ---------------------------------------------------------------------------


class _StepLogger:
    """Writes each line to the current step's log file (flushed, so 'pipeline logs -f' sees it at once)."""

    def __init__(self, ctx: Context, pipeline: Pipeline, pipelines: PipelineStore, secrets_to_mask: list[str]) -> None:
        self.ctx, self.pipeline, self.pipelines = ctx, pipeline, pipelines
        self.masks = [s for s in secrets_to_mask if s]
        self.handle: Any = None
        self.step = ""

    def enter(self, step: str) -> None:
        if step == self.step:
            return
        if self.handle:
            self.handle.close()
        self.step = step
        path = step_log(self.ctx, self.pipeline, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("a", encoding="utf-8")
        self.pipelines.set_step(self.pipeline.id, step)
        self.say(f"== {step}")

    def say(self, line: str) -> None:
        line = mask(mask_url_credentials(line), self.masks)
        if self.handle:
            self.handle.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            self.handle.flush()

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def run_pipeline(ctx: Context, store: Store, pipelines: PipelineStore, pipeline: Pipeline,
                 notify: Callable[[Pipeline, str, str], None] | None = None) -> Pipeline:
    """Run one claimed pipeline to the end. Never raises for a deploy failure: the pipeline records it."""
    log = _StepLogger(ctx, pipeline, pipelines, [])
    notify = notify or (lambda _p, _state, _text: None)
    notify(pipeline, "running", f"deploying {pipeline.sha[:12]}")
    try:
        release = _run_steps(ctx.saying(log.say), store, pipelines, pipeline, log)
        pipelines.finish(pipeline.id, "success", release=release)
        log.say(f"release {release} is live")
        notify(pipeline, "success", f"release {release} is live")
    except PortsideError as exc:
        message = exc.message if not isinstance(exc, ConfigError) else "; ".join(exc.problems)
        log.say(f"FAILED: {message}")
        if exc.detail:
            for line in exc.detail.splitlines():
                log.say(line)
        pipelines.finish(pipeline.id, "failed", message)
        notify(pipeline, "failed", message)
    except Exception as exc:  # noqa: BLE001 - a pipeline must record any failure, not die silently
        log.say(f"FAILED (unexpected): {exc!r}")
        pipelines.finish(pipeline.id, "failed", repr(exc))
        notify(pipeline, "failed", repr(exc))
    finally:
        log.close()
    result = pipelines.get(pipeline.id)
    assert result is not None
    return result


def _run_steps(ctx: Context, store: Store, pipelines: PipelineStore, pipeline: Pipeline, log: _StepLogger) -> int:
    """fetch, then (under the app's lock) build, test, release, verify; the number of the release now live."""
    from portside.core.gateway_choice import choose_gateway
    from portside.core.plan import SwitchGateway, build_plan
    from portside.ops.deploy import Deployer
    from portside.ops.facts import gather_facts
    from portside.ops.gateway import make_gateway

    registered = registered_config(store, pipeline.app)
    assert registered.deploy.repository is not None
    record = store.registered(pipeline.app)
    admin_dir = record.app_dir
    checkout = ctx.paths.app_dir(pipeline.app) / "src"
    log.enter("fetch")
    fetch(checkout, registered.deploy.repository, pipeline.sha, registered.deploy.branch,
          registered.deploy.credentials_file, log)
    if pipeline.trigger.endswith(" push"):
        current = store.current(pipeline.app)
        check_tip(checkout, pipeline.sha, registered.deploy.branch, current.git_ref if current else None, log)
    config = _commit_config(checkout, registered, pipeline.app, log)
    log.masks += secret_values(config, admin_dir)
    with app_lock(ctx.paths.locks, pipeline.app, f"pipeline {pipeline.id}", wait=True):
        choice = choose_gateway(config, False, record.http_port, record.https_port, record.gateway_mode)
        facts = gather_facts(ctx, store, config, checkout, choice, admin_dir=admin_dir)
        plan = build_plan(config, facts)

        def before(action: Any) -> None:
            log.enter(action.step)

        def after(action: Any) -> None:
            if isinstance(action, SwitchGateway):
                pipelines.mark_live(pipeline.id, plan.release)

        deployer = Deployer(ctx, store, config, admin_dir, facts, make_gateway(ctx, choice),
                            before_action=before, after_action=after)
        try:
            deployer.apply(plan)
        finally:
            deployer.close()
    return plan.release


def _commit_config(checkout: Path, registered: PortsideConfig, app: str, log: _StepLogger) -> PortsideConfig:
    """The pushed commit's portside.toml for how to build and route; the admin's for everything server-owned."""
    from portside.core.ownership import compose

    file = f"{checkout}/{CONFIG_NAME}"
    repo = load_config(checkout, server_files=False)
    if repo.app.name != app:
        raise ConfigError([f"{file}: app.name is {repo.app.name!r}, not {app!r}. Fix: keep the app name stable"])
    config, ignored = compose(repo, registered, file)
    if ignored:
        log.say(f"ignored from the commit (server-owned; only the admin's portside.toml on the server sets them): "
                f"{', '.join(ignored)}")
    return config


def clean_orphans(ctx: Context, store: Store) -> list[str]:
    """Backend containers that belong to no live release (a pipeline killed mid-release) are removed."""
    from portside.core.errors import LockHeld
    from portside.ops.drain import draining_ids

    removed = []
    client = runtime.connect()
    try:
        draining = draining_ids(store)
        for record in store.apps():
            try:
                with app_lock(ctx.paths.locks, record.name, "portside serve: cleanup"):
                    live = str((store.app(record.name) or record).current_release)  # now, not before the lock
                    # every container of the app (replicas, and the short-lived extract and test containers,
                    # which carry the app's image labels) except the live release's replicas
                    for container in client.containers.list(all=True, filters={
                            "label": f"{runtime.LABEL_APP}={record.name}"}):
                        labels = container.labels
                        if container.id in draining:
                            continue  # handed over by a deploy: stopped when its drain is over
                        if labels.get(runtime.LABEL_ROLE) != "backend" or labels.get(runtime.LABEL_RELEASE) != live:
                            removed.append(str(container.name))
                            runtime.stop_containers([container], timeout=2)
            except LockHeld:
                continue  # a deploy of that app is running right now: its containers are not orphans
    finally:
        client.close()
    return removed


def remote_sha(repository: str, ref: str, credentials_file: str | None) -> str:
    """The commit a branch or tag names on the remote (or the SHA itself)."""
    if is_commit_sha(ref):
        return ref
    options, env, _secret = git_auth(credentials_file)
    result = subprocess.run(["git", *options, "ls-remote", repository, ref, f"refs/tags/{ref}^{{}}"],
                            capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:
        raise PortsideError(mask_url_credentials(f"could not read {repository}: {result.stderr.strip()}"),
                            fix="check deploy.repository and deploy.credentials_file")
    lines = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise ConfigError([f"ref {ref!r} is not a branch or tag of {repository}. Fix: give a branch, a tag or a "
                           "full 40-character commit SHA"])
    peeled = [sha for sha, name in lines if name.endswith("^{}")]
    sha = peeled[0] if peeled else lines[0][0]
    if not is_commit_sha(sha):
        raise PortsideError(f"{mask_url_credentials(repository)} answered {sha!r} for {ref!r}, not a commit id.",
                            fix="check deploy.repository")
    return sha


def service_running(ctx: Context) -> bool:
    return service_answers(ctx.paths.root)
