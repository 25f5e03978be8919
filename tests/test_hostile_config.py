"""Hostile portside.toml values (issue 8, findings H2 and L2): nothing from portside.toml may inject into nginx.

Each case is refused twice: by parse_config, with a message naming the key path and a fix, and, where
the value reaches the nginx site template, by the renderer's finalize check when the config validation
is bypassed (model_copy skips validators), so the template never depends on one layer alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from portside.core.config import PortsideConfig, parse_config
from portside.core.errors import ConfigError, GatewayError
from portside.core.render.gateway import SiteInputs, render_site

# The payloads of the security review (ngx_inject.py), verbatim apart from the temp path.
REVIEW_CSP = ("default-src 'self'\" always;\n}\nlog_format pwn '$http_x_payload';\nserver {\n listen 127.0.0.1:18999;\n"
              " access_log /tmp/secrev/ngx/ROOT_WROTE_THIS pwn;\n location = /docker { proxy_pass "
              "http://unix:/var/run/docker.sock:/version; }\n add_header X-Pad \"x")
REVIEW_POLICY = "camera=()\" always;\n    location /leak/ { alias /etc/; autoindex on; }\n    add_header X-Pad \"x"
REVIEW_ZONE_ID = "::1%x;\n    location ~ ^.pwn(?<p>.+)$ { alias $p; }\n    #"


@dataclass(frozen=True)
class Case:
    id: str
    key: str  # section.field
    value: Any  # a str, or a dict for backend.env
    # "site": rendered from a config whose validation was bypassed; "cert": as the manual certificate path;
    # None: the value never reaches an nginx template (git, Docker, HTTP) or is not nginx syntax.
    render: str | None = "site"


def group(key: str, render: str | None, **values: Any) -> list[Case]:
    """Cases for one key; the id is the field name and the keyword, e.g. 'domain-trailing-newline'."""
    field = key.split(".")[1].replace("_", "-")
    return [Case(f"{field}-{name.replace('_', '-')}", key, value, render) for name, value in values.items()]


CASES = [
    # app.domain / app.aliases: zone ids, line breaks, look-alikes, lengths, canonical IP literals
    *group("app.domain", "site", review_zone_id=REVIEW_ZONE_ID, trailing_newline="board.example.com\n",
           carriage_return="board.example.com\r", nul="board\x00.example.com", trailing_space="board.example.com ",
           semicolon_location="a.example.com; location / { return 200; }", dollar="a$host.example.com",
           braces="a{b}.example.com", cyrillic_o="b\u043eard.example.com", rtl_override="board\u202e.example.com",
           zero_width_space="bo\u200bard.example.com", fullwidth_dot="board\uff0eexample.com"),
    *group("app.domain", None, zone_id_plain="fe80::1%eth0", label_64="a" * 64 + ".example.com",
           over_253=("a" * 63 + ".") * 4 + "com", leading_zero_ipv4="127.0.0.01", noncanonical_ipv6="0:0::1",
           upper_case="Board.Example.com"),
    *group("app.aliases", "site", review_zone_id=REVIEW_ZONE_ID,
           quote_newline_location='x"\n    location /leak/ { alias /etc/; }\n', tab="www\t.example.com"),
    *group("app.aliases", None, leading_hyphen="-x.example.com"),
    *group("app.name", "site", newline_server="demo\nserver"),
    # header values inside "..."
    *group("gateway.content_security_policy", "site", review_log_format=REVIEW_CSP,
           dollar_variable="default-src 'self' $http_x", trailing_newline="default-src 'self'\n",
           backslash="default-src 'self' \\", braces="default-src ${x}", nul="default-src\x00 'self'",
           curly_quotes="default-src \u2018self\u2019"),
    *group("gateway.permissions_policy", "site", review_alias=REVIEW_POLICY, semicolon="camera=(); geolocation=()",
           quote='camera=(self "https://a.example")', dollar="camera=($x)", cr_lf="camera=()\r\nX-Evil: 1"),
    # URL paths
    *group("gateway.websocket_paths", "site", trailing_newline="/api/ws/\n", semicolon="/api/ws;/",
           brace_space="/api/ws/ { }/"),
    *group("gateway.websocket_paths", None, dot_dot="/api/../ws/"),
    *group("gateway.api_prefix", "site", dollar="/api$1", newline="/api\n"),
    *group("gateway.api_prefix", None, hash="/api#x"),
    *group("frontend.assets_path", "site", quote='/assets/"/', space="/as sets/"),
    *group("frontend.assets_path", None, dot_dot="/../"),
    *group("gateway.max_body_size", "site", newline="10m\n"),
    *group("gateway.rate_limit", "site", semicolon="20r/s;"),
    *group("backend.health_path", None, crlf_header="/api/health\r\nHost: evil", query="/api/health?x=1",
           dot_dot="/api/../admin", encoded_dot_dot="/api/%2e%2e/admin"),
    *group("deploy.smoke_paths", None, space_http_version="/api/cards HTTP/1.1", fragment="/api/#x"),
    # git
    *group("deploy.branch", None, option="-x", upload_pack="--upload-pack=touch /tmp/pwn", dot_dot="main..x",
           reflog="main@{1}", double_slash="feature//x", lock="main.lock", trailing_slash="main/",
           newline="main\n", hidden_part="feature/.x"),
    *group("deploy.repository", None, ext="ext::sh -c touch% /tmp/pwn", fd="fd::17",
           upload_pack="--upload-pack=touch /tmp/pwn", ssh_option_host="ssh://-oProxyCommand=touch%20pwn/x",
           newline="https://git.example.com/x.git\n"),
    *group("deploy.status_project", None, dot_dot="../../user"),
    # Docker and files
    *group("backend.base_image", None, option="--build-arg=x", stage="python:3.11 AS x"),
    *group("frontend.base_image", None, newline="node\nRUN id"),
    *group("backend.path", None, dot_dot="../../..", absolute="/var/lib/portside"),
    *group("frontend.path", None, backslash="..\\.."),
    *group("frontend.dockerfile", None, dot_dot="../Dockerfile"),
    *group("backend.dockerfile", None, newline="Dockerfile\n"),
    *group("frontend.output_dir", None, absolute="/etc"),
    *group("tls.cert", "cert", semicolon="certs/x;y.pem", space="certs/my cert.pem"),
    *group("backend.env", None, key_newline={"A\nB": "x"}, value_newline={"A": "x\nEVIL=1"}, value_nul={"A": "x\x00y"}),
    # addresses
    *group("tls.email", None, newline="ops@example.com\n", display_name="Ops <ops@example.com>"),
    *group("tls.directory_url", None, userinfo="https://u:p@acme.example/dir", space="https://acme.example/dir x",
           file_scheme="file:///etc/passwd"),
    *group("deploy.status_api", None, crlf="https://api.example.com\r\nX-Evil: 1"),
    *group("deploy.notify_url", None, newline="https://chat.example.com/hooks/x\n"),
]

LISTS = {"app.aliases", "gateway.websocket_paths", "deploy.smoke_paths"}
SECTIONS = ("app", "frontend", "backend", "gateway", "tls", "deploy")
BASE_LINES = {"app": ['name = "demo"', 'domain = "board.example.com"']}


def toml_string(value: str) -> str:
    """A TOML basic string; every control character (and DEL) as a \\u escape, as TOML requires."""
    out = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F or c in '"\\' else c for c in value)
    return f'"{out}"'


def toml_value(key: str, value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in value.items()) + " }"
    return f"[{toml_string(value)}]" if key in LISTS else toml_string(value)


def config_text(key: str, value: Any) -> str:
    section, field = key.split(".")
    lines = {name: list(BASE_LINES.get(name, [])) for name in SECTIONS}
    lines[section] = [line for line in lines[section] if not line.startswith(f"{field} =")]
    lines[section].append(f"{field} = {toml_value(key, value)}")
    if key in ("tls.cert", "tls.key"):
        lines["tls"] += ['mode = "manual"', 'key = "k.pem"']
    return "".join(f"[{name}]\n" + "".join(f"{line}\n" for line in lines[name]) for name in SECTIONS)


VALID = parse_config(config_text("app.domain", "board.example.com"))


def inputs(**overrides: Any) -> SiteInputs:
    values: dict[str, Any] = dict(release="7 (abc123)", site_root=Path("/srv/ps/site"), acme_root=Path("/srv/ps/acme"),
                                  upstreams=("127.0.0.1:40001",), http_port=18080, https_port=18443,
                                  cert=Path("/srv/ps/tls/fullchain.pem"), key=Path("/srv/ps/tls/privkey.pem"))
    values.update(overrides)
    return SiteInputs(**values)


def bypassed(config: PortsideConfig, key: str, value: Any) -> PortsideConfig:
    """The config with ``value`` put in place without running any validator."""
    section, field = key.split(".")
    new = (value,) if key in LISTS else value
    part = getattr(config, section).model_copy(update={field: new})
    return config.model_copy(update={section: part})


def test_corpus_is_large_and_covers_every_field() -> None:
    assert len(CASES) >= 45
    assert len({c.id for c in CASES}) == len(CASES)
    keys = {c.key for c in CASES}
    for key in ("app.domain", "app.aliases", "gateway.content_security_policy", "gateway.permissions_policy",
                "gateway.websocket_paths", "frontend.assets_path", "gateway.api_prefix", "backend.health_path",
                "deploy.smoke_paths", "deploy.branch", "backend.base_image", "frontend.path", "backend.path",
                "frontend.dockerfile", "frontend.output_dir", "backend.env", "tls.email", "tls.directory_url",
                "deploy.status_api", "deploy.notify_url", "deploy.repository"):
        assert key in keys, key


def test_the_valid_base_renders() -> None:
    """The refusals below come from the hostile value: the same config without it renders."""
    assert "server_name board.example.com;" in render_site(VALID, inputs())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parse_config_refuses(case: Case) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_text(case.key, case.value))
    problems = caught.value.problems
    mine = [p for p in problems if p.startswith(f"portside.toml: {case.key}")]
    assert mine, problems
    for problem in problems:
        assert "Fix: " in problem
        assert problem.isprintable(), f"raw control or invisible character in {problem!r}"


@pytest.mark.parametrize("case", [c for c in CASES if c.render == "site"], ids=lambda c: c.id)
def test_render_refuses_a_bypassed_config(case: Case) -> None:
    config = bypassed(VALID, case.key, case.value)
    with pytest.raises(GatewayError) as caught:
        render_site(config, inputs())
    assert repr(case.value)[1:-1] in str(caught.value)  # the message shows the value (IPv6 names in [ ])
    assert "refusing to write" in str(caught.value) and caught.value.fix


@pytest.mark.parametrize("case", [c for c in CASES if c.render == "cert"], ids=lambda c: c.id)
def test_render_refuses_a_hostile_certificate_path(case: Case) -> None:
    cert = Path("/srv/app") / case.value
    with pytest.raises(GatewayError, match="refusing to write"):
        render_site(VALID, inputs(cert=cert))


@pytest.mark.parametrize("state", ["/srv/my state", "/srv/x;y", "/srv/x{y}", "/srv/$x", "/srv/x\ny", "/srv/x'y"])
def test_render_refuses_a_state_dir_nginx_would_misread(state: str) -> None:
    with pytest.raises(GatewayError, match="refusing to write") as caught:
        render_site(VALID, inputs(site_root=Path(state) / "site"))
    assert "state folder" in caught.value.fix


def test_render_refuses_a_hostile_release_label() -> None:
    with pytest.raises(GatewayError, match="refusing to write"):
        render_site(VALID, inputs(release="7\nserver { listen 1; }"))


def test_render_allows_a_unicode_state_dir() -> None:
    assert "root /srv/jos\u00e9/site;" in render_site(VALID, inputs(site_root=Path("/srv/jos\u00e9/site")))
