"""The Jinja2 environments: StrictUndefined, so a missing variable is an error, never ''.

nginx templates get a second line of defence behind config validation: every ``{{ }}`` goes through
``_nginx_finalize``, which refuses a value that nginx could read as syntax (a quote, ``;``, ``{``, ``}``,
``$``, a backslash, a line break or any other control character; outside quotes also a space). Text the
renderer builds itself is marked with the small ``str`` subclasses below.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import PurePath
from typing import Any

import jinja2

from portside.core.errors import GatewayError


class NginxText(str):
    """nginx syntax the renderer built itself (e.g. the proxy_pass block); written as is."""

    __slots__ = ()


class QuotedText(str):
    """A value the template writes inside "..." or a comment: spaces are fine, nginx syntax is not."""

    __slots__ = ()
    semicolons = False
    ascii_only = False


class HeaderText(QuotedText):
    """An HTTP header value inside "...": printable ASCII only."""

    __slots__ = ()
    ascii_only = True


class CspText(HeaderText):
    """A Content-Security-Policy: inside "..." its ';' (CSP's directive separator) is plain text to nginx."""

    __slots__ = ()
    semicolons = True


_SYNTAX = frozenset('"\\${};')


def unsafe(value: object) -> str | None:
    """Why ``value`` must not be written into an nginx config, or None if it may."""
    if isinstance(value, NginxText):
        return None
    text = str(value)
    if isinstance(value, QuotedText):
        rules = _Rules(quoted=True, semicolons=value.semicolons, ascii_only=value.ascii_only)
    else:  # a word: names and sizes from portside.toml are ASCII, paths may be UTF-8
        rules = _Rules(quoted=False, semicolons=False, ascii_only=not isinstance(value, PurePath))
        if text.startswith("#"):
            return "it starts with '#'"
    return next((reason for char in text if (reason := rules.refuses(char))), None)


@dataclass(frozen=True)
class _Rules:
    quoted: bool
    semicolons: bool
    ascii_only: bool

    def refuses(self, char: str) -> str | None:
        if (char in _SYNTAX and not (char == ";" and self.semicolons)) or (char == "'" and not self.quoted):
            return f"it contains {char!r}"
        if not char.isprintable():
            return f"it contains the control or invisible character {char!r}"
        if char.isspace() and not self.quoted:
            return "it contains a space"
        if self.ascii_only and not char.isascii():
            return f"it contains the non-ASCII character {char!r}"
        return None


def _refuse(where: str, value: object, reason: str) -> GatewayError:
    return GatewayError(
        f"{where}: refusing to write {str(value)!r} into the nginx config: {reason} (nginx could read it as "
        "syntax: end a directive, start a new one, or expand a variable).",
        fix="change that value in portside.toml ('portside check' names the key); for a path (the state "
            "folder, or the app folder holding manual certificates), use one without spaces, quotes or any of "
            "; { } $ \\")


def checked(value: object, where: str) -> object:
    reason = unsafe(value)
    if reason is not None:
        raise _refuse(where, value, reason)
    return value


def _where(context: jinja2.runtime.Context) -> str:
    return context.name or "nginx template"


@jinja2.pass_context
def _nginx_finalize(context: jinja2.runtime.Context, value: Any) -> Any:
    return checked(value, _where(context))


@jinja2.pass_context
def _join(context: jinja2.runtime.Context, items: Iterable[object], separator: str = "") -> NginxText:
    """``join`` for nginx templates: each item is checked on its own, then the words are joined."""
    return NginxText(separator.join(str(checked(item, _where(context))) for item in items))


@jinja2.pass_context
def _regex_escape(context: jinja2.runtime.Context, value: object) -> NginxText:
    text = str(checked(value, _where(context)))
    return NginxText(re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text))


def _new(**options: Any) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("portside", "core/render/templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - we render config files, not HTML
        **options,
    )


@cache
def _environment() -> jinja2.Environment:
    return _new()


@cache
def _nginx_environment() -> jinja2.Environment:
    env = _new(finalize=_nginx_finalize)
    env.filters["regex_escape"] = _regex_escape
    env.filters["join"] = _join
    return env


def template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def nginx_template(name: str) -> jinja2.Template:
    """A template of nginx config: every interpolated value is checked by ``_nginx_finalize``."""
    return _nginx_environment().get_template(name)
