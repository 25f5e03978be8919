"""portside.toml -> frozen, validated models.

Every problem is reported as ``file: key.path: problem. Fix: what to do`` and never as a traceback.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from portside.core import config_values as v
from portside.core.errors import ConfigError

CONFIG_NAME = "portside.toml"

SERVICE_PREFIX = "/_portside"  # where 'portside serve' is reached through the gateway (its webhooks)
SERVICE_PORT = 7077  # where it listens on loopback unless told otherwise
RESERVED_PATHS = (f"{SERVICE_PREFIX}/", "/.well-known/")



class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppSection(_Model):
    name: v.AppName
    domain: v.HostName = "localhost"
    aliases: tuple[v.HostName, ...] = ()


class FrontendSection(_Model):
    path: v.RelativePath = "frontend"
    dockerfile: v.RelativePath = "Dockerfile"
    output_dir: v.RelativePath = "dist"
    assets_path: v.UrlFolder = "/assets/"
    base_image: v.BaseImage = "node"


class BackendSection(_Model):
    path: v.RelativePath = "backend"
    dockerfile: v.RelativePath = "Dockerfile"
    port: int = Field(default=8000, ge=1, le=65535)
    health_path: v.RequestPath = "/api/health"
    replicas: int = Field(default=2, ge=1, le=32)
    env: v.EnvMap = Field(default_factory=dict)
    env_file: v.FilePath | None = None
    memory: v.MemorySize = "512m"
    cpus: float = Field(default=1.0, gt=0, le=64)
    allow_root: bool = False
    read_only: bool = True  # root file system read-only, with a small tmpfs on /tmp; false to opt out
    health_timeout: int = Field(default=60, ge=1, le=600)
    base_image: v.BaseImage = "python"


class GatewaySection(_Model):
    api_prefix: v.ApiPrefix = "/api"
    strip_prefix: bool = False
    websocket_paths: tuple[v.UrlFolder, ...] = ("/api/ws/",)
    max_body_size: v.NginxSize = "10m"
    rate_limit: v.NginxRate = "20r/s"
    rate_burst: int = Field(default=40, ge=0, le=100000)
    conn_limit: int = Field(default=100, ge=1, le=65535)
    proxy_read_timeout: int = Field(default=60, ge=1, le=86400)
    websocket_timeout: int = Field(default=3600, ge=1, le=86400)
    permissions_policy: v.PolicyText = "camera=(self), microphone=(self), display-capture=(self), geolocation=()"
    content_security_policy: v.CspText | None = None

    backend_paths: tuple[v.UrlFolder, ...] = ()  # more paths to the backend, e.g. Socket.IO's '/socket.io/'

    @field_validator("backend_paths")
    @classmethod
    def _backend_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if path.startswith(RESERVED_PATHS):
                raise ValueError(f"{path!r} is portside's own (/_portside/) or the ACME challenge's "
                                 "(/.well-known/). Fix: use another path")
        return value


class TlsMode(str, Enum):
    self_signed = "self-signed"
    manual = "manual"
    off = "off"
    acme = "acme"


class TlsSection(_Model):
    mode: TlsMode = TlsMode.self_signed
    cert: v.FilePath | None = None
    key: v.FilePath | None = None
    email: v.Email | None = None
    directory_url: v.HttpUrl = "https://acme-v02.api.letsencrypt.org/directory"
    ca_bundle: v.FilePath | None = None  # trust for the ACME directory's own TLS (a private CA, Pebble)
    key_type: Literal["ecdsa", "rsa"] = "ecdsa"
    preflight: bool = True  # check DNS and port 80 through the public name before asking the CA
    bootstrap: Literal["holding", "app"] = "holding"  # before the first certificate: a holding page, or the app

    @model_validator(mode="after")
    def _mode_needs(self) -> TlsSection:
        if self.mode is TlsMode.manual and not (self.cert and self.key):
            raise ValueError("tls.mode = 'manual' needs both tls.cert and tls.key. Fix: set both to PEM file paths")
        if self.mode is not TlsMode.manual and (self.cert or self.key):
            raise ValueError("tls.cert and tls.key are only used with tls.mode = 'manual'. "
                             "Fix: remove them or set mode = 'manual'")
        return self


class DeploySection(_Model):
    branch: v.Branch = "main"
    keep_releases: int = Field(default=5, ge=1, le=100)
    drain_seconds: int = Field(default=30, ge=0, le=3600)
    smoke_paths: tuple[v.RequestPath, ...] = ()
    repository: v.Repository | None = None
    test_command: v.Command | None = None
    test_network: bool = False  # the test container gets a network (egress) only when this is true
    credentials_file: v.FilePath | None = None
    notify_url: v.HttpUrl | None = None
    status_api: v.HttpUrl | None = None
    status_provider: Literal["gitlab", "github"] = "gitlab"
    status_project: v.StatusProject | None = None
    status_token_file: v.FilePath | None = None


class PortsideConfig(_Model):
    app: AppSection
    frontend: FrontendSection | None = None
    backend: BackendSection | None = None
    gateway: GatewaySection = GatewaySection()
    tls: TlsSection = TlsSection()
    deploy: DeploySection = DeploySection()

    @model_validator(mode="after")
    def _cross_field(self) -> PortsideConfig:
        if self.frontend is None and self.backend is None:
            raise ValueError("an app needs a [frontend] or a [backend] section. "
                             "Fix: add one (or both); 'portside init' detects them")
        if self.tls.mode is TlsMode.acme:
            if v.is_local_name(self.app.domain):
                raise ValueError(
                    f"tls.mode = 'acme' needs a public domain in app.domain (got {self.app.domain!r}). "
                    "Fix: set app.domain to a name that points at this server, or use tls.mode = 'self-signed'"
                )
            if not self.tls.email:
                raise ValueError("tls.mode = 'acme' needs tls.email. "
                                 "Fix: add tls.email = \"you@example.com\" (the CA sends expiry warnings there)")
        _check_backend_paths(self)
        prefix = self.gateway.api_prefix + "/"
        if self.backend is not None:
            for ws in self.gateway.websocket_paths:
                if not ws.startswith(prefix):
                    raise ValueError(
                        f"gateway.websocket_paths: {ws!r} is outside gateway.api_prefix {self.gateway.api_prefix!r}. "
                        f"Fix: put WebSocket paths under the API prefix, e.g. '{prefix}ws/'"
                    )
            if not self.gateway.strip_prefix and not self.backend.health_path.startswith(prefix):
                raise ValueError(
                    f"backend.health_path {self.backend.health_path!r} is not under gateway.api_prefix "
                    f"{self.gateway.api_prefix!r}, so the gateway cannot reach it. Fix: e.g. '{prefix}health', "
                    "or set gateway.strip_prefix = true if the backend serves it without the prefix"
                )
        return self


def _overlaps(a: str, b: str) -> bool:
    """Two location prefixes (ending in '/') of which one contains the other."""
    return a.startswith(b) or b.startswith(a)


def _check_backend_paths(config: PortsideConfig) -> None:
    gw = config.gateway
    if gw.backend_paths and config.backend is None:
        raise ValueError("gateway.backend_paths needs a [backend] section. Fix: remove it or add the backend")
    taken = [("gateway.api_prefix", gw.api_prefix + "/"), *(("gateway.websocket_paths", p) for p in gw.websocket_paths)]
    if config.frontend is not None:
        taken.append(("frontend.assets_path", config.frontend.assets_path))
    for path in gw.backend_paths:
        for key, other in taken:
            if _overlaps(path, other):
                raise ValueError(f"gateway.backend_paths: {path!r} overlaps {key} {other!r}. Fix: paths outside "
                                 f"it (paths under {gw.api_prefix}/ reach the backend already)")
        taken.append(("gateway.backend_paths", path))


# Advice per key path, used when pydantic's message alone does not say what to do.
FIXES: dict[str, str] = {
    "app.name": "lower-case letters, digits and '-', 2-32 characters, starting with a letter, e.g. 'team-board'",
    "app.domain": "the domain that points at this server, e.g. 'board.example.com', or 'localhost'",
    "backend.port": "the port your app listens on inside the container, e.g. 8000",
    "backend.replicas": "a number from 1 to 32; 2 keeps the API up while one restarts",
    "backend.memory": "a size such as '512m' or '1g'",
    "backend.health_path": "a path your backend answers with 200 when ready, e.g. '/api/health'",
    "backend.env": "names may hold letters, digits and '_' and must not start with a digit",
    "gateway.api_prefix": "a path such as '/api' (no trailing slash)",
    "gateway.max_body_size": "an nginx size such as '10m' (the largest upload you accept)",
    "gateway.rate_limit": "requests per second or minute per client IP, e.g. '20r/s'",
    "gateway.conn_limit": "open connections per client IP, 1-65535 (nginx's limit), e.g. 100",
    "gateway.websocket_paths": "paths under the API prefix ending in '/', e.g. ['/api/ws/']",
    "gateway.backend_paths": "paths outside the API prefix ending in '/', e.g. ['/socket.io/']",
    "tls.mode": "one of 'self-signed', 'manual', 'off', 'acme'",
    "frontend.assets_path": "the URL folder of your hashed build files, e.g. '/assets/'",
    "deploy.smoke_paths": "paths the gateway must answer with 2xx/3xx after a switch, e.g. ['/api/cards']",
    "deploy.branch": "the branch whose pushes deploy, e.g. 'main'",
}


def _loc(loc: tuple[Any, ...]) -> str:
    """The key path; a key holding a control character (a quoted TOML key) is shown escaped."""
    parts = [str(p) for p in loc if not str(p).startswith("function-after")]
    return ".".join(p if p.isprintable() else ascii(p) for p in parts)


def _format_error(file: str, err: Any, model: type[BaseModel]) -> str:
    path = _loc(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, _, key = path.rpartition(".")
        known = _known_keys(model, parent)
        guess = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"known keys here: {', '.join(sorted(known))}"
        return f"{file}: {path}: unknown key. Fix: remove it; {hint}"
    if kind == "missing":
        return f"{file}: {path}: required key is missing. Fix: add it; {FIXES.get(path, 'see portside init')}"
    msg = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    got_text = f" (got {got!r})" if got is not None and not isinstance(got, dict) else ""
    where = f"{path}: " if path else ""
    if "Fix:" in msg:
        return f"{file}: {where}{msg}"
    fix = FIXES.get(_generic(path), "see the comments in the portside.toml that 'portside init' writes")
    return f"{file}: {where}{msg}{got_text}. Fix: {fix}"


def _generic(path: str) -> str:
    """'gateway.websocket_paths.0' -> 'gateway.websocket_paths' (list items share their key's advice)."""
    return re.sub(r"(\.\d+)+\Z", "", path)


def _known_keys(model: type[BaseModel], parent: str) -> list[str]:
    current: Any = model
    for part in [p for p in parent.split(".") if p]:
        field = current.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return list(current.model_fields)


def parse_config(text: str, file: str = CONFIG_NAME) -> PortsideConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [f"{file}: not valid TOML: {exc}. Fix: check quotes, brackets and '=' on that line"]
        ) from None
    try:
        return PortsideConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format_error(file, e, PortsideConfig) for e in exc.errors()]) from None


def load_config(app_dir: Path, *, server_files: bool = True) -> PortsideConfig:
    """Load and check ``app_dir/portside.toml``. ``server_files=False`` for a pushed commit's file: the files of
    server-owned settings (env_file, TLS key pair) are not looked for in the checkout; they never come from it."""
    path = app_dir / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(
            [f"{path}: file not found. Fix: run 'portside init {app_dir}' to write one, or pass the app folder"]
        )
    config = parse_config(path.read_text(encoding="utf-8"), str(path))
    from portside.core.ownership import check_paths  # ownership builds on this module

    problems = check_paths(config, app_dir, str(path)) or _check_paths(config, app_dir, str(path), server_files)
    if problems:
        raise ConfigError(problems)
    return config


def _check_paths(config: PortsideConfig, app_dir: Path, file: str, server_files: bool) -> list[str]:
    problems = []
    for name, section in (("frontend", config.frontend), ("backend", config.backend)):
        if section is None:
            continue
        folder = app_dir / section.path
        if not folder.is_dir():
            problems.append(f"{file}: {name}.path: folder {folder} does not exist. Fix: the {name}'s folder, "
                            f"relative to {app_dir}")
        elif not (folder / section.dockerfile).is_file():
            problems.append(f"{file}: {name}.dockerfile: {folder / section.dockerfile} not found. Fix: run "
                            f"'portside init' to generate one, or point {name}.dockerfile at yours")
    if not server_files:
        return problems
    if config.backend and config.backend.env_file and not (app_dir / config.backend.env_file).is_file():
        problems.append(f"{file}: backend.env_file: {app_dir / config.backend.env_file} not found. Fix: create "
                        "it (KEY=value lines, keep it out of git) or remove the key")
    if config.tls.mode is TlsMode.manual:
        for key in ("cert", "key"):
            value = getattr(config.tls, key)
            if value and not (app_dir / value).is_file():
                problems.append(f"{file}: tls.{key}: {app_dir / value} not found. Fix: the path of your PEM file")
    return problems


def read_env_file(path: Path) -> dict[str, SecretStr]:
    """KEY=value lines; '#' comments; values may be quoted. Values are secrets."""
    values: dict[str, SecretStr] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not v.ENV_NAME.fullmatch(key.strip()):
            raise ConfigError([f"{path}:{number}: expected KEY=value. "
                               "Fix: one variable per line, e.g. DB_PASSWORD=..."])
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = SecretStr(value)
    return values
