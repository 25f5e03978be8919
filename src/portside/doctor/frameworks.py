"""Framework production settings: the development defaults that reach production.

PS119 Django DEBUG = True; PS120 Django ALLOWED_HOSTS empty; PS121 Flask debug mode; PS122 Spring Boot
actuator endpoints all exposed; PS123 CORS that allows any origin with credentials; PS124 CORS set up although
portside serves page and API from one origin; PS125 the gateway's prefix handling and the backend's routes
disagree (every API call would be a 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from portside.doctor import Finding
from portside.doctor.keys import properties, yaml_paths
from portside.doctor.repo import Repo
from portside.doctor.routes import backend_source, expects_prefix
from portside.doctor.secrets_scan import DEV_PROFILE, TESTS

PROD_MODULES = {"settings", "production", "prod", "live", "deploy"}
CORS_START = re.compile(r"\bcors\(|\bCORS\(|CORSMiddleware|enableCors\(|@CrossOrigin\b|\.allowedOrigins\(|"
                        r"\.allowedOriginPatterns\(|Access-Control-Allow-Origin|\bkoa-cors|@koa/cors|"
                        r"\bCORS_ALLOW_ALL_ORIGINS\b|\bCORS_ORIGIN_ALLOW_ALL\b|\bCORS_ALLOWED_ORIGINS\b|corsheaders")
ANY_ORIGIN = re.compile(r"""(?x)
    origin(?:s|Patterns)?\s*[:=]\s*(?:["']\*["']|true\b|\[\s*["']\*["']\s*\])  # origin: '*' / true / origins="*"
  | allow_origins\s*=\s*\[\s*["']\*["']\s*\] | allow_origin_regex\s*=\s*r?["']\.\*
  | allowedOrigin(?:Pattern)?s\(\s*"\*" | Access-Control-Allow-Origin["']\s*,\s*["']\*
  | CORS_(?:ALLOW_ALL_ORIGINS|ORIGIN_ALLOW_ALL)\s*=\s*True
""")
CREDENTIALS = re.compile(r"""credentials\s*:\s*true|supports_credentials\s*=\s*True|allow_credentials\s*=\s*True|"""
                         r"""allowCredentials\s*=\s*"true"|allowCredentials\(\s*true|Allow-Credentials["']\s*,\s*"""
                         r"""["']true|CORS_ALLOW_CREDENTIALS\s*=\s*True""")
DEFAULT_ANY = re.compile(r"\bcors\(\s*(\{[^}]*\})?\s*\)|\bCORS\(\s*\w+\s*(,[^)]*)?\)")  # Express / Flask-CORS


def _window(text: str, start: int) -> str:
    """The call that starts at `start`, up to its closing parenthesis (or a statement's end)."""
    depth = 0
    for index in range(start, min(len(text), start + 1500)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth <= 0 and index > start:
                tail = re.match(r"(\s*\.\w+\([^;]*?\))*", text[index + 1:index + 600])
                return text[start:index + 1 + (tail.end() if tail else 0)]
        elif char in ";\n" and depth == 0 and index > start + 40:
            return text[start:index]
    return text[start:start + 600]


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _cors(repo: Repo, name: str) -> Iterator[Finding]:
    text = repo.text(name)
    settings_module = name.endswith(".py") and "CORS_ALLOW_CREDENTIALS" in text
    if settings_module:  # django-cors-headers: two settings anywhere in the module
        wildcard = ANY_ORIGIN.search(text)
        if wildcard and CREDENTIALS.search(text):
            yield Finding("PS123", "error", repo.where(name, _line(text, wildcard.start())), wildcard.group(0))
        return
    for match in CORS_START.finditer(text):
        window = _window(text, match.start())
        defaulted = bool(DEFAULT_ANY.match(window)) and not re.search(r"origins?\s*[:=]", window)
        if (ANY_ORIGIN.search(window) or defaulted) and CREDENTIALS.search(window):
            yield Finding("PS123", "error", repo.where(name, _line(text, match.start())), match.group(0).strip("("))
            return


def _cors_unneeded(repo: Repo, name: str) -> Iterator[Finding]:
    config = repo.config
    if config is None or config.backend is None or config.frontend is None:
        return
    text = repo.text(name)
    lines = text.splitlines()
    for match in CORS_START.finditer(text):
        number = _line(text, match.start())
        if not re.match(r"^\s*(import|from)\s|.*\brequire\(", lines[number - 1]):
            yield Finding("PS124", "info", repo.where(name, number), match.group(0).strip("("))
            return


# -- Django, Flask, Spring --------------------------------------------------------------------------------------


def _django_modules(repo: Repo) -> list[str]:
    """Settings modules that production uses: settings.py, and in a settings/ package the production ones
    (the shared base only when no production module overrides it)."""
    found = []
    for name in repo.select(lambda p: p.suffix == ".py" and (p.name == "settings.py" or p.parent.name == "settings")):
        path = PurePosixPath(name)
        if TESTS.search(name) or DEV_PROFILE.search(path.stem):
            continue
        if path.parent.name == "settings" and path.stem not in PROD_MODULES:
            siblings = {PurePosixPath(n).stem for n in repo.files if PurePosixPath(n).parent == path.parent}
            if siblings & PROD_MODULES:
                continue
        found.append(name)
    return found


def _last_assignment(lines: list[str], variable: str) -> tuple[int, str] | None:
    last = None
    for number, line in enumerate(lines, 1):
        match = re.match(rf"^{variable}\s*=\s*(.+?)\s*(#.*)?$", line)
        if match:
            last = (number, match.group(1))
    return last


def check_django(repo: Repo) -> list[Finding]:
    found = []
    for name in _django_modules(repo):
        lines = repo.lines(name)
        folder = PurePosixPath(name).parent
        package = [n for n in repo.files if PurePosixPath(n).parent == folder and n.endswith(".py")]
        if not any("INSTALLED_APPS" in repo.text(n) or "django" in repo.text(n).lower() for n in package):
            continue
        debug = _last_assignment(lines, "DEBUG")
        if debug and debug[1] == "True":
            found.append(Finding("PS119", "error", repo.where(name, debug[0]), "DEBUG = True"))
        hosts = _last_assignment(lines, "ALLOWED_HOSTS")
        if hosts and re.fullmatch(r"\[\s*\]|\(\s*\)", hosts[1]):
            found.append(Finding("PS120", "error", repo.where(name, hosts[0]), "ALLOWED_HOSTS = []"))
    return found


def _guarded_lines(lines: list[str]) -> set[int]:
    guarded: set[int] = set()
    guard_indent: int | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if guard_indent is not None and indent <= guard_indent:
            guard_indent = None
        if guard_indent is not None:
            guarded.add(number)
        if re.match(r"^\s*if\s+__name__\s*==\s*[\"']__main__[\"']\s*:", line):
            guard_indent = indent
    return guarded


def _run_directly(repo: Repo, script: str) -> bool:
    """Whether a Dockerfile, Procfile or compose command starts `python script.py` (Flask's dev server)."""
    pattern = re.compile(rf"\bpython[0-9.]*[\"',\s]+(?:-\w+[\"',\s]+)*(?:[\w./-]*/)?{re.escape(script)}\b")
    candidates = repo.select(lambda p: p.name in ("Procfile", "Dockerfile") or p.name.startswith("Dockerfile.")
                             or bool(re.match(r"^(docker-)?compose", p.name)) or p.suffix == ".sh")
    return any(pattern.search(repo.text(name)) for name in candidates)


def check_flask(repo: Repo) -> list[Finding]:
    found = []
    for name in repo.suffixed(".py"):
        text = repo.text(name)
        if "flask" not in text.lower() or TESTS.search(name):
            continue
        lines = text.splitlines()
        guarded = _guarded_lines(lines)
        direct = None
        for number, line in enumerate(lines, 1):
            if line.lstrip().startswith("#"):
                continue
            hit = re.search(r"\.run\([^)]*\bdebug\s*=\s*True|\.debug\s*=\s*True|config\[[\"']DEBUG[\"']\]\s*=\s*True",
                            line)
            if not hit:
                continue
            if number in guarded:
                direct = _run_directly(repo, PurePosixPath(name).name) if direct is None else direct
                if not direct:
                    continue  # under `if __name__ == "__main__"` and started by gunicorn or similar
            found.append(Finding("PS121", "error", repo.where(name, number), hit.group(0)))
    return found


def check_spring(repo: Repo) -> list[Finding]:
    found = []
    for name in repo.select(lambda p: p.name.startswith("application") and p.suffix in (".properties", ".yml",
                                                                                        ".yaml")):
        if DEV_PROFILE.search(PurePosixPath(name).stem) or TESTS.search(name):
            continue
        reader = properties if name.endswith(".properties") else yaml_paths
        for number, key, value in reader(repo.lines(name)):
            if key == "management.endpoints.web.exposure.include" and "*" in value:
                found.append(Finding("PS122", "error", repo.where(name, number), f"{key}={value}"))
    return found


def check_prefix(repo: Repo) -> list[Finding]:
    """PS125: portside.toml's gateway.strip_prefix against the routes the backend declares."""
    config = repo.config
    if config is None or config.backend is None:
        return []
    prefix, strips = config.gateway.api_prefix, config.gateway.strip_prefix
    expects = expects_prefix(repo, prefix)
    if expects is None or expects != strips:
        return []
    lines = repo.lines("portside.toml")
    number = next((i for i, line in enumerate(lines, 1) if re.match(r"^\s*strip_prefix\s*=", line)), None)
    detail = (f"strip_prefix = true but the backend's routes start with {prefix}" if strips else
              f"strip_prefix = false but no backend route starts with {prefix}")
    return [Finding("PS125", "error", repo.where("portside.toml", number), detail,
                    {"want": "false" if strips else "true"})]


def check_frameworks(repo: Repo) -> list[Finding]:
    found = check_django(repo) + check_flask(repo) + check_spring(repo) + check_prefix(repo)
    for name in repo.files:
        if backend_source(repo, name) and not TESTS.search(name):
            found += _cors(repo, name)
            found += _cors_unneeded(repo, name)
    return found
