"""Read-only detection of a repository's frontend and backend. No side effects; the code is read, never run.

Each value says how it was found (shown by 'portside init' and in portside.toml's comments); where detection
had to assume, its note names the one line of portside.toml to change.
"""

from __future__ import annotations

from pathlib import Path

from portside.core.detect.backend import detect_backend
from portside.core.detect.files import project_name
from portside.core.detect.frontend import detect_frontend
from portside.core.detect.model import Backend, Detection, Frontend, Port, Route

__all__ = ["Backend", "Detection", "Frontend", "Port", "Route", "detect", "detect_backend", "detect_frontend",
           "project_name"]


def detect(root: Path) -> Detection:
    frontend, backend = detect_frontend(root), detect_backend(root)
    notes: list[str] = []
    if frontend and backend and frontend.path == backend.path:
        notes.append(f"the frontend and the backend share {frontend.path}/; init wrote the backend's Dockerfile "
                     "there. Give the frontend its own folder, or point frontend.dockerfile at a second Dockerfile")
    return Detection(frontend, backend, tuple(notes))
