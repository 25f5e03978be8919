"""One finding's text in one language: a title, why it matters, and the fix (placeholders in braces)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    title: str
    why: str
    fix: str
