"""What runs: status, logs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from portside.cli.app import JsonOpt, StateOpt, _ctx, _guard, err, out
from portside.core.errors import ExitStatus
from portside.core.health import NOT_SERVING_FULLY


def status(
    app_name: Annotated[str | None, typer.Argument(help="one app (default: all)")] = None,
    state_dir: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a request through the gateway gets now, each replica's state, certificates, recent events.

    LIVE, DEGRADED (fewer healthy replicas than intended) or DOWN for each app; exit code 9 when one is not LIVE.
    """
    from portside.cli.status_view import app_lines
    from portside.ops.lifecycle import collect_status

    def go() -> None:
        data = collect_status(_ctx(state_dir), app_name)
        if as_json:
            out.print_json(json.dumps(data, default=str))
            if any(a["state"] in NOT_SERVING_FULLY for a in data["apps"]):
                raise typer.Exit(ExitStatus.NOT_LIVE)
            return
        if not data["apps"]:
            err.print("no apps deployed yet: portside up --local <dir>")
            return
        for number, item in enumerate(data["apps"]):
            if number:
                out.print()
            for line in app_lines(item):
                out.print(line, highlight=False, soft_wrap=True)
        down = [a["name"] for a in data["apps"] if a["state"] in NOT_SERVING_FULLY]
        if down:
            raise typer.Exit(ExitStatus.NOT_LIVE)

    _guard(go)


def logs(
    app_name: Annotated[str, typer.Argument(help="the app")],
    component: Annotated[str, typer.Argument(help="gateway, backend or frontend (the last build log)")] = "backend",
    follow: Annotated[bool, typer.Option("-f", "--follow", help="keep printing new lines")] = False,
    tail: Annotated[int, typer.Option(help="lines to show first")] = 100,
    state_dir: StateOpt = None,
) -> None:
    """Show the gateway's access/error log, the backend containers' output, or the last frontend build log."""
    from portside.ops.lifecycle import stream_logs

    def go() -> None:
        for line in stream_logs(_ctx(state_dir), app_name, component, follow, tail):
            out.print(line, markup=False, highlight=False, end="")

    _guard(go)
