"""A webhook delivery after HTTP: is it authentic (HookCheck), and what portside does with it (accept_delivery):
deduplicate, decide, record, enqueue. web/app.py reads the request and turns the outcome into the answer."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from portside.adapters.store import Store
from portside.core.errors import PortsideError
from portside.core.hooks import Delivery, decide, gitlab_token_ok
from portside.ops.pipelines import PipelineStore


class HookCheck:
    """Authentication of one delivery. An unknown app gets a random secret, so it takes exactly the path of a
    wrong secret (no app-name oracle); an empty stored secret never authenticates."""

    def __init__(self, provider: str, headers: Any, secret: str | None) -> None:
        self.provider = provider
        self.known = bool(secret)
        self.secret = secret if secret else secrets.token_urlsafe(32)
        self.given = headers.get("x-gitlab-token" if provider == "gitlab" else "x-hub-signature-256", "")
        self.mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha256)

    @property
    def plausible(self) -> bool:
        if self.provider == "gitlab":
            return 0 < len(self.given) <= 256
        return re.fullmatch(r"sha256=[0-9a-f]{64}", self.given) is not None

    def update(self, chunk: bytes) -> None:
        self.mac.update(chunk)

    def ok(self) -> bool:
        if self.provider == "gitlab":
            good = gitlab_token_ok({"X-Gitlab-Token": self.given}, self.secret)
        else:
            good = hmac.compare_digest(self.given.encode(), ("sha256=" + self.mac.hexdigest()).encode())
        return good and self.known


@dataclass(frozen=True)
class Accepted:
    """What became of an authenticated delivery: "duplicate", "ignored" or "queued"."""

    status: str
    reason: str
    pipeline: int | None = None
    sha: str = ""


def accept_delivery(store: Store, pipelines: PipelineStore, app: str, delivery: Delivery) -> Accepted:
    """An authenticated delivery: deduplicate, decide, record, enqueue (the worker does the work)."""
    provider = delivery.provider
    earlier = pipelines.seen(provider, delivery.delivery_id, app)
    if earlier is not None:
        return Accepted("duplicate", f"delivery {delivery.delivery_id} was already handled: {earlier['reason']}",
                        earlier["pipeline_id"])
    record = store.registered(app)  # a delivery is authenticated with the app's secret: the app is registered
    try:
        branch = record.config().deploy.branch
    except PortsideError:
        branch = "main"
    decision = decide(delivery, branch)
    if not decision.deploy:
        pipelines.record_delivery(provider, delivery.delivery_id, app, delivery.event, delivery.sha, "ignored",
                                  decision.reason, None)
        return Accepted("ignored", decision.reason)
    pipeline, created = pipelines.enqueue(app, f"refs/heads/{branch}", decision.sha, f"{provider} push")
    reason = decision.reason if created else f"{decision.reason}; commit already queued or deploying"
    pipelines.record_delivery(provider, delivery.delivery_id, app, delivery.event, delivery.sha, "deploy",
                              reason, pipeline.id)
    return Accepted("queued", reason, pipeline.id, decision.sha)
