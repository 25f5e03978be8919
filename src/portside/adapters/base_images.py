"""Offline base images: Debian from the OS package mirror (debootstrap), then docker import.

For servers that cannot reach a container registry. The chain is:
  debootstrap (minbase + ca-certificates) -> portside/debian-rootfs:12  (docker import)
  + extra CA certificates for TLS-intercepting proxies -> portside/debian:12
  + apt-get python3, venv, pip -> portside/python:3.11
  + apt-get nodejs, npm -> portside/node:18
  + apt-get golang-go -> portside/go:1.19; openjdk-17-jdk-headless, maven -> portside/java:17 (when a build needs them)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from portside.adapters.images import build_image, image_exists, try_pull
from portside.adapters.procs import which
from portside.core.errors import BuildError, EnvironmentProblem

SUITE = "bookworm"
ROOTFS = "portside/debian-rootfs:12"
DEBIAN = "portside/debian:12"
CA_PATH = "/etc/ssl/certs/ca-certificates.crt"
RECIPE_LABEL = "org.portside.recipe"


@dataclass(frozen=True)
class BaseImage:
    kind: str
    tag: str
    packages: tuple[str, ...]
    registry_default: str  # what a generated Dockerfile names by default
    extra: str = ""


BASES = {
    "python": BaseImage("python", "portside/python:3.11", ("python3", "python3-venv", "python3-pip"),
                        "python:3.11-slim-bookworm",
                        "RUN ln -sf /usr/bin/python3 /usr/local/bin/python"),
    # The official node image has a 'node' user (uid 1000, /home/node): Dockerfiles written for it say USER node.
    "node": BaseImage("node", "portside/node:18", ("nodejs", "npm"), "node:20-bookworm-slim",
                      "RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home "
                      "--home-dir /home/node --shell /bin/bash node"),
    # Toolchains for compiled backends, built only when a build needs them ('portside base-images' skips them).
    "go": BaseImage("go", "portside/go:1.19", ("golang-go",), "golang:1.22-bookworm"),
    "java": BaseImage("java", "portside/java:17", ("openjdk-17-jdk-headless", "maven"),
                      "maven:3.9-eclipse-temurin-17"),
}


def default_mirror() -> str:
    """The mirror apt already uses on this host, so offline hosts use their internal mirror."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        try:
            text = source.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if line.startswith("URIs:") and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"] and len(words) > 2 and "security" not in line:
                return next(w for w in words[1:] if "://" in w)
    return "http://deb.debian.org/debian"


def _load_bundle(path: Path) -> list[x509.Certificate]:
    with warnings.catch_warnings():  # some long-lived roots have non-positive serial numbers
        warnings.simplefilter("ignore")
        return x509.load_pem_x509_certificates(path.read_bytes())


def _extra_certs(bundle: Path, rootfs_bundle: Path) -> list[bytes]:
    """Certificates in ``bundle`` that Debian's own bundle does not already have."""
    try:
        given = _load_bundle(bundle)
    except ValueError as exc:
        raise BuildError(f"{bundle} holds no PEM certificates ({exc}).",
                         fix="pass a PEM bundle to --ca-bundle, e.g. /etc/ssl/certs/ca-certificates.crt") from None
    known = set()
    if rootfs_bundle.exists():
        known = {c.fingerprint(c.signature_hash_algorithm or hashes.SHA256()) for c in
                 _load_bundle(rootfs_bundle)}
    return [c.public_bytes(serialization.Encoding.PEM) for c in given
            if c.fingerprint(c.signature_hash_algorithm or hashes.SHA256()) not in known]


class BaseImageBuilder:
    def __init__(self, client: docker.DockerClient, cache_dir: Path, log_dir: Path,
                 say: Callable[[str], None], mirror: str | None = None, ca_bundle: Path | None = None) -> None:
        self.client = client
        self.cache_dir = cache_dir
        self.log_dir = log_dir
        self.say = say
        self.mirror = mirror or default_mirror()
        self.ca_bundle = ca_bundle

    def build_all(self, kinds: tuple[str, ...] = ("python", "node"), force: bool = False) -> list[str]:
        # An image's files are for everyone in it (the app runs as a non-root user): never portside's umask 077.
        previous = os.umask(0o022)
        try:
            return self._build_all(kinds, force)
        finally:
            os.umask(previous)

    def _build_all(self, kinds: tuple[str, ...], force: bool) -> list[str]:
        built = []
        if force or not image_exists(self.client, DEBIAN):
            self._debian()
            built.append(DEBIAN)
        for kind in kinds:
            base = BASES[kind]
            if force or not self._current(base):
                self._derived(base)
                built.append(base.tag)
        return built

    def _current(self, base: BaseImage) -> bool:
        """The image exists and was built from today's recipe (an older portside's image is rebuilt)."""
        try:
            labels = self.client.images.get(base.tag).labels or {}
        except docker.errors.ImageNotFound:
            return False
        return labels.get(RECIPE_LABEL) == _recipe(base)

    def _debian(self) -> None:
        debootstrap = which("debootstrap")
        if debootstrap is None:
            raise EnvironmentProblem("debootstrap is not installed.", fix="sudo apt-get install debootstrap")
        if os.geteuid() != 0:
            raise EnvironmentProblem("building base images needs root (debootstrap creates device files).",
                                     fix="run 'sudo portside base-images' once")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="portside-rootfs-") as tmp:
            root = Path(tmp) / "rootfs"
            self.say(f"debootstrap {SUITE} from {self.mirror} (about a minute)")
            log = self.log_dir / "debootstrap.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w") as out:
                result = subprocess.run(
                    [debootstrap, "--variant=minbase", "--include=ca-certificates",
                     f"--cache-dir={self.cache_dir}", SUITE, str(root), self.mirror],
                    stdout=out, stderr=subprocess.STDOUT, timeout=1800, check=False)
            if result.returncode != 0:
                tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
                raise BuildError("debootstrap failed.", fix=f"check the mirror {self.mirror} (whole log: {log})",
                                 detail=tail)
            for junk in ("var/lib/apt/lists", "var/cache/apt/archives", "debootstrap"):
                shutil.rmtree(root / junk, ignore_errors=True)
            (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
            extras = _extra_certs(self.ca_bundle, root / CA_PATH.lstrip("/")) if self.ca_bundle else []
            self.say("docker import")
            archive = Path(tmp) / "rootfs.tar"
            with tarfile.open(archive, "w") as tar:
                tar.add(root, arcname=".")
            self.client.api.import_image_from_file(
                str(archive), repository=ROOTFS.split(":")[0], tag=ROOTFS.split(":")[1],
                changes=["ENV LANG=C.UTF-8", 'CMD ["bash"]'])
            ctx = Path(tmp) / "ctx"
            ctx.mkdir()
            lines = [f"FROM {ROOTFS}", "LABEL org.opencontainers.image.description=\"Debian by portside base-images\""]
            if extras:
                ca_dir = ctx / "ca"
                ca_dir.mkdir()
                for number, pem in enumerate(extras):
                    (ca_dir / f"portside-extra-{number}.crt").write_bytes(pem)
                lines += ["COPY ca/ /usr/local/share/ca-certificates/", "RUN update-ca-certificates"]
                self.say(f"adding {len(extras)} extra CA certificate(s) from {self.ca_bundle}")
            lines += [f"ENV SSL_CERT_FILE={CA_PATH} PIP_CERT={CA_PATH} REQUESTS_CA_BUNDLE={CA_PATH} "
                      f"NODE_EXTRA_CA_CERTS={CA_PATH} DEBIAN_FRONTEND=noninteractive"]
            (ctx / "Dockerfile").write_text("\n".join(lines) + "\n")
            build_image(self.client, ctx, "Dockerfile", DEBIAN, self.log_dir / "base-debian.log", what="Debian base")

    def _derived(self, base: BaseImage) -> None:
        self.say(f"building {base.tag} ({', '.join(base.packages)} from the Debian mirror)")
        with tempfile.TemporaryDirectory(prefix="portside-base-") as tmp:
            lines = [*_recipe_lines(base), f'LABEL {RECIPE_LABEL}="{_recipe(base)}"']
            (Path(tmp) / "Dockerfile").write_text("\n".join(lines) + "\n")
            build_image(self.client, Path(tmp), "Dockerfile", base.tag, self.log_dir / f"base-{base.kind}.log",
                        what=f"{base.kind} base image")


def _recipe_lines(base: BaseImage) -> list[str]:
    lines = [f"FROM {DEBIAN}", "RUN apt-get update && apt-get install -y --no-install-recommends "
             + " ".join(base.packages) + " && rm -rf /var/lib/apt/lists/*"]
    return lines + ([base.extra] if base.extra else [])


def _recipe(base: BaseImage) -> str:
    return hashlib.sha256("\n".join(_recipe_lines(base)).encode()).hexdigest()[:16]


def resolve_base(client: docker.DockerClient, kind: str, builder: Callable[[], BaseImageBuilder],
                 say: Callable[[str], None], offline: bool = False) -> str:
    """The base image a build should use: the registry image if it is here or can be pulled,
    otherwise portside's offline image (built from the Debian mirror if missing)."""
    base = BASES.get(kind)
    if base is None:  # an image reference of the user's, e.g. 'python:3.12-slim': used as it is
        if image_exists(client, kind) or (not offline and try_pull(client, kind)):
            return kind
        raise BuildError(f"base_image {kind!r} is none of portside's base images ({', '.join(BASES)}) and no "
                         "image of that name is on this machine or can be pulled.",
                         fix=f"set base_image in portside.toml to one of {', '.join(BASES)}, or 'docker load' "
                         f"the image {kind!r} here")
    if not offline:
        if image_exists(client, base.registry_default):
            return base.registry_default
        if try_pull(client, base.registry_default):
            return base.registry_default
        say(f"could not pull {base.registry_default} (no registry reachable); using {base.tag}, "
            "built from the Debian mirror")
    if not image_exists(client, base.tag):
        try:
            builder().build_all((kind,))
        except BuildError as exc:
            raise BuildError(
                f"no {kind} toolchain for the build: {base.registry_default} is not on this machine and cannot be "
                f"pulled, and building {base.tag} ({', '.join(base.packages)}) from the Debian mirror failed: "
                f"{exc.message}",
                fix=f"make {base.registry_default} available here ('docker load' an image saved where a registry "
                "is reachable), or check the Debian mirror", detail=exc.detail) from None
    return base.tag
