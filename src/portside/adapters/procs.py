"""Running external programs: argv lists only, never a shell."""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence

_log = logging.getLogger("portside.procs")  # 'portside --debug' shows these


def run(argv: Sequence[str], timeout: float = 120, check: bool = False) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=check)
    _log.debug("ran %s: exit %d in %.2fs", shlex.join(argv), result.returncode, time.monotonic() - started)
    return result


def which(name: str, extra_dirs: Sequence[str] = ("/usr/sbin", "/sbin")) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in extra_dirs:
        candidate = shutil.which(name, path=folder)
        if candidate:
            return candidate
    return None
