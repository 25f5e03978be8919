"""Golden files for the gateway config, and every rendered combination through `nginx -t` and Gixy-Next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from portside.adapters import certs
from portside.adapters.nginx import nginx_version
from portside.core.config import parse_config
from portside.core.render.gateway import (
    BOOTSTRAP_MARKER,
    GatewayInputs,
    SiteInputs,
    is_bootstrap,
    render_bootstrap,
    render_gateway,
    render_site,
)

GOLDEN = Path(__file__).parent / "golden"
BASE = '[app]\nname = "{name}"\ndomain = "{domain}"\n{extra_app}{sections}'
FULL = "[frontend]\n[backend]\n"
MANUAL_TLS = '[tls]\nmode = "manual"\ncert = "c.pem"\nkey = "k.pem"\n'

CASES: dict[str, tuple[str, dict[str, object]]] = {
    "local-default": (BASE.format(name="board", domain="localhost", extra_app="", sections=FULL), {}),
    "production-aliases": (
        BASE.format(name="board", domain="board.example.com", extra_app='aliases = ["www.board.example.com"]\n',
                    sections=FULL + '[tls]\nmode = "manual"\ncert = "c.pem"\nkey = "k.pem"\n'), {}),
    "tls-off": (BASE.format(name="plain", domain="localhost", extra_app="", sections=FULL + '[tls]\nmode = "off"\n'),
                {}),
    "strip-prefix": (BASE.format(name="strip", domain="localhost", extra_app="",
                                 sections=FULL + "[gateway]\nstrip_prefix = true\nmax_body_size = \"50m\"\n"
                                 'rate_limit = "5r/s"\nwebsocket_paths = ["/api/ws/", "/api/signal/"]\n'), {}),
    "backend-only": (BASE.format(name="api-only", domain="localhost", extra_app="", sections="[backend]\n"), {}),
    "frontend-only": (BASE.format(name="site-only", domain="localhost", extra_app="", sections="[frontend]\n"), {}),
    "not-started": (BASE.format(name="fresh", domain="localhost", extra_app="", sections=FULL),
                    {"upstreams": ()}),
    "nginx-1.25": (BASE.format(name="modern", domain="localhost", extra_app="", sections=FULL),
                   {"nginx_version": (1, 25, 1)}),
    "with-service": (BASE.format(name="svc", domain="board.example.com", extra_app="",
                                 sections=FULL + '[tls]\nmode = "manual"\ncert = "c.pem"\nkey = "k.pem"\n'),
                     {"service_port": 7077}),
    "backend-paths": (BASE.format(name="chat", domain="localhost", extra_app="",
                                  sections=FULL + '[gateway]\nstrip_prefix = true\nbackend_paths = ["/socket.io/", '
                                  '"/ws/"]\n'), {}),
    "custom-csp": (BASE.format(name="csp", domain="localhost", extra_app="",
                               sections=FULL + "[gateway]\ncontent_security_policy = \"default-src 'self'\"\n"), {}),
    # Edge values the allow-lists accept (issue 8): each must still be a valid config for the real nginx.
    "edge-csp-semicolons": (BASE.format(
        name="edge-csp", domain="board.example.com", extra_app="",
        sections=FULL + MANUAL_TLS + "[gateway]\ncontent_security_policy = \"default-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; report-uri /api/csp\"\npermissions_policy = \"camera=(), geolocation=(self)\"\n"), {}),
    "edge-ipv6-domain": (BASE.format(name="edge-ipv6", domain="2001:db8::10", extra_app='aliases = ["::1"]\n',
                                     sections=FULL + MANUAL_TLS), {}),
    "edge-idn-domain": (BASE.format(name="edge-idn", domain="xn--bcher-kva.example",
                                    extra_app='aliases = ["www.xn--bcher-kva.example", "192.0.2.10"]\n',
                                    sections=FULL + MANUAL_TLS), {}),
    "edge-paths": (BASE.format(name="edge-paths", domain="localhost", extra_app="",
                               sections="[frontend]\nassets_path = \"/static.v2/_app~x/\"\n[backend]\n"
                               "health_path = \"/v1.0/health\"\n[gateway]\napi_prefix = \"/v1.0/~api\"\n"
                               "strip_prefix = true\nwebsocket_paths = [\"/v1.0/~api/ws.live/\"]\n"), {}),
}


def _inputs(root: Path, **overrides: object) -> SiteInputs:
    values: dict[str, object] = dict(
        release="7 (abc123)", site_root=root / "site", acme_root=root / "acme",
        upstreams=("127.0.0.1:40001", "127.0.0.1:40002"), http_port=8080, https_port=8443,
        cert=root / "tls" / "fullchain.pem", key=root / "tls" / "privkey.pem", nginx_version=(1, 22, 1))
    values.update(overrides)
    return SiteInputs(**values)  # type: ignore[arg-type]


GOLDEN_ROOT = Path("/srv/portside-golden")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    text, overrides = CASES[case]
    rendered = render_site(parse_config(text), _inputs(GOLDEN_ROOT, **overrides))
    path = GOLDEN / f"{case}.conf"
    if os.environ.get("PORTSIDE_UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text(), f"golden {path.name} differs; PORTSIDE_UPDATE_GOLDEN=1 to accept"


def test_golden_gateway_main() -> None:
    rendered = render_gateway(GatewayInputs(prefix=GOLDEN_ROOT / "gw", sites_dir=GOLDEN_ROOT / "gw" / "sites",
                                            http_port=8080, https_port=8443, user="www-data"))
    path = GOLDEN / "gateway-main.conf"
    if os.environ.get("PORTSIDE_UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text()


def test_render_has_the_essentials() -> None:
    conf = render_site(parse_config(CASES["production-aliases"][0]), _inputs(GOLDEN_ROOT, http_port=80, https_port=443))
    for needle in ("return 308 https://board.example.com$request_uri;", "server_tokens off;",
                   'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;',
                   "location ^~ /.well-known/acme-challenge/", "location ^~ /api/ws/", "proxy_read_timeout 3600s;",
                   "try_files $uri =404;", "try_files $uri $uri.html $uri/ /index.html;", "limit_req_status 429;",
                   "proxy_set_header Host $host;", "proxy_set_header X-Forwarded-Proto $scheme;",
                   "keepalive 32;", "max_fails=3", "camera=(self), microphone=(self)",
                   "ssl_protocols TLSv1.2 TLSv1.3;"):
        assert needle in conf, needle
    assert "$http_host" not in conf and "ssl_stapling" not in conf
    # rate limits only on API locations, never on static files
    static = conf.split("location ^~ /assets/")[1].split("}")[0]
    assert "limit_req" not in static


def test_local_names_get_no_hsts() -> None:
    conf = render_site(parse_config(CASES["local-default"][0]), _inputs(GOLDEN_ROOT))
    assert "Strict-Transport-Security" not in conf
    assert "server_name localhost 127.0.0.1;" in conf


def test_ipv6_names_are_bracketed_as_nginx_matches_them() -> None:
    """nginx compares server_name with the Host header, which writes an IPv6 literal as '[2001:db8::10]'."""
    config = parse_config(CASES["edge-ipv6-domain"][0])
    assert "server_name [2001:db8::10] [::1];" in render_bootstrap(config, GOLDEN_ROOT / "acme", 80)
    assert "return 308 https://[2001:db8::10]$request_uri;" in render_site(config, _inputs(GOLDEN_ROOT, https_port=443))


def test_the_holding_page_is_known_by_its_first_line_only() -> None:
    """The ACME bootstrap owns the holding page until the first certificate; the reconciler leaves it alone."""
    config = parse_config(CASES["production-aliases"][0])
    holding = render_bootstrap(config, GOLDEN_ROOT / "acme", 80)
    assert is_bootstrap(holding) and BOOTSTRAP_MARKER in holding.splitlines()[0]
    site = render_site(config, _inputs(GOLDEN_ROOT))
    assert not is_bootstrap(site)
    assert not is_bootstrap("# managed by portside\n# " + BOOTSTRAP_MARKER + " (quoted in a comment)\n")


def test_tls_without_cert_is_refused() -> None:
    with pytest.raises(ValueError, match="no certificate paths"):
        render_site(parse_config(CASES["local-default"][0]), _inputs(GOLDEN_ROOT, cert=None, key=None))


# -- every combination through the real nginx and Gixy-Next ---------------------------------------


@pytest.fixture(scope="module")
def nginx_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nginx-t")
    ca = certs.ensure_local_ca(root / "ca")
    pair = certs.ensure_leaf(ca, root / "tls", ("localhost", "board.example.com"))
    assert pair.cert == root / "tls" / "fullchain.pem"
    for sub in ("site", "acme", "gw/logs", "gw/tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def _checkable(case: str) -> bool:
    return CASES[case][1].get("nginx_version", (1, 22, 1)) <= nginx_version()  # type: ignore[operator]


@pytest.mark.parametrize("case", sorted(CASES))
def test_nginx_t_and_gixy(case: str, nginx_root: Path) -> None:
    if not _checkable(case):
        pytest.skip(f"this machine's nginx {nginx_version()} is older than the case's target")
    text, overrides = CASES[case]
    gw = nginx_root / "gw" / case
    sites = gw / "sites"
    sites.mkdir(parents=True, exist_ok=True)
    (gw / "logs").mkdir(exist_ok=True)
    (gw / "tmp").mkdir(exist_ok=True)
    (sites / "app.conf").write_text(render_site(parse_config(text), _inputs(nginx_root, **overrides)))
    main = gw / "nginx.conf"
    main.write_text(render_gateway(GatewayInputs(prefix=gw, sites_dir=sites, http_port=8080, https_port=8443)))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run([nginx, "-t", "-p", str(gw), "-c", str(main)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    gixy = subprocess.run(["gixy", "-f", "json", str(main)], capture_output=True, text=True)
    findings = json.loads(gixy.stdout or "[]")
    assert gixy.returncode == 0 and findings == [], gixy.stdout + gixy.stderr


def test_gixy_would_catch_a_bad_config(nginx_root: Path) -> None:
    """The Gixy check above can fail: a config with a known mistake gets a finding."""
    bad = nginx_root / "bad.conf"
    bad.write_text("events {}\nhttp { server { listen 8080; location / { proxy_set_header Host $http_host; "
                   "proxy_pass http://127.0.0.1:9; } } }\n")
    gixy = subprocess.run(["gixy", "-f", "json", str(bad)], capture_output=True, text=True)
    assert gixy.returncode == 1
    assert "host_spoofing" in {f["plugin"] for f in json.loads(gixy.stdout)}
