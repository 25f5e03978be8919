"""One owner per meaning: where two places used to decide the same thing differently (which names get no HSTS,
what a URL folder is, who holds a listening socket, what server setup recorded), the deciding function and every
place that asks it agree. Each test fails on the old, diverging behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.adapters import probe
from portside.core.config import parse_config
from portside.core.render.gateway import SiteInputs, render_site
from portside.doctor import live
from portside.doctor.nginx import check_pitfalls, load

ROOT = Path("/srv/portside-test")
NO_HSTS = ["board.local", "10.0.0.5", "intranet", "::1", "team.localhost"]


def _site(domain: str) -> str:
    config = parse_config(f'[app]\nname = "board"\ndomain = "{domain}"\n[frontend]\n'
                          '[tls]\nmode = "manual"\ncert = "c.pem"\nkey = "k.pem"\n')
    return render_site(config, SiteInputs(release="1", site_root=ROOT / "site", acme_root=ROOT / "acme",
                                          upstreams=None, cert=ROOT / "c.pem", key=ROOT / "k.pem"))


def _ur403(url: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """check_url against a site that answers without HSTS (network parts replaced): the UR403 locations."""
    monkeypatch.setattr(live, "_check_dns", lambda host, resolve: [])
    monkeypatch.setattr(live, "_check_redirect", lambda host, port: [])
    monkeypatch.setattr(live, "_check_certificate", lambda host, port, ca, connect_to: ([], True))
    monkeypatch.setattr(probe, "get", lambda *a, **k: probe.Response(200, {}, b""))
    return [f.where for f in live.check_url(url) if f.check == "UR403"]


@pytest.mark.parametrize("domain", NO_HSTS)
def test_doctor_live_asks_for_no_hsts_the_gateway_leaves_out(domain: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Strict-Transport-Security" not in _site(domain)
    host = f"[{domain}]" if ":" in domain else domain
    assert _ur403(f"https://{host}:8443/", monkeypatch) == []
    assert _ur403(host, monkeypatch) == []


def test_doctor_live_still_asks_for_hsts_on_a_public_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Strict-Transport-Security" in _site("board.example.com")
    assert _ur403("https://Board.Example.com:8443/", monkeypatch) == ["https://board.example.com:8443/"]


@pytest.mark.parametrize("name", [*NO_HSTS[:3], "[::1]", "*.local", "_"])
def test_doctor_nginx_asks_for_no_hsts_the_gateway_leaves_out(name: str, tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(f"server {{\n    listen 443 ssl;\n    server_name {name};\n    root /srv;\n}}\n")
    parsed = load(conf, "site.conf")
    assert parsed is not None
    assert [f for f in check_pitfalls(parsed) if f.check == "NG208"] == []
    conf.write_text(conf.read_text().replace(name, "board.example.com"))
    public = load(conf, "site.conf")
    assert public is not None and [f.check for f in check_pitfalls(public) if f.check == "NG208"] == ["NG208"]


# -- 2. one URL-folder rule for backend_paths, websocket_paths and assets_path ------------------------------------

KEYS = {"gateway.backend_paths": "[gateway]\nbackend_paths = ['{v}']\n",
        "gateway.websocket_paths": "[gateway]\nwebsocket_paths = ['{v}']\n",
        "frontend.assets_path": "[frontend]\nassets_path = '{v}'\n"}


@pytest.mark.parametrize("value", ["/../x/", "/./", "/a/../", "/a//b/", "/a b/", "/a;b/", "/{a}/", "/a\"/"])
@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_url_folder_is_refused_alike_under_every_key(key: str, value: str) -> None:
    from portside.core.errors import ConfigError

    frontend = "" if key.startswith("frontend") else "[frontend]\n"
    text = f'[app]\nname = "demo"\n{frontend}[backend]\n' + KEYS[key].format(v=value.replace("'", "\\'"))
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    message = str(caught.value)
    assert f"{key}" in message and ascii(value) in message and "Fix: a URL folder" in message, message


def test_render_refuses_a_backend_path_the_config_would_refuse() -> None:
    config = parse_config('[app]\nname = "demo"\n[backend]\n[gateway]\nbackend_paths = ["/socket.io/"]\n')
    bad = config.model_copy(update={"gateway": config.gateway.model_copy(update={"backend_paths": ("/a/../",)})})
    inputs = SiteInputs(release="1", site_root=ROOT / "site", acme_root=ROOT / "acme", upstreams=(),
                        cert=ROOT / "c.pem", key=ROOT / "k.pem")
    with pytest.raises(ValueError, match=r"render_site: gateway.backend_paths: must not contain '\.' or '\.\.'"):
        render_site(bad, inputs)
