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


# -- 3. one /proc socket reader: one loopback rule, one owner lookup, one root rule --------------------------------

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def _socket_line(address: str, port: int, inode: int) -> str:
    return f"   0: {address}:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0  0 {inode}\n"


def _fake_proc(root: Path) -> Path:
    """A /proc with three listeners held by processes that run with root's effective uid (real uid 1000):
    127.0.1.1:9000 and ::ffff:127.0.0.1:9001 (loopback both), 0.0.0.0:8080 (public)."""
    (root / "net").mkdir(parents=True)
    (root / "net" / "tcp").write_text(TCP_HEADER + _socket_line("0101007F", 9000, 111)
                                      + _socket_line("00000000", 8080, 333))
    (root / "net" / "tcp6").write_text(TCP_HEADER + _socket_line("0000000000000000FFFF00000100007F", 9001, 222))
    for pid, name, inode in ((40, "cache", 111), (41, "mapped", 222), (42, "javad", 333)):
        (root / str(pid) / "fd").mkdir(parents=True)
        (root / str(pid) / "fd" / "0").symlink_to("/dev/null")
        (root / str(pid) / "fd" / "3").symlink_to(f"socket:[{inode}]")
        (root / str(pid) / "comm").write_text(f"{name}\n")
        (root / str(pid) / "status").write_text(f"Name:\t{name}\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n")
    (root / "self").mkdir()  # not a pid: skipped
    return root


def test_host_checks_agree_on_loopback_and_root(tmp_path: Path) -> None:
    from portside.doctor.host import _listener_processes, _listeners, check_listeners, check_root_services

    proc = _fake_proc(tmp_path / "proc")
    import ipaddress

    seen = {port: ipaddress.ip_address(address) for address, port in _listeners(proc / "net")}
    assert seen == {port: ipaddress.ip_address(address) for address, port in (
        ("0.0.0.0", 8080), ("127.0.1.1", 9000), ("::ffff:127.0.0.1", 9001))}
    assert [f.where for f in check_listeners(_listeners(proc / "net"))] == ["socket 0.0.0.0:8080"]
    owners = _listener_processes(proc)
    assert list(owners) == [8080] and owners[8080].pid == 42 and owners[8080].is_root
    assert [(f.check, f.detail) for f in check_root_services(owners)] == [("HS305", "javad on port 8080")]


def test_socket_owner_lookup_is_the_one_nginx_uses(tmp_path: Path) -> None:
    from portside.adapters import procnet
    from portside.adapters.nginx import who_listens

    proc = _fake_proc(tmp_path / "proc")
    assert {i: o.name for i, o in procnet.socket_owners({"111", "222", "999"}, proc).items()} == {
        "111": "cache", "222": "mapped"}
    assert who_listens(9001, proc) == "mapped (PID 41)"
    assert who_listens(7000, proc) == "another program"
    assert procnet.is_loopback("::ffff:127.0.0.1") and procnet.is_loopback("127.0.1.1")
    assert not procnet.is_loopback("::ffff:10.0.0.1") and not procnet.is_loopback("0.0.0.0")


# -- 4. one reader of what server setup recorded ------------------------------------------------------------------

class RecordHost:
    """A host whose only file is setup's record (server.json), answered to read_file's stat and cat."""

    name = "fake"

    def __init__(self, record: str | None) -> None:
        self.record = record

    def run(self, argv: list[str], **_: object) -> object:
        from portside.server.host import Result

        if self.record is None:
            return Result(tuple(argv), 1, "", "No such file")
        return Result(tuple(argv), 0, "644 root root" if argv[0] == "stat" else self.record, "")


def test_setup_record_has_one_writer_and_one_reader() -> None:
    from portside.doctor.hardening import expected
    from portside.server.model import Settings

    asked = Settings(user="ops", service_user="svc", ssh_users=("alice",), ports=(22, 80, 443, 8443), sudo_all=True)
    read, problems = expected(RecordHost(asked.to_json()))
    assert problems == [] and read.to_json() == asked.to_json()
    assert (read.user, read.allowed_ssh_users, read.ports) == ("ops", ("ops", "alice"), (22, 80, 443, 8443))
    assert expected(RecordHost(None)) == (Settings(), [])


def test_an_unreadable_setup_record_is_named_not_guessed() -> None:
    from portside.doctor.hardening import expected
    from portside.server.model import Settings

    with pytest.raises(ValueError, match=r"ports: expected a list of int, got \['80'\]\. Fix: run"):
        Settings.from_json('{"ports": ["80"]}')
    settings, problems = expected(RecordHost('{"ports": [true]}'))
    assert settings == Settings() and [(f.check, f.where) for f in problems] == [("HS324", "/etc/portside/server.json")]
    assert "ports: expected a list of int" in problems[0].detail


def test_ports_setup_opened_are_not_flagged_as_public(monkeypatch: pytest.MonkeyPatch) -> None:
    from portside.doctor.host import check_listeners, public_ports
    from portside.server import plan
    from portside.server.host import FileState
    from portside.server.model import Settings

    record = Settings(ports=(22, 80, 443, 8443)).to_json()
    monkeypatch.setattr(plan, "read_file", lambda host, path: FileState(record, "644", "root", "root"))
    assert public_ports() == (22, 80, 443, 8443)
    found = check_listeners([("0.0.0.0", 8443), ("0.0.0.0", 9000), ("::", 22)])
    assert [f.where for f in found] == ["socket 0.0.0.0:9000"]
    monkeypatch.setattr(plan, "read_file", lambda host, path: None)
    assert public_ports() == Settings().ports == (22, 80, 443)


def test_an_address_writes_an_ipv6_literal_in_brackets_and_leaves_out_default_ports() -> None:
    """One rule for every URL portside prints or asks (app_url, doctor --live): 'https://::1:8443/' is no URL."""
    from portside.core.gateway_choice import app_url, origin

    assert app_url("2001:db8::10", 80, 443) == "https://[2001:db8::10]/"
    assert app_url("::1", 8080, 8443) == "https://[::1]:8443/"
    assert app_url("board.example.com", 80, None) == "http://board.example.com/"
    assert app_url("localhost", 8080, None) == "http://localhost:8080/"
    assert origin("wss", "board.example.com", 443) == "wss://board.example.com"
    assert origin("http", "[::1]", 8080) == "http://[::1]:8080"
