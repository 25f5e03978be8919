"""Loud feedback: commit statuses on GitLab/GitHub and an optional chat message, for every pipeline.

Configured per app in portside.toml:
  [deploy]
  status_provider = "gitlab"                          # or "github"
  status_api = "https://gitlab.example.com/api/v4"   # or "https://api.github.com"
  status_project = "team/board"                      # GitLab path or id; GitHub owner/repo
  status_token_file = "/etc/portside/board.token"    # a token with the api / repo:status scope
  notify_url = "https://chat.example.com/hooks/xyz"  # Mattermost / Slack-compatible incoming webhook
Failures to notify are logged, never fatal: a deploy does not fail because a chat server is down.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from portside.adapters.store import AppRecord, Store
from portside.core import health
from portside.core.errors import PortsideError

GITLAB_STATE = {"running": "running", "success": "success", "failed": "failed", "queued": "pending"}
GITHUB_STATE = {"running": "pending", "success": "success", "failed": "failure", "queued": "pending"}


def _post(url: str, payload: dict[str, Any], headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def commit_status(provider: str, api: str, project: str, token: str, sha: str, state: str, description: str,
                  target_url: str) -> int:
    sha = urllib.parse.quote(sha, safe="")  # a hex id by the time it gets here; quoted all the same
    if provider == "github":
        return _post(f"{api.rstrip('/')}/repos/{project}/statuses/{sha}",
                     {"state": GITHUB_STATE[state], "description": description[:140], "context": "portside",
                      "target_url": target_url}, {"Authorization": f"Bearer {token}"})
    quoted = urllib.parse.quote(project, safe="")
    return _post(f"{api.rstrip('/')}/projects/{quoted}/statuses/{sha}",
                 {"state": GITLAB_STATE[state], "description": description[:255], "name": "portside",
                  "target_url": target_url}, {"PRIVATE-TOKEN": token})


def chat(url: str, text: str) -> int:
    return _post(url, {"text": text}, {})


def notify_url(record: AppRecord) -> str | None:
    """Where the app's chat messages go: deploy.notify_url of the admin's portside.toml (server-owned: never a
    commit's, never a stale copy in a release). None when unset or the file does not read."""
    try:
        url: str | None = record.config().deploy.notify_url
    except PortsideError:
        return None
    return url


class Notifier:
    """A pipeline's progress as a commit status and (when it ends) a chat line. Both link to the app's own
    address (AppRecord.url): the pipeline API is the admin's, behind the token, and not served publicly."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def pipeline_changed(self, pipeline: Any, state: str, text: str) -> None:
        record = self.store.app(pipeline.app)
        if record is None:
            return
        try:
            config = record.config()
        except PortsideError:
            return
        deploy, link = config.deploy, record.url(config.app.domain)
        text = f"{text} (pipeline {pipeline.id}: portside pipeline logs {pipeline.id})"
        try:
            if deploy.status_api and deploy.status_project and deploy.status_token_file:
                token = Path(deploy.status_token_file).read_text().strip()
                commit_status(deploy.status_provider, deploy.status_api, deploy.status_project, token, pipeline.sha,
                              state, text, link)
            if deploy.notify_url and state in ("success", "failed"):
                icon = ":white_check_mark:" if state == "success" else ":x:"
                chat(deploy.notify_url, f"{icon} {pipeline.app} {pipeline.sha[:12]}: {text}, {link}")
        except OSError as exc:
            self.store.audit(pipeline.app, "notify", f"pipeline {pipeline.id}", f"failed: {exc}")


def app_changed(db: Path, app: str, old: str, new: str, reason: str) -> None:
    """An app went down, degraded or recovered (or the gateway or a replica needed help): say so in the chat
    and in the audit log. Opens its own store: the supervisor calls this from its own thread."""
    store = Store(db)
    try:
        store.audit(app, "health", f"{old} -> {new}", reason)
        record = store.app(app)
        if record is None:
            return
        url = notify_url(record)
        if not url:
            return
        icon = ":white_check_mark:" if new == health.LIVE else ":rotating_light:" if new == health.DOWN else ":warning:"
        text = f"{app} is {new} (was {old}): {reason}" if new in health.STATES else f"{app}: {reason}"  # e.g. an OOM
        try:
            chat(url, f"{icon} {text}")
        except OSError as exc:
            store.audit(app, "notify", f"{old} -> {new}", f"failed: {exc}")
    finally:
        store.close()


def register_gitlab_hook(api: str, project: str, token: str, url: str, secret: str, branch: str) -> int:
    """Create the project hook through the GitLab API (push events on the deploy branch only)."""
    quoted = urllib.parse.quote(project, safe="")
    request = urllib.request.Request(
        f"{api.rstrip('/')}/projects/{quoted}/hooks", method="POST",
        data=json.dumps({"url": url, "token": secret, "push_events": True, "push_events_branch_filter": branch,
                         "merge_requests_events": True, "tag_push_events": False,
                         "enable_ssl_verification": True}).encode(),
        headers={"Content-Type": "application/json", "PRIVATE-TOKEN": token})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - configured URL
            return int(json.loads(response.read())["id"])
    except urllib.error.HTTPError as exc:
        raise PortsideError(f"GitLab refused to create the hook: HTTP {exc.code} {exc.read()[:200]!r}.",
                            fix="check --gitlab-api, --project and that the token has the api scope") from None
