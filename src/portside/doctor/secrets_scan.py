"""Secrets in the repository.

PS105 committed .env files and private keys; PS112 what detect-secrets (Yelp, with all its plugins but the
public-IP one, never verifying anything over the network) finds, minus what the repository's
.secrets.baseline accepts; PS113 the framework files such scanners miss: Spring datasource passwords, Django
SECRET_KEY, .npmrc tokens, appsettings.json connection strings.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from portside.doctor import Finding
from portside.doctor.keys import properties, yaml_paths
from portside.doctor.repo import MAX_BYTES, Repo

PLACEHOLDER = re.compile(r"^(\$\{.*\}|\$\w+|%\(.*\)s|<.*>|\{\{.*\}\}|#\{.*\}|@.*@|ENC\(.*\)|\*+|x+|)$", re.I)
SECRET_KEY_NAME = re.compile(r"(?i)(password|passwd|pwd|secret|api[-_]?key|private[-_]?key|token|credentials?)$")
PATTERN_PLUGINS = {"ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "CloudantDetector",
                   "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector", "IbmCloudIamDetector",
                   "IbmCosHmacDetector", "JwtTokenDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector",
                   "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
                   "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector",
                   "TwilioKeyDetector"}
GUESS_PLUGINS = {"KeywordDetector", "Base64HighEntropyString", "HexHighEntropyString", "BasicAuthDetector"}
FILTERS = ["allowlist.is_line_allowlisted", "heuristic.is_sequential_string", "heuristic.is_potential_uuid",
           "heuristic.is_likely_id_string", "heuristic.is_templated_secret", "heuristic.is_prefixed_with_dollar_sign",
           "heuristic.is_indirect_reference", "heuristic.is_lock_file", "heuristic.is_not_alphanumeric_string",
           "heuristic.is_swagger_file"]  # no verification filter: nothing is sent over the network
NOT_SCANNED = (".svg", ".map", ".min.js", ".min.css", ".lock", ".sum", ".snap", ".ipynb")
TESTS = re.compile(r"(^|/)(tests?|__tests__|spec|specs|fixtures?|e2e|cypress|testdata|mocks?|__mocks__)/"
                   r"|(\.|_)(test|spec)\.\w+$|(^|/)test_[^/]*\.py$|_test\.go$")
DEV_PROFILE = re.compile(r"(?i)(^|[-_.])(dev|develop|development|local|test|testing|ci|e2e)$")
EXAMPLES = re.compile(r"(?i)(example|sample|template|dist|default)s?(\.|$)")


def _is_env(base: str) -> bool:
    return bool(re.fullmatch(r"\.env(\..+)?", base)) and not EXAMPLES.search(base.removeprefix(".env"))


PUBLIC_ONLY = re.compile(r"^\s*(#.*|(export\s+)?(VITE_|REACT_APP_|NEXT_PUBLIC_|VUE_APP_|NUXT_PUBLIC_|PUBLIC_|GATSBY_|"
                         r"EXPO_PUBLIC_|NG_APP_)\w*\s*=.*|)$")


def _public_only(text: str) -> bool:
    """An env file of a frontend's public build variables only (Vite and CRA expect it committed; PS114 checks
    its values)."""
    return all(PUBLIC_ONLY.match(line) for line in text.splitlines())


def check_committed(repo: Repo) -> list[Finding]:
    """PS105: .env files and private keys tracked by git."""
    found = []
    for name in sorted(repo.tracked):
        base = PurePosixPath(name).name
        if _is_env(base) and (repo.root / name).is_file() and not _public_only(repo.text(name)):
            found.append(Finding("PS105", "error", name, name))
        elif (base.endswith((".pem", ".key", ".p12", ".pfx")) or base in ("id_rsa", "id_ed25519", "id_ecdsa")) \
                and "PRIVATE KEY" in repo.text(name)[:4000]:
            found.append(Finding("PS105", "error", name, f"{name} (private key)"))
    return found


# -- detect-secrets -------------------------------------------------------------------------------------------


def _baseline(repo: Repo) -> set[tuple[str, str]]:
    """(file, hashed secret) pairs the repository's detect-secrets baseline accepts."""
    try:
        data = json.loads(repo.text(".secrets.baseline") or "{}")
    except ValueError:
        return set()
    accepted = set()
    for filename, results in (data.get("results") or {}).items():
        for result in results:
            if result.get("is_secret") is not True:
                accepted.add((filename, str(result.get("hashed_secret"))))
    return accepted


def _plugins() -> list[dict[str, Any]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    mapping: dict[str, Any] = get_mapping_from_secret_type_to_class()
    names = sorted(plugin.__name__ for plugin in mapping.values())
    return [{"name": name} for name in names if name != "IPPublicDetector"]


def _scannable(repo: Repo, name: str) -> bool:
    base = PurePosixPath(name).name
    if name.endswith(NOT_SCANNED) or base == ".secrets.baseline" or _is_env(base):
        return False
    try:
        return repo.path(name).stat().st_size <= MAX_BYTES
    except OSError:
        return False




class _Prefilter:
    """Lines any active plugin could report, found cheaply (detect-secrets costs ~1.5 ms a line, most lines hold
    nothing): a pattern plugin's regex, a keyword, or a quoted string over an entropy plugin's limit."""

    def __init__(self) -> None:
        from detect_secrets.plugins.base import RegexBasedDetector
        from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
        from detect_secrets.plugins.keyword import DENYLIST_REGEX
        from detect_secrets.settings import get_plugins

        plugins = get_plugins()
        by_flags: dict[int, list[str]] = {re.I: [DENYLIST_REGEX]}
        for regex in (r for p in plugins if isinstance(p, RegexBasedDetector) for r in p.denylist):
            by_flags.setdefault(regex.flags, []).append(regex.pattern)
        self.patterns = [re.compile("|".join(f"(?:{p})" for p in group), flags) for flags, group in by_flags.items()]
        self.entropy = [(re.compile(f"[{re.escape(p.charset)}]{{7,}}"), float(p.entropy_limit)) for p in plugins
                        if isinstance(p, HighEntropyStringsPlugin)]

    def wants(self, line: str) -> bool:
        """Quoted or not: parsed files (YAML, ini-like) reach the entropy plugins unquoted. The entropy here is
        never below the plugins' own (no digit discount), so no line they would report is left out."""
        if any(r.search(line) for r in self.patterns):
            return True
        for tokens, limit in self.entropy:
            for value in tokens.findall(line):
                if math.log2(len(set(value))) > limit and _entropy(value) > limit:
                    return True
        return False


def _entropy(value: str) -> float:
    counts = Counter(value).values()
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts)


def _scan(repo: Repo, name: str, prefilter: _Prefilter, work: Path) -> Iterator[tuple[int, Any]]:
    """(line number, detect-secrets' PotentialSecret) of one file. Source files (a type detect-secrets knows and
    reads line by line) are scanned on their candidate lines, and the line before each (allowlist pragmas),
    written to a copy under `work` with the same name so file-type rules still apply; YAML and unknown types,
    which detect-secrets parses as a whole, are scanned as they are."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.util.filetype import FileType, determine_file_type

    lines = repo.lines(name)
    wanted = {i for i, line in enumerate(lines, 1) if prefilter.wants(line)}
    if not wanted:
        return
    if determine_file_type(name) in (FileType.OTHER, FileType.YAML):
        for secret in scan_file(str(repo.path(name))):
            yield secret.line_number, secret
        return
    numbers = sorted(wanted | {i - 1 for i in wanted if i > 1})
    copy = work / name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text("\n".join(lines[i - 1] for i in numbers) + "\n", encoding="utf-8")
    for secret in scan_file(str(copy)):
        yield numbers[secret.line_number - 1], secret


def check_detect_secrets(repo: Repo, skip: set[str]) -> list[Finding]:
    """PS112: detect-secrets on every file of the scan (files already reported whole are skipped)."""
    try:
        from detect_secrets.settings import transient_settings
    except ImportError:
        repo.notes.append("detect-secrets is not installed: PS112 skipped (pip install detect-secrets)")
        return []
    accepted = _baseline(repo)
    config = {"plugins_used": _plugins(), "filters_used": [{"path": f"detect_secrets.filters.{f}"} for f in FILTERS]}
    found = []
    with transient_settings(config), tempfile.TemporaryDirectory(prefix="portside-doctor-") as work:
        prefilter = _Prefilter()
        for name in repo.files:
            if name in skip or not _scannable(repo, name):
                continue
            path = PurePosixPath(name)
            guesses_ok = not (TESTS.search(name) or EXAMPLES.search(path.name) or DEV_PROFILE.search(path.stem))
            for line, secret in _scan(repo, name, prefilter, Path(work)):
                plugin = _plugin_of(secret.type)
                if (name, secret.secret_hash) in accepted or (plugin in GUESS_PLUGINS and not guesses_ok):
                    continue
                if plugin in GUESS_PLUGINS and _harmless(repo.lines(name)[line - 1] if line else ""):
                    continue
                severity = "error" if plugin in PATTERN_PLUGINS else "warning"
                found.append(Finding("PS112", severity, repo.where(name, line), f"{secret.type} ({plugin})"))
    return found


@cache
def _plugin_of(secret_type: str) -> str:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugin: Any = get_mapping_from_secret_type_to_class().get(secret_type)
    return plugin.__name__ if plugin else secret_type


def _harmless(line: str) -> bool:
    """Entropy and keyword guesses on lines that hold data, not credentials."""
    return bool(re.search(r"data:[\w/+.-]+;base64,|\bsha(256|384|512)-|integrity|\"version\"|checksum", line))


# -- framework files -------------------------------------------------------------------------------------------



def _literal(value: str) -> bool:
    value = value.strip().strip("\"'")
    return bool(value) and not PLACEHOLDER.match(value) and len(value) >= 3


def _properties(repo: Repo, name: str) -> Iterator[Finding]:
    for number, key, value in properties(repo.lines(name)):
        if SECRET_KEY_NAME.search(key.split(".")[-1].replace("-", "_")) and _literal(value):
            yield Finding("PS113", "error", repo.where(name, number), key)


def _yaml_keys(repo: Repo, name: str) -> Iterator[Finding]:
    for number, key, value in yaml_paths(repo.lines(name)):
        if SECRET_KEY_NAME.search(key.split(".")[-1].replace("-", "_")) and _literal(value) and not value.startswith(
                ("[", "{", "&", "*")):
            yield Finding("PS113", "error", repo.where(name, number), key)


def _django(repo: Repo, name: str) -> Iterator[Finding]:
    for number, line in enumerate(repo.lines(name), 1):
        match = re.match(r"""^SECRET_KEY\s*=\s*[rbu]?(["'])(.+?)\1\s*(#.*)?$""", line)
        if match and _literal(match.group(2)):
            yield Finding("PS113", "error", repo.where(name, number), "Django SECRET_KEY")


def _npmrc(repo: Repo, name: str) -> Iterator[Finding]:
    for number, line in enumerate(repo.lines(name), 1):
        match = re.search(r"(_authToken|_auth|_password)\s*=\s*(\S+)", line)
        if match and _literal(match.group(2)):
            yield Finding("PS113", "error", repo.where(name, number), f".npmrc {match.group(1)}")


def _appsettings(repo: Repo, name: str) -> Iterator[Finding]:
    try:
        data = json.loads(repo.text(name))
    except ValueError:
        return
    lines = repo.lines(name)
    for key, value in _json_leaves(data):
        secret = SECRET_KEY_NAME.search(key.split(".")[-1]) and _literal(value)
        password = re.search(r"(?i)\b(password|pwd)\s*=\s*([^;]+)", value)
        if secret or (password and _literal(password.group(2))):
            last = key.split(".")[-1]
            number = next((i for i, line in enumerate(lines, 1) if f'"{last}"' in line and value[:20] in line), 0)
            yield Finding("PS113", "error", repo.where(name, number or None), key)


def _json_leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _json_leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, str):
        yield prefix, data


def _django_settings(path: PurePosixPath) -> bool:
    return (path.name == "settings.py" or path.parent.name == "settings") and path.suffix == ".py"


def check_framework_secrets(repo: Repo) -> list[Finding]:
    """PS113: credentials in the configuration files of Spring, Django, npm and ASP.NET."""
    found: list[Finding] = []
    for name in repo.files:
        path = PurePosixPath(name)
        if TESTS.search(name) or DEV_PROFILE.search(path.stem):
            continue
        if path.name.startswith("application") and path.suffix == ".properties":
            found += _properties(repo, name)
        elif path.name.startswith(("application", "bootstrap")) and path.suffix in (".yml", ".yaml"):
            found += _yaml_keys(repo, name)
        elif _django_settings(path):
            found += _django(repo, name)
        elif path.name == ".npmrc":
            found += _npmrc(repo, name)
        elif re.fullmatch(r"appsettings(\.\w+)?\.json", path.name):
            found += _appsettings(repo, name)
    return found


def check_secrets(repo: Repo) -> list[Finding]:
    committed = check_committed(repo)
    framework = check_framework_secrets(repo)
    scanned = check_detect_secrets(repo, {f.where for f in committed})
    lines = {f.where for f in framework}
    return committed + framework + [f for f in scanned if f.where not in lines]
