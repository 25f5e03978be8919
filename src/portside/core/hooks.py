"""Webhooks from GitLab and GitHub: authenticate, parse, decide. Pure: bytes and headers in, data out.

The rule (what a merge into the deploy branch means): deploy from the **push** to the deploy branch,
at ``checkout_sha`` (GitLab) or ``after`` (GitHub). A merge request / pull request merge is recorded
but does not deploy: the push that the merge makes deploys it, exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ZERO_SHA = "0" * 40
MAX_BODY = 5 * 1024 * 1024  # push events are kilobytes (GitHub and GitLab list at most 20 commits); GitHub caps at 25
COMMIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 repositories


def is_commit_sha(value: str) -> bool:
    """A full commit id in lower-case hex: nothing else may reach git, a URL or a page as a commit."""
    return COMMIT_SHA.fullmatch(value) is not None


class BadRequest(Exception):
    """The body is not a webhook we can read (answered with 400)."""


@dataclass(frozen=True)
class Delivery:
    provider: str  # gitlab | github
    delivery_id: str  # stays the same across redeliveries (Idempotency-Key / X-GitHub-Delivery)
    event: str  # push | tag_push | merge_request | pull_request | ping | other
    ref: str = ""
    sha: str = ""
    deleted: bool = False
    merged: bool = False
    target_branch: str = ""
    user: str = ""
    project: str = ""
    message: str = ""


@dataclass(frozen=True)
class Decision:
    deploy: bool
    reason: str
    sha: str = ""


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(name.lower(), "")


def gitlab_token_ok(headers: Mapping[str, str], secret: str) -> bool:
    """X-Gitlab-Token is the secret in plain text: compare in constant time."""
    given = _header(headers, "X-Gitlab-Token").encode()
    if not secret:  # an empty stored secret is "not configured", never "anything matches"
        return False
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(secret.encode()).digest())


def github_signature_ok(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    """X-Hub-Signature-256 = 'sha256=' + hex HMAC-SHA256(secret, raw body)."""
    if not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(_header(headers, "X-Hub-Signature-256").encode(), expected.encode())


def github_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("body is not a JSON object")
    return data


def _branch(ref: str) -> str:
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else ""


def parse_gitlab(headers: Mapping[str, str], body: bytes) -> Delivery:
    data = _json(body)
    kind = data.get("object_kind")  # System Hook sends the same header for every kind: dispatch on the body
    delivery_id = (_header(headers, "Idempotency-Key") or _header(headers, "X-Gitlab-Event-UUID")
                   or _header(headers, "X-Gitlab-Webhook-UUID"))
    project = str((data.get("project") or {}).get("path_with_namespace") or "")
    if kind in ("push", "tag_push"):
        after = str(data.get("after") or "")
        commits = data.get("commits") or []
        return Delivery(
            "gitlab", delivery_id, kind, ref=str(data.get("ref") or ""),
            sha=str(data.get("checkout_sha") or after), deleted=after == ZERO_SHA,
            user=str(data.get("user_username") or data.get("user_name") or ""),
            project=project, message=str(commits[-1].get("title") or commits[-1].get("message") or "")
            if commits else "")
    if kind == "merge_request":
        attrs = data.get("object_attributes") or {}
        merged = attrs.get("action") == "merge" and attrs.get("state") == "merged"
        return Delivery("gitlab", delivery_id, "merge_request",
                        sha=str(attrs.get("merge_commit_sha") or (attrs.get("last_commit") or {}).get("id") or ""),
                        merged=merged, target_branch=str(attrs.get("target_branch") or ""),
                        user=str((data.get("user") or {}).get("username") or ""), project=project,
                        message=str(attrs.get("title") or ""))
    if kind is None:
        raise BadRequest("no object_kind: this is not a GitLab webhook body")
    return Delivery("gitlab", delivery_id, "other", project=project, message=str(kind))


def parse_github(headers: Mapping[str, str], body: bytes) -> Delivery:
    data = _json(body)
    event = _header(headers, "X-GitHub-Event")
    delivery_id = _header(headers, "X-GitHub-Delivery")
    project = str((data.get("repository") or {}).get("full_name") or "")
    if event == "ping":
        return Delivery("github", delivery_id, "ping", project=project)
    if event == "push":
        ref = str(data.get("ref") or "")
        head = data.get("head_commit") or {}
        return Delivery("github", delivery_id, "tag_push" if ref.startswith("refs/tags/") else "push", ref=ref,
                        sha=str(data.get("after") or ""),
                        deleted=bool(data.get("deleted")) or data.get("after") == ZERO_SHA,
                        user=str((data.get("pusher") or {}).get("name") or ""), project=project,
                        message=str(head.get("message") or "").split("\n", 1)[0])
    if event == "pull_request":
        pr = data.get("pull_request") or {}
        # merge_commit_sha is set even for unmerged PRs (GitHub's test merge): 'merged' is the only test.
        merged = data.get("action") == "closed" and bool(pr.get("merged"))
        return Delivery("github", delivery_id, "pull_request", sha=str(pr.get("merge_commit_sha") or ""),
                        merged=merged, target_branch=str((pr.get("base") or {}).get("ref") or ""),
                        user=str((pr.get("user") or {}).get("login") or ""), project=project,
                        message=str(pr.get("title") or ""))
    if not event:
        raise BadRequest("no X-GitHub-Event header: this is not a GitHub webhook")
    return Delivery("github", delivery_id, "other", project=project, message=event)


def decide(delivery: Delivery, branch: str) -> Decision:
    """Deploy, or say why not. Every delivery gets a reason, so 'why didn't it deploy?' has an answer."""
    if delivery.event == "push":
        pushed = _branch(delivery.ref)
        if delivery.deleted:
            return Decision(False, f"branch {pushed or delivery.ref} was deleted; nothing to deploy")
        if pushed != branch:
            return Decision(False, f"push to {pushed or delivery.ref}, not the deploy branch {branch}")
        if not is_commit_sha(delivery.sha):
            return Decision(False, "push without a valid commit SHA (40 or 64 lower-case hex digits)")
        if "[skip deploy]" in delivery.message or "[ci skip]" in delivery.message:
            return Decision(False, "the commit message asks to skip the deploy")
        return Decision(True, f"push to {branch}", delivery.sha)
    if delivery.event == "tag_push":
        return Decision(False, f"tag {delivery.ref.removeprefix('refs/tags/')}: tags do not deploy")
    if delivery.event in ("merge_request", "pull_request"):
        if delivery.merged and delivery.target_branch == branch:
            return Decision(False, f"merge into {branch} recorded; its push to {branch} deploys it")
        return Decision(False, f"{delivery.event.replace('_', ' ')} event that is not a merge into {branch}")
    if delivery.event == "ping":
        return Decision(False, "ping: the hook is set up")
    return Decision(False, f"{delivery.message or 'this'} event does not deploy")
