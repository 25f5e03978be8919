"""Certificates: 'certs' lists them, 'certs renew' renews the due ones."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from portside.cli.app import JsonOpt, StateOpt, _ctx, _guard, err, out
from portside.core.errors import ExitStatus

certs_app = typer.Typer(help="Certificates: list them (domains, issuer, expiry, next renewal) and renew.",
                        invoke_without_command=True)


@certs_app.callback()
def certs_list(ctx: typer.Context, state_dir: StateOpt = None, as_json: JsonOpt = False) -> None:
    """List every app's certificate: names, issuer, expiry, next renewal, last renewal failure."""
    if ctx.invoked_subcommand is not None:
        return
    from portside.adapters.store import Store
    from portside.ops.renewal import cert_rows

    def go() -> None:
        pctx = _ctx(state_dir)
        rows = cert_rows(pctx, Store(pctx.paths.db))
        if as_json:
            out.print_json(json.dumps(rows))
            return
        table = Table(title="certificates", title_justify="left")
        for column in ("app", "mode", "names", "issuer", "expires", "days left", "next renewal", "last failure"):
            table.add_column(column)
        for r in rows:
            table.add_row(*(escape(str(v)) for v in (r["app"], r["mode"], ", ".join(r["names"]), r["issuer"] or "-",
                                                     r["expires"] or "missing", r["days_left"], r["renews"] or "-",
                                                     r["last_error"] or "")))
        out.print(table)

    _guard(go)


@certs_app.command("renew")
def certs_renew(
    app_name: Annotated[str | None, typer.Argument(help="one app (default: all)")] = None,
    force: Annotated[bool, typer.Option(help="renew even if not due (mind the CA's rate limits)")] = False,
    state_dir: StateOpt = None,
) -> None:
    """Renew ACME certificates that are due (a third of the lifetime left) and reload the gateway.

    For cron users: run it daily; 'portside serve' does the same on its own. Exit code 7 if one failed.
    """
    from portside.adapters.store import Store
    from portside.ops.renewal import renew_all, renew_app

    def go() -> None:
        pctx = _ctx(state_dir)
        store = Store(pctx.paths.db)
        results = [renew_app(pctx, store, app_name, force)] if app_name else renew_all(pctx, store, force)
        for r in results:
            colour = {"renewed": "green", "failed": "red", "backing-off": "yellow"}.get(r.outcome, "dim")
            err.print(f"[{colour}]{r.outcome}[/] {escape(f'{r.app}: {r.detail}')}", highlight=False)
        if any(r.outcome == "failed" for r in results):
            raise typer.Exit(ExitStatus.CERTIFICATE)

    _guard(go)
