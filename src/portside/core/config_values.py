"""Allow-lists for the values of portside.toml that reach nginx, git, Docker or an HTTP request.

Each check matches the whole string (``re.fullmatch``; ``$`` would also match before a trailing newline)
and raises ``ValueError("problem (got ...). Fix: ...")``; config.py adds the file and the key path.
The "got" is shown with ``ascii()``, so a control character, a zero-width space or a look-alike letter
is printed as an escape, never as itself.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import AfterValidator


def refuse(problem: str, got: str, fix: str) -> ValueError:
    return ValueError(f"{problem} (got {ascii(got)}). Fix: {fix}")


def _shape_check(pattern: str, problem: str, fix: str, *, dot_segments_ok: bool = True) -> Callable[[str], str]:
    """The whole value must match ``pattern``; with ``dot_segments_ok=False`` no '/'-part may be '.' or '..'."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise refuse(problem, value, fix)
        return value if dot_segments_ok else _no_dot_segments(value, fix)

    return check


def _shape(pattern: str, problem: str, fix: str, *, dot_segments_ok: bool = True) -> AfterValidator:
    return AfterValidator(_shape_check(pattern, problem, fix, dot_segments_ok=dot_segments_ok))


# -- host names -----------------------------------------------------------------------------------------

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HOST_FIX = ("lower-case ASCII letters, digits, '-' and '.', e.g. 'board.example.com' (write an international "
             "name in its xn-- form), an IP address, or 'localhost'")


def is_dns_name(name: str) -> bool:
    return len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def hostname(name: str) -> str:
    if name == "localhost":
        return name
    if "%" in name:
        raise refuse("an IPv6 zone id ('%...') cannot be a server name", name,
                     "remove the '%' and everything after it; nginx names a server by address, not interface")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        if str(address) != name:
            raise refuse("write the IP address in its canonical form", name, f"use {str(address)!r}")
        return name
    if name.rpartition(".")[2].isdigit():
        raise refuse("looks like an IP address but is not one in canonical form", name,
                     "write the address as digits without leading zeros, e.g. '192.0.2.10', or use a DNS name")
    if not is_dns_name(name):
        lower = name.lower()
        fix = f"write it in lower case: {lower!r}" if name.isascii() and is_dns_name(lower) else _HOST_FIX
        raise refuse("not a valid host name", name, fix)
    return name


HostName = Annotated[str, AfterValidator(hostname)]


def is_local_name(name: str) -> bool:
    """A name no public CA will certify and no browser should pin: 'localhost' and '*.localhost', mDNS's
    '*.local', any IP address, and a single label ('intranet'). The one rule for both decisions it drives: the
    gateway sends no HSTS for these names (doctor must not ask for it) and tls.mode = 'acme' refuses them.
    ``name`` is a bare host (no scheme, port or brackets); a URL's host comes from ``urlsplit(url).hostname``."""
    if name == "localhost" or name.endswith((".localhost", ".local")):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return "." not in name


# -- header values (written inside "..." in the nginx config) ---------------------------------------------

def _header(value: str, *, semicolons: bool, fix: str) -> str:
    for char in value:
        if not " " <= char <= "~":
            raise refuse("may hold only printable ASCII (no control, non-ASCII or invisible characters)", value, fix)
        if char in '"\\${}' or (char == ";" and not semicolons):
            raise refuse(f"must not contain {char!r} (nginx would read it as config syntax)", value, fix)
    return value


def csp(value: str) -> str:
    return _header(value, semicolons=True, fix="printable ASCII without \" \\ $ { }, directives separated by ';', "
                   "e.g. \"default-src 'self'; img-src 'self' data:\"; '' sends no CSP header")


def permissions_policy(value: str) -> str:
    return _header(value, semicolons=False, fix="printable ASCII without \" \\ $ { } ;, features separated by ',', "
                   "e.g. 'camera=(), microphone=(self)'")


CspText = Annotated[str, AfterValidator(csp)]
PolicyText = Annotated[str, AfterValidator(permissions_policy)]


# -- URL paths ----------------------------------------------------------------------------------------------

_SEGMENT = r"[A-Za-z0-9._~-]+"
_REQUEST = re.compile(r"/(?:[A-Za-z0-9._~!*+,=:@&/-]|%[0-9A-Fa-f]{2})*")


def _no_dot_segments(path: str, fix: str) -> str:
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise refuse("must not contain '.' or '..' segments", path, fix)
    return path


def request_path(path: str) -> str:
    fix = "a path such as '/api/health': letters, digits and - . _ ~ ! * + , = : @ & %XX, no spaces, '?' or '#'"
    if not _REQUEST.fullmatch(path):
        raise refuse("must be a URL path starting with '/'", path, fix)
    return _no_dot_segments(path, fix)


ApiPrefix = Annotated[str, _shape(
    rf"(?:/{_SEGMENT})+", "must be a path such as '/api': segments of letters, digits and - . _ ~, no trailing '/'",
    "a path such as '/api' (no trailing slash)", dot_segments_ok=False)]
# A URL folder (websocket_paths, assets_path, backend_paths) becomes an nginx location as it is: only these
# characters (no space, quote, brace, ';' or control character), no empty, '.' or '..' segment.
url_folder = _shape_check(
    rf"(?:/{_SEGMENT})+/", "must be a path that starts and ends with '/', of letters, digits and - . _ ~",
    "a URL folder such as '/socket.io/', '/api/ws/' or '/assets/': names of letters, digits and - . _ ~ "
    "between '/'s, none of them '.' or '..'", dot_segments_ok=False)
UrlFolder = Annotated[str, AfterValidator(url_folder)]
RequestPath = Annotated[str, AfterValidator(request_path)]


# -- git ----------------------------------------------------------------------------------------------------

_BRANCH_FIX = "a branch name such as 'main' or 'release/2.x' (git check-ref-format rules)"


def branch(name: str) -> str:
    if name.startswith("-"):
        raise refuse("must not start with '-' (git would read it as an option)", name, _BRANCH_FIX)
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", name):
        raise refuse("a branch name may hold only letters, digits, '.', '_', '-' and '/'", name, _BRANCH_FIX)
    parts = name.split("/")
    if "" in parts or ".." in name or name.endswith("."):
        raise refuse("must not hold '..', '//', a leading or trailing '/' or a trailing '.'", name, _BRANCH_FIX)
    if any(p.startswith(".") or p.endswith(".lock") for p in parts):
        raise refuse("no part may start with '.' or end with '.lock'", name, _BRANCH_FIX)
    return name


def repository(url: str) -> str:
    fix = "the git URL to clone, e.g. 'https://gitlab.example.com/team/board.git' or 'git@host:team/board.git'"
    if not url or not url.isprintable() or url != url.strip():
        raise refuse("must be a git URL without control characters or surrounding spaces", url, fix)
    if url.startswith("-") or re.match(r"(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^@/]*@)?-", url):
        raise refuse("must not start with '-' (git or ssh would read it as an option)", url, fix)
    if re.match(r"(?i)(?:ext|fd)::", url):
        raise refuse("the ext:: and fd:: transports run commands or use file descriptors", url, fix)
    return url


Branch = Annotated[str, AfterValidator(branch)]
Repository = Annotated[str, AfterValidator(repository)]
StatusProject = Annotated[str, _shape(
    r"[0-9]+|[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*", "must be a project path such as 'team/board' or a numeric id",
    "the GitLab project path or id, or the GitHub 'owner/repo'", dot_segments_ok=False)]


# -- Docker and files -------------------------------------------------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_IMAGE = (rf"python|node|(?:{_REGISTRY}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
          r"(?:@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,})?")
BaseImage = Annotated[str, _shape(_IMAGE, "must be 'python', 'node' or a Docker image reference",
                                  "'python', 'node', or an image such as 'python:3.12-slim'")]


def relative_path(path: str) -> str:
    fix = "a folder or file relative to the folder of portside.toml, e.g. 'frontend' or 'docker/Dockerfile'"
    if path.startswith("/"):
        raise refuse("must be relative to the app folder, not absolute", path, fix)
    if not re.fullmatch(r"[A-Za-z0-9._+@-]+(?:/[A-Za-z0-9._+@-]+)*/?", path):
        raise refuse("may hold only letters, digits, . _ + @ - and '/' between names", path, fix)
    if ".." in path.split("/"):
        raise refuse("must stay inside the app folder ('..' is not allowed)", path, fix)
    return path


def file_path(path: str) -> str:
    if not path or any(not c.isprintable() or c.isspace() or c in "\"'\\$;{}" for c in path):
        raise refuse("must be a file path without spaces, quotes, control characters or \\ $ ; { }", path,
                     "the path of the file, e.g. 'certs/fullchain.pem'")
    return path


RelativePath = Annotated[str, AfterValidator(relative_path)]
FilePath = Annotated[str, AfterValidator(file_path)]


# -- addresses ----------------------------------------------------------------------------------------------

_EMAIL_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
Email = Annotated[str, _shape(rf"[A-Za-z0-9._%+-]+@{_EMAIL_DOMAIN}", "must be a plain e-mail address",
                              "an address such as 'ops@example.com' (no name, brackets or spaces)")]


def http_url(url: str) -> str:
    fix = "an http(s) URL such as 'https://gitlab.example.com/api/v4', without spaces or a user:password@ part"
    if not re.fullmatch(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+", url):
        raise refuse("must be a URL of printable ASCII without spaces, quotes or control characters", url, fix)
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced '[' in the host
        raise refuse("is not a valid URL", url, fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse("must be an http:// or https:// URL with a host", url, fix)
    if "@" in parts.netloc:
        raise refuse("must not carry a user name or password", url, fix)
    host = parts.hostname
    try:
        _ = parts.port
    except ValueError:
        raise refuse("has an invalid port", url, fix) from None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not is_dns_name(host):
            raise refuse("has an invalid host name", url, fix) from None
    return url


HttpUrl = Annotated[str, AfterValidator(http_url)]


# -- environment --------------------------------------------------------------------------------------------

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env(values: dict[str, str]) -> dict[str, str]:
    for key, value in values.items():
        if not ENV_NAME.fullmatch(key):
            raise refuse("environment variable name is invalid", key,
                         "names may hold letters, digits and '_' and must not start with a digit")
        if any(c in value for c in "\x00\r\n"):  # the value itself is not shown: it may be a secret
            raise ValueError(f"the value of {key} holds a NUL or line break. Fix: one line per value; put "
                             "multi-line text in a file the app reads")
    return values


EnvMap = Annotated[dict[str, str], AfterValidator(env)]


def command(text: str) -> str:
    if "\x00" in text:
        raise refuse("must not contain a NUL character", text, "remove it")
    return text


Command = Annotated[str, AfterValidator(command)]


# -- short nginx and Docker values --------------------------------------------------------------------------

AppName = Annotated[str, _shape(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", "must be 2-32 lower-case letters, digits and '-'",
                                "lower-case letters, digits and '-', 2-32 characters, starting with a letter, "
                                "e.g. 'team-board'")]
NginxSize = Annotated[str, _shape(r"[1-9][0-9]*[kKmMgG]?", "must be an nginx size",
                                  "an nginx size such as '10m' (the largest upload you accept)")]
NginxRate = Annotated[str, _shape(r"[1-9][0-9]*r/[sm]", "must be an nginx rate",
                                  "requests per second or minute per client IP, e.g. '20r/s'")]
MemorySize = Annotated[str, _shape(r"[1-9][0-9]*[kmg]", "must be a Docker memory size",
                                   "a size such as '512m' or '1g'")]
