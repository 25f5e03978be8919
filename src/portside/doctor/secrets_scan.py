"""Secrets in the repository.

PS105 committed .env files and private keys; PS112 what detect-secrets (Yelp, with all its plugins but the
public-IP one, never verifying anything over the network) finds, minus what the repository's
.secrets.baseline accepts; PS113 the framework files such scanners miss: Spring datasource passwords, Django
SECRET_KEY, .npmrc tokens, appsettings.json connection strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from portside.doctor import Finding
from portside.doctor.keys import properties, yaml_paths
from portside.doctor.repo import Repo

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

    names = sorted(plugin.__name__ for plugin in get_mapping_from_secret_type_to_class().values())
    return [{"name": name} for name in names if name != "IPPublicDetector"]


def _scannable(name: str) -> bool:
    base = PurePosixPath(name).name
    return not name.endswith(NOT_SCANNED) and base != ".secrets.baseline" and not _is_env(base)


def check_detect_secrets(repo: Repo, skip: set[str]) -> list[Finding]:
    """PS112: detect-secrets on every file of the scan (files already reported whole are skipped)."""
    try:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import transient_settings
    except ImportError:
        repo.notes.append("detect-secrets is not installed: PS112 skipped (pip install detect-secrets)")
        return []
    accepted = _baseline(repo)
    config = {"plugins_used": _plugins(), "filters_used": [{"path": f"detect_secrets.filters.{f}"} for f in FILTERS]}
    found = []
    with transient_settings(config):
        for name in repo.files:
            if name in skip or not _scannable(name):
                continue
            path = PurePosixPath(name)
            guesses_ok = not (TESTS.search(name) or EXAMPLES.search(path.name) or DEV_PROFILE.search(path.stem))
            for secret in scan_file(str(repo.path(name))):
                plugin = _plugin_of(secret.type)
                if (name, secret.secret_hash) in accepted or (plugin in GUESS_PLUGINS and not guesses_ok):
                    continue
                line = secret.line_number
                if plugin in GUESS_PLUGINS and _harmless(repo.lines(name)[line - 1] if line else ""):
                    continue
                severity = "error" if plugin in PATTERN_PLUGINS else "warning"
                found.append(Finding("PS112", severity, repo.where(name, line), f"{secret.type} ({plugin})"))
    return found


def _plugin_of(secret_type: str) -> str:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugin = get_mapping_from_secret_type_to_class().get(secret_type)
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
