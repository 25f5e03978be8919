"""portside doctor: find the common deployment mistakes before users hit them.

Static checks read the repository (doctor/static.py runs one module per family: ports, secrets_scan,
browser, dockerfiles, frameworks, nginx), read-only. Live checks probe a running deployment (doctor/live.py)
and this host (doctor/host.py). doctor/fix.py applies the mechanical fixes findings carry as an Edit.
"""

from __future__ import annotations

import locale
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from portside.core.errors import ExitStatus
from portside.doctor.messages import CHECKS, NOTES

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Edit:
    """A mechanical fix: on `line` (1-based) of `path` (relative to the scanned folder) replace the first
    `old` with `new`. line 0 appends `new` to the file, creating it when it does not exist."""

    path: str
    line: int
    old: str
    new: str


@dataclass(frozen=True)
class Finding:
    check: str  # e.g. PS102
    severity: str  # error | warning | info
    where: str  # file:line, URL or socket
    detail: str
    extra: dict[str, str] = field(default_factory=dict)
    edit: Edit | None = None  # set when 'portside doctor --fix' can repair it

    def text(self, lang: str = "en") -> tuple[str, str, str]:
        template = CHECKS[self.check].get(lang) or CHECKS[self.check]["en"]
        values = {"detail": self.detail, **self.extra}
        note = NOTES.get(values.get("note", ""))
        values["note"] = (note.get(lang) or note["en"]).format(**values) if note else ""
        return (template.title.format(**values), template.why.format(**values), template.fix.format(**values))

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        title, why, fix = self.text(lang)
        data = asdict(self)
        data.update(title=title, why=why, fix=fix)
        return data


def default_lang() -> str:
    """Korean when the locale says so (LANG=ko_KR.UTF-8), else English."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    current = locale.getlocale()[0] or ""
    return "ko" if current.lower().startswith("ko") else "en"


def exit_code(findings: list[Finding]) -> ExitStatus:
    """SUCCESS clean, DOCTOR_WARNINGS warnings only, DOCTOR_ERRORS errors (core.errors.DOCTOR_MEANINGS; documented
    in --help and the README)."""
    if any(f.severity == "error" for f in findings):
        return ExitStatus.DOCTOR_ERRORS
    if any(f.severity == "warning" for f in findings):
        return ExitStatus.DOCTOR_WARNINGS
    return ExitStatus.SUCCESS


def sarif(findings: list[Finding], lang: str = "en") -> dict[str, Any]:
    """SARIF 2.1.0 for GitLab and GitHub code scanning."""
    levels = {"error": "error", "warning": "warning", "info": "note"}
    rules = []
    for check in sorted({f.check for f in findings}):
        text = CHECKS[check].get(lang) or CHECKS[check]["en"]
        rules.append({"id": check, "shortDescription": {"text": text.title.split(":")[0].split("(")[0].strip()},
                      "fullDescription": {"text": text.why}, "help": {"text": text.fix}})
    results = []
    for f in findings:
        title, why, fix = f.text(lang)
        result: dict[str, Any] = {"ruleId": f.check, "level": levels[f.severity],
                                  "message": {"text": f"{title}. {why} Fix: {fix}"}}
        path, _, line = f.where.rpartition(":") if f.where.rpartition(":")[2].isdigit() else (f.where, "", "")
        if path and "://" not in path and not path.startswith("socket "):
            location: dict[str, Any] = {"artifactLocation": {"uri": path}}
            if line:
                location["region"] = {"startLine": int(line)}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "portside doctor", "informationUri": "https://portside.invalid",
                                          "rules": rules}}, "results": results}]}
