"""A local user of the server reads nothing of portside's state except what nginx serves (the release site
trees and the ACME webroot); git queries in a user's repository run nothing its config names; the audit
record holds the real uid.

The end-to-end test deploys the example and then tries every path of the state dir as 'nobody'."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from portside.adapters.acme import preflight
from portside.adapters.git import source_ref
from portside.adapters.locks import app_lock
from portside.adapters.probe import get
from portside.adapters.store import Store
from portside.ops.context import STATE_UMASK, private_files

from .conftest import cli, deployed_example, free_port, write_files


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask most shells have (022): what portside must not depend on for its secrets."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


# -- the DB and the lock files -------------------------------------------------------------------


def test_a_new_db_and_its_sidecars_are_0600(tmp_path: Path, loose_umask: None) -> None:
    store = Store(tmp_path / "state" / "portside.db")
    store.audit("app", "up", "release 1", "ok")
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files == ["portside.db", "portside.db-shm", "portside.db-wal"]
    assert {name: _mode(tmp_path / "state" / name) for name in files} == dict.fromkeys(files, 0o600)
    store.close()


def test_a_db_an_older_version_left_0644_is_tightened(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "portside.db"
    old = sqlite3.connect(db)  # held open, as a running older 'serve' would: its -wal and -shm stay
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (x)")
    sidecars = [db, tmp_path / "portside.db-wal", tmp_path / "portside.db-shm"]
    assert [_mode(p) for p in sidecars] == [0o644] * 3
    Store(db).close()
    assert [_mode(p) for p in sidecars] == [0o600] * 3
    old.close()


def test_lock_files_are_0600(tmp_path: Path, loose_umask: None) -> None:
    with app_lock(tmp_path / "locks", "board", "up"):
        assert _mode(tmp_path / "locks" / "board.lock") == 0o600
    assert _mode(tmp_path / "locks") == 0o700


# -- L12: the audit record ------------------------------------------------------------------------

OLD_AUDIT = """
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, app TEXT NOT NULL,
                    action TEXT NOT NULL, detail TEXT NOT NULL, result TEXT NOT NULL);
CREATE TABLE releases (app TEXT NOT NULL, number INTEGER NOT NULL, created_at TEXT NOT NULL, git_ref TEXT NOT NULL,
                       frontend_image TEXT, backend_image TEXT, env_hash TEXT NOT NULL, config_hash TEXT NOT NULL,
                       site_conf TEXT NOT NULL, upstreams TEXT NOT NULL, status TEXT NOT NULL,
                       config_json TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (app, number));
INSERT INTO audit (at, who, app, action, detail, result) VALUES ('2024-01-01T00:00:00+00:00', 'alice', 'board',
                                                                 'up', 'release 1', 'ok');
"""


def test_an_old_audit_table_gets_the_uid_column_and_keeps_its_rows(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "portside.db"
    with sqlite3.connect(db) as old:
        old.executescript(OLD_AUDIT)
    monkeypatch.delenv("SUDO_USER", raising=False)
    store = Store(db)
    store.audit("board", "rollback", "to 1", "ok")
    rows = list(reversed(store.audit_log("board")))
    store.close()
    assert [(r["who"], r["uid"], r["action"]) for r in rows] == [
        ("alice", None, "up"), (_account(os.getuid()), os.getuid(), "rollback")]


def _account(uid: int) -> str:
    import pwd

    return pwd.getpwuid(uid).pw_name


def test_the_audit_name_comes_from_the_uid_and_sudo_user_is_a_hint(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "portside.db")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.delenv("SUDO_USER", raising=False)
    store.audit("board", "up", "plain", "ok")
    monkeypatch.setenv("SUDO_USER", "alice")
    store.audit("board", "up", "via sudo", "ok")
    rows = {r["detail"]: (r["who"], r["uid"]) for r in store.audit_log("board")}
    store.close()
    me, uid = _account(os.getuid()), os.getuid()
    assert rows == {"plain": (me, uid), "via sudo": (f"alice (uid {uid} via sudo)", uid)}


# -- L5: the crash log ----------------------------------------------------------------------------


def _crash(monkeypatch: pytest.MonkeyPatch, state: Path) -> tuple[str, Path]:
    def boom(*_args: object) -> None:
        raise RuntimeError("Invalid header value b'Bearer s3cr3t-token'")

    monkeypatch.setattr("portside.ops.lifecycle.collect_status", boom)
    result = cli("status", "--state-dir", state)
    assert result.code == 1, result.text
    log = Path(result.err.split("The full trace is in ", 1)[1].split(";", 1)[0])
    assert "s3cr3t-token" in log.read_text() and _mode(log) == 0o600
    return result.err, log


def test_the_crash_log_goes_to_the_state_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    _message, log = _crash(monkeypatch, state)
    assert log.parent == state / "logs" and log.name.startswith("portside-error-")
    assert _mode(state / "logs") == 0o700


def test_without_a_state_dir_the_crash_log_is_in_a_private_temp_dir(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "no-such-state"
    _message, log = _crash(monkeypatch, state)
    assert not state.exists()  # a crash does not create a state dir
    assert _mode(log.parent) == 0o700 and log.parent.name.startswith("portside-error-")
    log.unlink()
    log.parent.rmdir()


# -- L6: read-only git in a user's repository -----------------------------------------------------


def _booby_trapped_repo(root: Path) -> tuple[Path, Path]:
    """A repository whose own config runs a command from any git that reads the index (fsmonitor), and
    a hook that runs when 'git status' rewrites the index."""
    repo = write_files(root / "repo", {"portside.toml": "", "app.py": "print(1)\n"})
    marker = root / "ran"
    script = root / "trap.sh"
    script.write_text(f"#!/bin/sh\necho \"$0 $*\" >> {marker}\n")
    script.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    hook = repo / ".git" / "hooks" / "post-index-change"
    hook.write_text(script.read_text())
    hook.chmod(0o755)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(script)], check=True)
    (repo / "app.py").write_text("print(2)\n")  # a dirty tree: status has work to do
    return repo, marker


def test_the_trap_fires_for_a_plain_git(tmp_path: Path) -> None:
    """The control: without portside's options, git runs the repository's command."""
    repo, marker = _booby_trapped_repo(tmp_path)
    subprocess.run(["git", "-C", str(repo), "ls-files"], check=True, capture_output=True)
    assert marker.exists()


def test_source_ref_runs_nothing_the_repository_names(tmp_path: Path) -> None:
    repo, marker = _booby_trapped_repo(tmp_path)
    ref = source_ref(repo)
    assert "-dirty." in ref
    assert not marker.exists(), marker.read_text()


def test_doctor_runs_nothing_the_repository_names(tmp_path: Path) -> None:
    repo, marker = _booby_trapped_repo(tmp_path)
    (repo / ".env").write_text("DB_PASSWORD=x\n")
    subprocess.run(["git", "-C", str(repo), "-c", "core.fsmonitor=false", "add", ".env"], check=True)
    marker.unlink(missing_ok=True)
    result = cli("doctor", repo, "--json")
    assert "PS105" in result.out  # the tracked .env was still found through git ls-files
    assert not marker.exists(), marker.read_text()


# -- the ACME challenge folder ----------------------------------------------------------------------


def test_the_challenge_folder_is_readable_by_nginx_whatever_the_umask(tmp_path: Path) -> None:
    seen: list[int] = []

    def fetch(url: str) -> str:
        probe = tmp_path / ".well-known" / "acme-challenge" / url.rsplit("/", 1)[1]
        seen.append(_mode(probe))
        return probe.read_text()

    with private_files():
        assert os.umask(STATE_UMASK) == STATE_UMASK
        preflight(("app.example.com",), tmp_path, 80, resolve=lambda _n: {"127.0.0.1"}, fetch=fetch)
    assert seen == [0o644]
    assert [_mode(tmp_path / ".well-known"), _mode(tmp_path / ".well-known" / "acme-challenge")] == [0o755] * 2


# -- a pipeline's checkout and step log ------------------------------------------------------------


def test_a_pipeline_checkout_is_private_but_its_files_keep_modes_the_image_needs(tmp_path: Path) -> None:
    """The checkout is the build context: COPY keeps file modes, and the app runs as a non-root user, so the
    files stay 0644 (a 0600 main.py would not start); the folder around them is 0700 so no one else reads them."""
    from portside.ops.checkout import fetch
    from portside.ops.context import Context
    from portside.ops.pipelines import PipelineStore, _StepLogger

    origin = write_files(tmp_path / "origin", {"main.py": "print(1)\n", "pkg/mod.py": ""})
    subprocess.run(["git", "init", "-q", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "-C", str(origin), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    sha = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    ctx = Context.create(tmp_path / "state")
    with private_files():
        pipelines = PipelineStore(Store(ctx.paths.db))
        pipeline, _created = pipelines.enqueue("board", "main", sha, "manual")
        log = _StepLogger(ctx, pipeline, pipelines, [])
        log.enter("fetch")
        checkout = ctx.paths.app_dir("board") / "src"
        fetch(checkout, str(origin), sha, "main", None, log)
        log.close()
    assert (_mode(checkout), _mode(checkout / "main.py"), _mode(checkout / "pkg")) == (0o700, 0o644, 0o755)
    step_log = next((ctx.paths.app_dir("board") / "pipelines").rglob("fetch.log"))
    assert (_mode(step_log), _mode(step_log.parent)) == (0o600, 0o700)


# -- serve -----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_serve_writes_its_state_private(tmp_path: Path, loose_umask: None) -> None:
    """'portside serve' started with a shell's umask (022), over state an older version left 0644."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "service.json").write_text("{}")
    (state / "service.json").chmod(0o644)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")}
    with (tmp_path / "serve.log").open("w") as log:
        serve = subprocess.Popen(["python3", "-m", "portside", "serve", "--port", str(port), "--state-dir",
                                  str(state)], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while json.loads((state / "service.json").read_text()).get("port") != port:
            assert serve.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        modes = {p.name: _mode(p) for p in state.iterdir() if p.is_file()}
    finally:
        serve.terminate()
        serve.wait(10)
    assert modes["service.json"] == 0o600 and modes["portside.db"] == 0o600
    assert set(modes.values()) == {0o600}, modes


# -- end to end: a real deploy, then every path tried as 'nobody' ---------------------------------

TRY_AS_NOBODY = """
import os, sys
for path in sys.stdin.read().split("\\0"):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
    except OSError:
        continue
    print(path)
"""


def _readable_by_nobody(paths: list[Path]) -> set[Path]:
    result = subprocess.run(["runuser", "-u", "nobody", "--", "python3", "-I", "-c", TRY_AS_NOBODY],
                            input="\0".join(map(str, paths)), capture_output=True, text=True, check=True)
    return {Path(line) for line in result.stdout.splitlines()}


def _served(state: Path, path: Path) -> bool:
    rel = path.relative_to(state).parts
    return rel[:1] == ("acme-webroot",) or (rel[:1] == ("apps",) and rel[2:3] == ("releases",)
                                             and rel[4:5] in (("site",), ("empty",)))


def _walk(state: Path) -> list[Path]:
    found = [state]
    for folder, dirs, files in os.walk(state):
        found += [Path(folder) / name for name in dirs + files]
    return found


@pytest.mark.integration
def test_a_deployed_state_dir_is_private_except_what_nginx_serves(base_images: None, docker_client) -> None:  # type: ignore[no-untyped-def]
    with deployed_example(docker_client, "perm") as app:
        # a body larger than nginx's buffer goes to a temp file under gateway/tmp, written by the worker user
        big = get(f"{app.url}/api/cards", app.ca, method="POST", body=json.dumps({"title": "x" * 200_000}).encode(),
                  headers={"Content-Type": "application/json"})
        assert big.status != 500, big.body[:300]
        held = sqlite3.connect(app.state / "portside.db")  # as 'serve' does: the WAL and SHM exist meanwhile
        held.execute("SELECT count(*) FROM audit").fetchone()
        paths = _walk(app.state)
        readable = _readable_by_nobody(paths)
        held.close()
        served = {p for p in paths if _served(app.state, p)}
        modes = {str(p.relative_to(app.state)): _mode(p) for p in paths}
        folders = {str(p.relative_to(app.state)) for p in paths if p.is_dir()}

    assert any(p.name == "index.html" for p in readable & served)  # the check does see a readable file
    leaks = sorted(str(p.relative_to(app.state)) for p in readable - served)
    assert leaks == [], f"readable by any local user: {leaks}"

    app_dir = f"apps/{app.name}"
    expected = {"portside.db": 0o600, "portside.db-wal": 0o600, "portside.db-shm": 0o600,
                ".": 0o711, "gateway": 0o711, "gateway/tmp": 0o711,  # the way to what nginx's workers use: o+x
                "ca/ca.key": 0o600, f"{app_dir}/certs/privkey.pem": 0o600,
                "locks": 0o700, f"locks/{app.name}.lock": 0o600,
                f"{app_dir}/logs": 0o700, f"{app_dir}/logs/build-1-backend.log": 0o600,
                "gateway/logs": 0o700, "gateway/logs/error.log": 0o600, "gateway/logs/access.log": 0o600,
                "gateway/nginx.conf": 0o600, "gateway/ports.json": 0o600}
    assert {k: oct(modes.get(k, 0)) for k in expected} == {k: oct(v) for k, v in expected.items()}
    loose = {k: oct(v) for k, v in modes.items() if app.state / k not in served
             and v & (0o066 if k in folders else 0o077)}
    assert {k for k in loose if not k.endswith(PUBLIC_BY_NATURE)} == set(), loose
    assert all(modes[str(Path(k).parent)] == 0o700 for k in loose), "in folders that only the owner opens"


# 0644 as certs.py and gateway.py write them: a certificate is public; a site file is 0644 in conf.d for the
# system nginx. In the state dir their folders are 0700 (checked above), so no one else opens them.
PUBLIC_BY_NATURE = ("/ca.pem", "/fullchain.pem", ".conf")
