"""ACME (Let's Encrypt or any ACME v2 CA) over HTTP-01, through the gateway's challenge location on port 80.

EFF's ``acme`` library (the protocol half of certbot) is used rather than certbot itself: portside owns
the webroot, the key files, the nginx reload and the schedule, so certbot's own installer, renewal
config and timers would be a second, competing owner of the same files.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portside.adapters.certs import CertPair
from portside.core.certs import pair_in
from portside.core.errors import CertificateError, short_error

if TYPE_CHECKING:  # acme and josepy load only when a certificate is asked for
    from acme.client import ClientV2
    from josepy.jwa import JWASignature
    from josepy.jwk import JWK

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class CertInfo:
    names: tuple[str, ...]
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime

    @property
    def renew_at(self) -> dt.datetime:
        """When a third of the lifetime remains."""
        return self.not_after - (self.not_after - self.not_before) / 3


def read_cert(path: Path) -> CertInfo | None:
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (OSError, ValueError, IndexError):
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(str(n) for n in san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    issuer = ", ".join(a.value for a in cert.issuer if isinstance(a.value, str)) or "unknown"
    return CertInfo(names, issuer, cert.not_valid_before_utc, cert.not_valid_after_utc)


def _write_secret(path: Path, data: bytes) -> None:
    """0600 whatever was there before (a leftover temp file included): one way to write a key, in certs."""
    from portside.adapters.certs import write_private

    write_private(path, data)


def challenge_folder(webroot: Path) -> Path:
    """<webroot>/.well-known/acme-challenge, which nginx's unprivileged workers read: 0755 whatever the umask
    (the state around it is private; the webroot itself is made traversable by the deploy)."""
    folder = webroot / ".well-known" / "acme-challenge"
    folder.mkdir(parents=True, exist_ok=True)
    for path in (folder.parent, folder):
        path.chmod(0o755)
    return folder


def _account_key(path: Path) -> tuple[JWK, str]:
    from josepy import jwk

    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:  # created once, stored 0600
        key = ec.generate_private_key(ec.SECP256R1())
        _write_secret(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return jwk.JWKEC(key=key), "ES256"
    return jwk.JWKRSA(key=key), "RS256"


def _cert_key(key_type: str) -> bytes:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    key = ec.generate_private_key(ec.SECP256R1()) if key_type == "ecdsa" else rsa.generate_private_key(65537, 2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass
class AcmeIssuer:
    directory_url: str
    account_dir: Path  # account key and registration, per CA
    webroot: Path  # served by the gateway at /.well-known/acme-challenge/
    email: str | None = None
    ca_bundle: Path | None = None  # for the directory's own TLS (a private CA, Pebble)
    say: Callable[[str], None] = print

    def _client(self) -> ClientV2:
        from acme import client, errors, messages

        key, alg = _account_key(self.account_dir / "account.key")
        verify: bool | str = str(self.ca_bundle) if self.ca_bundle else True
        # requests takes a CA bundle path for verify; acme's annotation says bool only
        net = client.ClientNetwork(key, alg=_jose_alg(alg), user_agent="portside",
                                   verify_ssl=verify)  # type: ignore[arg-type]
        try:
            directory = client.ClientV2.get_directory(self.directory_url, net)
        except Exception as exc:  # noqa: BLE001 - requests/acme raise many types for an unreachable CA
            raise CertificateError(f"the ACME directory {self.directory_url} did not answer ({short_error(exc, 300)}).",
                                   fix="check tls.directory_url and this server's outbound HTTPS; the site keeps "
                                   "serving its current certificate") from None
        acme = client.ClientV2(directory, net)
        registration = self.account_dir / "registration.json"
        if registration.exists():
            net.account = messages.RegistrationResource.json_loads(registration.read_text())
        else:
            contact = (f"mailto:{self.email}",) if self.email else ()
            try:
                account = acme.new_account(messages.NewRegistration.from_data(
                    email=self.email, terms_of_service_agreed=True) if contact else
                    messages.NewRegistration.from_data(terms_of_service_agreed=True))
            except errors.ConflictError as exc:
                account = acme.query_registration(messages.RegistrationResource(uri=exc.location))
            registration.write_text(account.json_dumps())
            os.chmod(registration, 0o600)
        return acme

    def suggested_renewal(self, cert: Path) -> dt.datetime | None:
        """ACME Renewal Information (RFC 9773), where the CA offers it: the time the CA suggests renewing
        (earlier than usual when it plans to revoke). None when it does not offer it or cannot be asked."""
        from acme import errors

        try:
            when, _next_check = self._client().renewal_time(cert.read_bytes())
        except (errors.Error, CertificateError, OSError, ValueError):
            return None
        if when is not None and when.tzinfo is None:
            when = when.astimezone(dt.UTC)
        return when

    def issue(self, names: tuple[str, ...], out_dir: Path, key_type: str = "ecdsa",
              timeout: float = 90) -> CertPair:
        from acme import crypto_util, errors

        acme = self._client()
        key_pem = _cert_key(key_type)
        csr = crypto_util.make_csr(key_pem, list(names))
        self.say(f"ACME order for {', '.join(names)} at {self.directory_url}")
        try:
            order = acme.new_order(csr)
        except errors.Error as exc:
            raise CertificateError(f"the CA refused the order: {short_error(exc, 300)}.",
                                   fix="check the names; mind the CA's rate limits (try --staging first)") from None
        written: list[Path] = []
        challenge_folder(self.webroot)
        try:
            self._answer_challenges(acme, order, written)
            order = _finalize(acme, order, timeout)
        finally:
            for path in written:
                path.unlink(missing_ok=True)
        pair = CertPair(*pair_in(out_dir))
        _write_secret(pair.key, key_pem)
        staged = pair.cert.with_name(pair.cert.name + ".tmp")
        staged.write_text(order.fullchain_pem)
        os.chmod(staged, 0o644)
        os.replace(staged, pair.cert)
        (out_dir / "meta.json").write_text(json.dumps({"directory": self.directory_url, "names": list(names),
                                                        "issued_at": time.time()}))
        return pair

    def _answer_challenges(self, acme, order, written: list[Path]) -> None:  # type: ignore[no-untyped-def]
        """Put each pending authorization's HTTP-01 file in the webroot (noted in ``written``, for removal) and
        tell the CA it is there."""
        from acme import challenges, messages

        for authz in order.authorizations:
            if authz.body.status == messages.STATUS_VALID:
                continue  # reused authorization
            challenge = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
            if challenge is None:
                raise CertificateError(f"the CA offers no HTTP-01 challenge for {authz.body.identifier.value}.",
                                       fix="use a CA that supports HTTP-01")
            response, validation = challenge.response_and_validation(acme.net.key)
            path = self.webroot / challenge.chall.path.lstrip("/")
            path.write_text(validation)
            path.chmod(0o644)
            written.append(path)
            acme.answer_challenge(challenge, response)


def _finalize(acme, order, timeout: float):  # type: ignore[no-untyped-def]
    """Wait for the CA to validate the order and issue, within ``timeout`` seconds; the finished order."""
    from acme import errors

    deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
    try:
        return acme.poll_and_finalize(order, deadline=deadline)
    except errors.ValidationError as exc:
        details = "; ".join(_authz_error(a) for a in exc.failed_authzrs)
        raise CertificateError(f"the CA could not validate the challenge: {details}.",
                               fix="port 80 must reach this gateway from the internet, and the domain's "
                               "A/AAAA records must point here ('portside doctor --live' checks both)"
                               ) from None
    except errors.TimeoutError:
        raise CertificateError("the CA did not finish validating in time.",
                               fix="try again later; the site keeps its current certificate") from None


def _jose_alg(name: str) -> JWASignature:
    from josepy import jwa

    return jwa.ES256 if name == "ES256" else jwa.RS256


def _authz_error(authz) -> str:  # type: ignore[no-untyped-def]
    for challenge in authz.body.challenges:
        if challenge.error:
            return f"{authz.body.identifier.value}: {challenge.error.detail or challenge.error.typ}"
    return f"{authz.body.identifier.value}: invalid"


def local_addresses() -> set[str]:
    """The addresses of this host's interfaces (from /proc, no extra dependency)."""
    found = {"127.0.0.1", "::1"}
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            found.add(str(ipaddress.ip_address(int(raw, 16))))
    except OSError:
        pass
    try:
        import fcntl
        import struct

        for _index, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                try:
                    packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name[:15].encode()))
                    found.add(socket.inet_ntoa(packed[20:24]))
                except OSError:
                    continue
    except OSError:
        pass
    return found


def caa_identity(directory_url: str) -> str | None:
    """The CAA issuer domain of well-known CAs (what a CAA 'issue' record must name)."""
    known = {"letsencrypt.org": "letsencrypt.org", "api.buypass.com": "buypass.com", "zerossl.com": "sectigo.com",
             "pki.goog": "pki.goog"}
    return next((v for k, v in known.items() if k in directory_url), None)


def _dns_caa(name: str) -> list[tuple[str, str]]:
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "CAA", lifetime=5)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as exc:
        raise CertificateError(f"the CAA lookup for {name} failed ({exc}).",
                               fix="check this server's DNS resolver; CAs refuse to issue when CAA lookups fail"
                               ) from None
    return [(r.tag.decode(), r.value.decode()) for r in answer]


def check_caa(names: tuple[str, ...], identity: str,
              lookup: Callable[[str], list[tuple[str, str]]] = _dns_caa) -> None:
    """RFC 8659: the closest CAA record set up the tree decides; if it has 'issue' records, one must name the CA."""
    for name in names:
        labels = name.rstrip(".").split(".")
        for i in range(len(labels) - 1):
            domain = ".".join(labels[i:])
            records = lookup(domain)
            if not records:
                continue
            issuers = [value.split(";")[0].strip() for tag, value in records if tag == "issue"]
            if issuers and identity not in issuers:
                raise CertificateError(
                    f"the CAA records of {domain} allow only {', '.join(i or '(no CA)' for i in issuers)} to issue "
                    f"for {name}, not {identity}.",
                    fix=f'add a CAA record: {domain}. CAA 0 issue "{identity}"')
            break


def preflight(names: tuple[str, ...], webroot: Path, http_port: int,
              resolve: Callable[[str], set[str]] | None = None,
              fetch: Callable[[str], str] | None = None, public_ip: str | None = None,
              caa: str | None = None) -> None:
    """Before asking the CA: each name resolves here, CAA allows the CA, and the challenge path answers
    through the name (a request from this host to its own public name, port 80)."""
    _check_resolves_here(names, resolve or _system_resolve, public_ip)
    if caa:
        check_caa(names, caa)
    _check_challenge_path(names, webroot, http_port, fetch or _http_fetch)


def _system_resolve(name: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    except socket.gaierror:
        return set()


def _http_fetch(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own domain
        return str(response.read().decode())


def _check_resolves_here(names: tuple[str, ...], resolve: Callable[[str], set[str]], public_ip: str | None) -> None:
    """Each name has an address, and every address is this host's (or, behind NAT, any when --public-ip)."""
    mine = local_addresses() | ({public_ip} if public_ip else set())
    for name in names:
        addresses = resolve(name)
        if not addresses:
            raise CertificateError(f"{name} does not resolve (no A or AAAA record).",
                                   fix=f"create an A record for {name} pointing at this server's public address, "
                                   "wait for it to propagate, then run up again")
        foreign = sorted(a for a in addresses if a not in mine)
        if foreign and not public_ip:
            raise CertificateError(f"{name} resolves to {', '.join(foreign)}, which is not this host.",
                                   fix=f"point {name}'s A/AAAA records here (an AAAA record elsewhere breaks "
                                   "validation too: the CA prefers IPv6); behind NAT pass --public-ip")


def _check_challenge_path(names: tuple[str, ...], webroot: Path, http_port: int,
                          fetch: Callable[[str], str]) -> None:
    """A probe file in the challenge folder comes back through each name on ``http_port``."""
    import secrets

    token = secrets.token_urlsafe(16)
    probe = challenge_folder(webroot) / f"portside-preflight-{token}"
    probe.write_text(token)
    probe.chmod(0o644)
    try:
        port = "" if http_port == 80 else f":{http_port}"
        for name in names:
            url = f"http://{name}{port}/.well-known/acme-challenge/{probe.name}"
            try:
                body = fetch(url)
            except OSError as exc:
                raise CertificateError(f"port {http_port} is not reachable at {url} ({exc}).",
                                       fix="open port 80 in the firewall / cloud security group; the CA "
                                       "validates there") from None
            if body.strip() != token:
                raise CertificateError(f"{url} did not return the challenge file.",
                                       fix="something in front of this gateway answers port 80 instead")
    finally:
        probe.unlink(missing_ok=True)
