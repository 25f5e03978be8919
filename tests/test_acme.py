"""tls.mode = 'acme' against Pebble and its challenge DNS server (Debian packages), all on loopback.

Pebble validates HTTP-01 by connecting to <name>:<httpPort>; pebble-challtestsrv answers every name
with 127.0.0.1, and httpPort is the test gateway's HTTP port. Certificates live 40 s, so renewal
(due when a third of the lifetime remains) is reached within the test.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from portside.adapters import certs
from portside.adapters.probe import get

from .conftest import App, cli, edited, free_port, make_app, teardown_app

pytestmark = pytest.mark.integration
DOMAIN = "app.example.test"
ALIAS = "www.app.example.test"
LIFETIME = 40


@dataclass
class Pebble:
    directory: str
    api_ca: Path
    management: int
    procs: list[subprocess.Popen[bytes]]

    def root(self) -> bytes:
        """Pebble's issuing root (regenerated at every start)."""
        return get(f"https://localhost:{self.management}/roots/0", self.api_ca).body

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)


def start_pebble(root: Path, http_port: int) -> Pebble:
    ca = certs.ensure_local_ca(root / "pebble-ca")
    tls = certs.ensure_leaf(ca, root / "pebble-tls", ("localhost", "127.0.0.1"))
    api, management, dns, dns_mgmt = free_port(), free_port(), free_port(), free_port()
    config = root / "pebble.json"
    config.write_text(json.dumps({"pebble": {
        "listenAddress": f"127.0.0.1:{api}", "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": str(tls.cert), "privateKey": str(tls.key), "httpPort": http_port, "tlsPort": free_port(),
        "ocspResponderURL": "", "externalAccountBindingRequired": False,
        "certificateValidityPeriod": LIFETIME}}))
    env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0", "PATH": "/usr/bin"}
    log = (root / "pebble.log").open("ab")
    procs = [
        subprocess.Popen(["pebble-challtestsrv", "-dns01", f"127.0.0.1:{dns}", "-defaultIPv4", "127.0.0.1",
                          "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", "",
                          "-management", f"127.0.0.1:{dns_mgmt}"], stdout=log, stderr=log),
        subprocess.Popen(["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{dns}", "-strict"],
                         stdout=log, stderr=log, env=env),
    ]
    log.close()
    pebble = Pebble(f"https://localhost:{api}/dir", ca.cert, management, procs)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if get(pebble.directory, ca.cert).status == 200:
                return pebble
        except OSError:
            time.sleep(0.2)
    raise AssertionError((root / "pebble.log").read_text())


@dataclass
class Site:
    app: App
    pebble: Pebble
    root: Path

    def up(self, *extra: str) -> object:
        return cli("up", self.app.dir, "--gateway", "private", "--http-port", str(self.app.http), "--https-port",
                   str(self.app.https), "--state-dir", self.app.state, "--no-preflight", *extra)

    def served(self, name: str = DOMAIN, verify: bool = True) -> x509.Certificate:
        if verify:
            context = ssl.create_default_context(cadata=self.pebble.root().decode())
        else:  # Pebble's root changes when it restarts: compare serials only
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.app.https), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:  # verifies chain and name
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der)


@pytest.fixture(scope="module")
def site(base_images, docker_client) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="portside-acme-", dir="/var/tmp"))
    root.chmod(0o755)
    app = make_app(root, f"ac-{uuid.uuid4().hex[:6]}")
    pebble = start_pebble(root, app.http)
    config = app.dir / "portside.toml"
    config.write_text(config.read_text()
                      .replace('domain = "localhost"', f'domain = "{DOMAIN}"\naliases = ["{ALIAS}"]')
                      .replace('mode = "self-signed"', f'mode = "acme"\nemail = "ops@example.test"\n'
                               f'directory_url = "{pebble.directory}"\nca_bundle = "{pebble.api_ca}"'))
    app.commit("acme")
    site = Site(app, pebble, root)
    try:
        yield site
    finally:
        site.pebble.stop()  # the one running now (a test restarts it)
        teardown_app(app, docker_client)
        shutil.rmtree(root, ignore_errors=True)


def test_preflight_says_why_before_asking_the_ca(site: Site) -> None:
    result = cli("up", site.app.dir, "--gateway", "private", "--http-port", str(site.app.http), "--https-port",
                 str(site.app.https), "--state-dir", site.app.state)
    assert result.code == 7, result.text
    assert f"{DOMAIN} does not resolve (no A or AAAA record)" in result.err
    assert "create an A record" in result.err
    # the HTTP-only phase is live: the challenge path and a holding page, no certificate referenced
    r = get(f"http://127.0.0.1:{site.app.http}/", headers={"Host": DOMAIN})
    assert r.status == 503 and b"getting its HTTPS certificate" in r.body
    # with tls.bootstrap = "app" the new release is served over HTTP meanwhile; when issuance fails its
    # replicas go away, so the holding page comes back rather than a 502
    with edited(site.app.dir / "portside.toml", 'mode = "acme"', 'mode = "acme"\nbootstrap = "app"'):
        again = cli("up", site.app.dir, "--gateway", "private", "--http-port", str(site.app.http), "--https-port",
                    str(site.app.https), "--state-dir", site.app.state)
    assert again.code == 7 and "served over HTTP" in again.err, again.text
    r = get(f"http://127.0.0.1:{site.app.http}/", headers={"Host": DOMAIN})
    assert r.status == 503 and b"getting its HTTPS certificate" in r.body


def test_issue_at_deploy_time_and_serve(site: Site) -> None:
    result = site.up()
    assert result.code == 0, result.text  # type: ignore[attr-defined]
    assert "certificate issued for app.example.test, www.app.example.test" in result.err  # type: ignore[attr-defined]
    cert = site.served()
    names = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                .get_values_for_type(x509.DNSName))
    assert names == {DOMAIN, ALIAS}
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)  # ECDSA P-256 by default
    key = site.app.state / "apps" / site.app.name / "certs" / "acme" / "privkey.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    accounts = list((site.app.state / "acme-accounts").glob("*/account.key"))
    assert len(accounts) == 1 and accounts[0].stat().st_mode & 0o777 == 0o600
    # HTTPS with HSTS; the alias redirects to the canonical name; HTTP redirects to HTTPS
    r = _get_tls(site, "/", DOMAIN)
    assert r[0] == 200 and "max-age=63072000" in r[1].get("strict-transport-security", "")
    assert _get_tls(site, "/x?y=1", ALIAS)[1]["location"] == f"https://{DOMAIN}:{site.app.https}/x?y=1"
    plain = get(f"http://127.0.0.1:{site.app.http}/a", headers={"Host": DOMAIN})
    assert plain.status == 308 and plain.headers["location"].startswith(f"https://{DOMAIN}")


def _get_tls(site: Site, path: str, name: str) -> tuple[int, dict[str, str]]:
    from portside.adapters.probe import through_gateway

    r = through_gateway(name, site.app.https, path, tls=True)
    return r.status, r.headers


def test_tls_quality_mozilla_intermediate(site: Site) -> None:
    """sslyze's Mozilla 'intermediate' compliance check passes; TLS 1.0 and 1.1 are refused."""
    target = f"{DOMAIN}:{site.app.https}{{127.0.0.1}}"
    report = site.root / "sslyze.json"
    pebble_root = site.root / "pebble-root.pem"  # trusted for this scan only, never system-wide
    pebble_root.write_bytes(site.pebble.root())
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "sslyze", "--mozilla_config=intermediate",
                             "--certinfo", "--certinfo_ca_file", str(pebble_root), "--json_out", str(report),
                             target], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{DOMAIN}:{site.app.https}: OK - Compliant." in result.stdout
    scan = json.loads(report.read_text())["server_scan_results"][0]["scan_result"]
    for old in ("tls_1_0_cipher_suites", "tls_1_1_cipher_suites", "ssl_3_0_cipher_suites"):
        assert scan[old]["status"] == "COMPLETED" and scan[old]["result"]["accepted_cipher_suites"] == [], old
    assert scan["tls_1_3_cipher_suites"]["result"]["accepted_cipher_suites"]  # TLS 1.3 offered


def test_certs_lists_and_renewal_waits_until_due(site: Site) -> None:
    listed = cli("certs", "--json", "--state-dir", site.app.state)
    assert listed.code == 0, listed.text
    row = json.loads(listed.out)[0]
    assert row["mode"] == "acme" and set(row["names"]) == {DOMAIN, ALIAS} and row["renews"]
    early = cli("certs", "renew", "--state-dir", site.app.state)
    assert early.code == 0 and "not-due" in early.err


def test_renewal_serves_the_new_certificate_without_a_restart(site: Site) -> None:
    from portside.adapters.acme import read_cert

    path = site.app.state / "apps" / site.app.name / "certs" / "acme" / "fullchain.pem"
    info = read_cert(path)
    assert info is not None
    before = site.served().serial_number
    master = (site.app.state / "gateway" / "nginx.pid").read_text().strip()
    wait = (info.renew_at.timestamp() - time.time()) + 1
    time.sleep(max(0.0, wait))
    result = cli("certs", "renew", "--state-dir", site.app.state)
    assert result.code == 0, result.text
    assert f"renewed {site.app.name}" in result.err
    assert site.served().serial_number != before
    assert (site.app.state / "gateway" / "nginx.pid").read_text().strip() == master  # reloaded, not restarted


def test_wrong_webroot_keeps_the_current_certificate(site: Site) -> None:
    """Someone points the challenge location at another folder: the CA gets a 404, the error says so,
    and the site keeps serving the certificate it has."""
    import signal

    site_file = site.app.state / "gateway" / "sites" / f"{site.app.name}.conf"
    original = site_file.read_text()
    webroot = str(site.app.state / "acme-webroot")
    assert f"root {webroot};" in original
    serving = site.served(verify=False).serial_number
    master = int((site.app.state / "gateway" / "nginx.pid").read_text())
    site_file.write_text(original.replace(f"root {webroot};", "root /var/empty-portside-test;"))
    import os

    os.kill(master, signal.SIGHUP)
    time.sleep(1)
    try:
        result = cli("certs", "renew", "--force", "--state-dir", site.app.state)
        assert result.code == 7, result.text
        assert "the CA could not validate the challenge" in result.err and "404" in result.err
        assert site.served(verify=False).serial_number == serving
    finally:
        site_file.write_text(original)
        os.kill(master, signal.SIGHUP)
        time.sleep(1)


def test_ca_down_keeps_the_current_certificate_and_backs_off(site: Site) -> None:
    serving = site.served().serial_number
    before = json.loads(cli("certs", "--json", "--state-dir", site.app.state).out)[0]["failures"]
    site.pebble.stop()
    try:
        failed = cli("certs", "renew", "--force", "--state-dir", site.app.state)
        assert failed.code == 7, failed.text
        assert "did not answer" in failed.err and "current certificate keeps being served" in failed.err
        assert site.served(verify=False).serial_number == serving
        again = cli("certs", "renew", "--state-dir", site.app.state)
        row = json.loads(cli("certs", "--json", "--state-dir", site.app.state).out)[0]
        assert row["failures"] == before + 1 and "did not answer" in row["last_error"]
        status = json.loads(cli("status", site.app.name, "--json", "--state-dir", site.app.state).out)
        assert "did not answer" in status["apps"][0]["certificate"]["last_error"]
        assert again.code in (0, 7)
    finally:
        site.pebble = start_pebble(site.root / "restart", site.app.http)


def test_challenge_unreachable_is_a_clear_error(site: Site, docker_client) -> None:  # type: ignore[no-untyped-def]
    """A second app whose gateway is not where the CA connects: validation fails, with the fix."""
    other_root = site.root / "other"
    other_root.mkdir()
    other = make_app(other_root, f"ad-{uuid.uuid4().hex[:6]}")
    config = other.dir / "portside.toml"
    config.write_text(config.read_text()
                      .replace('domain = "localhost"', 'domain = "other.example.test"')
                      .replace('mode = "self-signed"', f'mode = "acme"\nemail = "ops@example.test"\n'
                               f'directory_url = "{site.pebble.directory}"\nca_bundle = "{site.pebble.api_ca}"'))
    other.commit("acme")
    try:
        result = cli("up", other.dir, "--gateway", "private", "--http-port", str(other.http), "--https-port",
                     str(other.https), "--state-dir", other.state, "--no-preflight")
        assert result.code == 7, result.text
        assert "the CA could not validate the challenge: other.example.test" in result.err
        assert "port 80 must reach this gateway" in result.err
    finally:
        teardown_app(other, docker_client)
