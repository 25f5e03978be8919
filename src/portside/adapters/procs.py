"""Running external programs: argv lists only, never a shell."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence


def run(argv: Sequence[str], timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=check)


def which(name: str, extra_dirs: Sequence[str] = ("/usr/sbin", "/sbin")) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in extra_dirs:
        candidate = shutil.which(name, path=folder)
        if candidate:
            return candidate
    return None
