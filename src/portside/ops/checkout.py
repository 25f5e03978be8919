"""The pipeline's checkout of the repository: fetch one commit (no hooks, no fsmonitor, credentials masked), and
check that a webhook's commit is the branch tip or between the live release and the tip."""

from __future__ import annotations

import base64
import os
import re
import shlex
import subprocess
from pathlib import Path
from typing import Protocol

from portside.core.errors import ConfigError, DeployError, PortsideError
from portside.core.hooks import is_commit_sha


class StepLog(Protocol):
    """Where a step's lines go (the pipeline's step log); the values in ``masks`` never appear in it."""

    masks: list[str]

    def say(self, line: str) -> None: ...


_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def mask_url_credentials(text: str) -> str:
    """'https://user:token@host/x' -> 'https://****@host/x' wherever a URL appears in a line."""
    return _URL_USERINFO.sub(r"\1****@", text)


# The checkout is portside's own, but its files come from the repository: no hooks, no fsmonitor, ever.
_GIT_SAFE = ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.ext.allow=never"]


def _git(args: list[str], cwd: Path | None, log: StepLog, env: dict[str, str]) -> str:
    log.say("$ git " + " ".join(shlex.quote(a) for a in args if not a.startswith("http.extraheader")))
    # umask 022: the tree is the build context and COPY keeps its modes for the app's non-root user.
    # Others cannot reach it: fetch keeps the checkout's folder 0700.
    result = subprocess.run(["git", *_GIT_SAFE, *args], cwd=cwd, capture_output=True, text=True, env=env,
                            timeout=600, umask=0o022)
    for line in (result.stdout + result.stderr).splitlines():
        log.say(line)
    if result.returncode != 0:
        raise PortsideError(f"git {args[0]} failed (exit {result.returncode}).",
                            fix="check deploy.repository and deploy.credentials_file; the step log has git's output")
    return result.stdout


def git_auth(credentials_file: str | None) -> tuple[list[str], dict[str, str], str]:
    """Options and environment for git from a credentials file, and the secret to mask in logs."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    if not credentials_file:
        return [], env, ""
    text = Path(credentials_file).read_text().strip()
    if text.startswith("-----BEGIN"):
        env["GIT_SSH_COMMAND"] = f"ssh -i {shlex.quote(credentials_file)} -o IdentitiesOnly=yes " \
                                 "-o StrictHostKeyChecking=accept-new"
        return [], env, ""
    user, _, token = text.partition(":") if ":" in text else ("oauth2", "", text)
    header = base64.b64encode(f"{user}:{token}".encode()).decode()
    return ["-c", f"http.extraheader=Authorization: Basic {header}"], env, token


def fetch(checkout: Path, repository: str, sha: str, branch: str, credentials_file: str | None,
          log: StepLog) -> None:
    if not is_commit_sha(sha):  # checked at the webhook already; this is the last door before git
        raise ConfigError([f"{sha!r} is not a commit id. Fix: a full 40- (or 64-) character hex SHA"])
    options, env, secret = git_auth(credentials_file)
    if secret:
        log.masks.append(secret)
    if not (checkout / ".git").exists():
        checkout.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q"], checkout, log, env)
        _git(["remote", "add", "origin", repository], checkout, log, env)
    else:
        _git(["remote", "set-url", "origin", repository], checkout, log, env)
    checkout.chmod(0o700)
    _git([*options, "fetch", "--quiet", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
         checkout, log, env)
    _git(["checkout", "--quiet", "--force", "--detach", sha], checkout, log, env)
    _git(["clean", "-ffdxq"], checkout, log, env)


def check_tip(checkout: Path, sha: str, branch: str, live_ref: str | None, log: StepLog) -> None:
    """A webhook may deploy the branch tip, or a commit between the live release and the tip: never an older one
    (a replayed signed push must not roll production back; going back is 'portside rollback')."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    tip = _git(["rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}^{{commit}}"], checkout, log,
               env).strip()
    if sha == tip:
        return
    if not _is_ancestor(checkout, sha, tip):
        raise DeployError(f"commit {sha[:12]} is not on branch {branch} (its tip is {tip[:12]}); not deployed.",
                          fix="only pushes to the deploy branch deploy; 'portside deploy <app> --ref <sha>' on the "
                          "server deploys another commit on purpose")
    live = (live_ref or "").split("-", 1)[0]
    if not live or not _is_ancestor(checkout, live, sha):
        raise DeployError(f"commit {sha[:12]} is older than the tip of {branch} ({tip[:12]}) and not newer than "
                          f"the live release ({live or 'none'}): a stale or replayed delivery; not deployed.",
                          fix="the push of the tip deploys it; to go back on purpose use 'portside rollback'")


def _is_ancestor(checkout: Path, older: str, newer: str) -> bool:
    if not re.fullmatch(r"[0-9a-f]{7,64}", older):
        return False
    result = subprocess.run(["git", *_GIT_SAFE, "merge-base", "--is-ancestor", older, newer], cwd=checkout,
                            capture_output=True, text=True, timeout=60)
    return result.returncode == 0
