"""Webhook parsing and the deploy decision, on real GitLab and GitHub payloads from ../shared/fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portside.core.hooks import (
    BadRequest,
    decide,
    github_signature,
    github_signature_ok,
    gitlab_token_ok,
    parse_github,
    parse_gitlab,
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "webhooks"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_github_signature_matches_the_documented_vector() -> None:
    secret, payload = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_signature(payload, secret) == expected
    assert github_signature_ok({"X-Hub-Signature-256": expected}, payload, secret)
    assert not github_signature_ok({"X-Hub-Signature-256": expected}, payload + b" ", secret)
    assert not github_signature_ok({}, payload, secret)


def test_gitlab_token() -> None:
    assert gitlab_token_ok({"X-Gitlab-Token": "s3cret"}, "s3cret")
    assert not gitlab_token_ok({"x-gitlab-token": "s3cre"}, "s3cret")
    assert not gitlab_token_ok({}, "s3cret")


def test_gitlab_push_to_the_deploy_branch_deploys_checkout_sha() -> None:
    delivery = parse_gitlab({"Idempotency-Key": "k1"}, body("gitlab_push.json"))
    assert delivery.delivery_id == "k1" and delivery.project == "test/woodpecker"
    decision = decide(delivery, "main")
    assert decision.deploy and decision.sha == "16862e368d8ab812e48833b741dad720d6e2cb7f"
    other = decide(delivery, "production")
    assert not other.deploy and "not the deploy branch production" in other.reason


def test_gitlab_branch_delete_tag_and_system_hook() -> None:
    deleted = decide(parse_gitlab({}, body("gitlab_push_branch_delete.json")), "feature")
    assert not deleted.deploy and "deleted" in deleted.reason
    tag = decide(parse_gitlab({}, body("gitlab_tag_push.json")), "main")
    assert not tag.deploy and "tags do not deploy" in tag.reason
    system = parse_gitlab({"X-Gitlab-Event": "System Hook"}, body("gitlab_system_hook_push.json"))
    assert system.event == "push" and decide(system, "master").deploy


@pytest.mark.parametrize(
    "name", ["gitlab_merge_request_merged.json", "gitlab_merge_request_merged_gitlabcom_2017.json"])
def test_gitlab_merge_is_recorded_not_deployed(name: str) -> None:
    delivery = parse_gitlab({}, body(name))
    assert delivery.merged
    decision = decide(delivery, delivery.target_branch)
    assert not decision.deploy and "its push to" in decision.reason


@pytest.mark.parametrize("name", ["gitlab_merge_request_opened.json", "gitlab_merge_request_closed.json",
                                  "gitlab_merge_request_updated_new_commits.json"])
def test_gitlab_other_merge_request_events(name: str) -> None:
    delivery = parse_gitlab({}, body(name))
    assert not delivery.merged and not decide(delivery, "main").deploy


def test_github_push_and_pull_requests() -> None:
    headers = dict(line.split("\t", 1) for line in (FIXTURES / "github_push.headers.txt").read_text().splitlines()
                   if "\t" in line)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    push = parse_github(headers, body("github_push.json"))
    assert push.delivery_id == "88f41318-101a-11ea-99ad-ec7586fcd78e"
    assert decide(push, "master").sha == "a21683865c088b5fe1906cf6552d15a285a4986d"
    merged = parse_github({"X-GitHub-Event": "pull_request"}, body("github_pull_request_closed_merged.json"))
    assert merged.merged and not decide(merged, "master").deploy
    not_merged = parse_github({"X-GitHub-Event": "pull_request"}, body("github_pull_request_closed_not_merged.json"))
    assert not not_merged.merged  # even though merge_commit_sha is set
    assert decide(parse_github({"X-GitHub-Event": "ping"}, b"{}"), "main").reason.startswith("ping")


def test_branch_delete_on_github() -> None:
    data = json.loads(body("github_push.json"))
    data.update(deleted=True, after="0" * 40)
    decision = decide(parse_github({"X-GitHub-Event": "push"}, json.dumps(data).encode()), "master")
    assert not decision.deploy and "deleted" in decision.reason


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'{"no": "kind"}'])
def test_malformed_bodies(payload: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_gitlab({}, payload)


def test_github_without_event_header() -> None:
    with pytest.raises(BadRequest):
        parse_github({}, b"{}")


def test_skip_marker() -> None:
    data = json.loads(body("gitlab_push.json"))
    data["commits"][-1]["title"] = "docs only [skip deploy]"
    decision = decide(parse_gitlab({}, json.dumps(data).encode()), "main")
    assert not decision.deploy and "skip" in decision.reason
