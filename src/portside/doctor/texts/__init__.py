"""Texts of the wider checks, one module per family; doctor/messages.py merges them into CHECKS.

NOTES are the optional sentences a finding adds to its fix (extra["note"] names one; "" for none).
"""

from __future__ import annotations

from portside.doctor.texts import browser, docker, frameworks, nginx, ports, secrets

ALL = {**ports.CHECKS, **secrets.CHECKS, **browser.CHECKS, **docker.CHECKS, **frameworks.CHECKS, **nginx.CHECKS}
NOTES = {**browser.NOTES, **nginx.NOTES}
