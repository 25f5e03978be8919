"""The one Jinja2 environment: StrictUndefined, so a missing variable is an error, never ''."""

from __future__ import annotations

import re
from functools import cache

import jinja2


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("portside", "render/templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - we render config files, not HTML
    )
    env.filters["regex_escape"] = lambda s: re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", str(s))
    return env


def template(name: str) -> jinja2.Template:
    return _environment().get_template(name)
