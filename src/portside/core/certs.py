"""Where an app's certificate files are: the layout, decided once. Pure (adapters/certs.py makes them)."""

from __future__ import annotations

from pathlib import Path

from portside.core.config import PortsideConfig, TlsMode

CERT_FILE = "fullchain.pem"
KEY_FILE = "privkey.pem"


def local_ca_in(ca_dir: Path) -> tuple[Path, Path]:
    """(certificate, key) of portside's local CA, the one users trust for https://localhost."""
    return ca_dir / "ca.pem", ca_dir / "ca.key"


def acme_folder(certs_dir: Path) -> Path:
    """The ACME certificate's folder inside the app's certs folder (beside the local-CA leaf)."""
    return certs_dir / "acme"


def pair_in(folder: Path) -> tuple[Path, Path]:
    """(certificate chain, key) as portside writes them into a folder."""
    return folder / CERT_FILE, folder / KEY_FILE


def cert_files(config: PortsideConfig, admin_dir: Path, certs_dir: Path) -> tuple[Path, Path] | None:
    """(certificate chain, key) the app's site uses, or None without TLS: tls.cert/tls.key (relative to the
    admin's folder), the local-CA leaf in ``certs_dir``, or the ACME pair in its acme folder."""
    tls = config.tls
    if tls.mode is TlsMode.manual:
        assert tls.cert and tls.key
        return (admin_dir / tls.cert).resolve(), (admin_dir / tls.key).resolve()
    if tls.mode is TlsMode.self_signed:
        return pair_in(certs_dir)
    if tls.mode is TlsMode.acme:
        return pair_in(acme_folder(certs_dir))
    return None


def http_only_config(config: PortsideConfig) -> PortsideConfig | None:
    """tls.bootstrap = 'app': the config the new release is served with over plain HTTP (challenge included)
    until its first certificate exists; None when the holding page is served instead."""
    if config.tls.bootstrap != "app":
        return None
    from portside.core.config import TlsSection

    return config.model_copy(update={"tls": TlsSection(mode=TlsMode.off)})
