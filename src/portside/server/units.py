"""systemd units for portside itself. The unit text comes from 'portside export systemd'
(render_export), so there is one source for it; setup installs and enables it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portside.core.render.export import UnitInputs, render_units
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import Action, MakeDir, Record, Run, Settings, Step, WriteFile, digest

UNIT_DIR = "/etc/systemd/system"
SERVE = "portside.service"
GATEWAY = "portside-gateway.service"  # the private gateway's nginx, in its own cgroup (serve restarts leave it up)


@dataclass(frozen=True)
class UnitFacts:
    serve: FileState | None
    gateway: FileState | None
    state_dir: FileState | None  # (mode, owner) of the state dir
    executable: bool
    enabled: bool


def gather_units(host: Host, s: Settings, base: BaseFacts) -> UnitFacts:
    state = host.run(["stat", "-c", "%a %U %G", "--", s.state_dir])
    enabled = base.systemd and host.run(["systemctl", "is-enabled", "--quiet", SERVE]).ok
    return UnitFacts(read_file(host, f"{UNIT_DIR}/{SERVE}"), read_file(host, f"{UNIT_DIR}/{GATEWAY}"),
                     FileState("", *state.out.split()) if state.ok else None,
                     host.run(["test", "-x", s.executable]).ok, enabled)


def _units(s: Settings) -> dict[str, str]:
    return render_units(UnitInputs(executable=Path(s.executable), state_dir=Path(s.state_dir), user=s.service_user,
                                   port=s.serve_port))


def render_serve(s: Settings) -> str:
    return _units(s)[SERVE]


def render_gateway_unit(s: Settings) -> str:
    return _units(s)[GATEWAY]


def plan_units(s: Settings, base: BaseFacts, f: UnitFacts) -> Step:
    actions: list[Action] = []
    notes: list[str] = []
    if f.state_dir is None or (f.state_dir.mode, f.state_dir.owner) != ("700", s.service_user):
        actions.append(MakeDir(s.state_dir, "700", s.service_user, s.service_user))
    unit = render_serve(s)
    if f.serve is None or f.serve.content != unit:
        actions.append(WriteFile(f"{UNIT_DIR}/{SERVE}", unit,
                                 why=f"'portside serve' as {s.service_user}, sandboxed ('portside export systemd')"))
    gateway = render_gateway_unit(s)
    if f.gateway is None or f.gateway.content != gateway:
        actions.append(WriteFile(f"{UNIT_DIR}/{GATEWAY}", gateway,
                                 why="the private gateway's nginx in its own unit, restarted by systemd if it dies"))
    key = digest(unit + gateway)
    if not base.systemd:
        notes.append(f"no systemd here: {SERVE} is installed but not enabled")
    elif not f.executable:
        notes.append(f"{s.executable} is missing: install portside there (pip install portside), then "
                     f"'systemctl enable --now {SERVE}'")
    elif not f.enabled or base.markers.get("units") != key:
        actions += [Run(("systemctl", "daemon-reload"), "let systemd read the unit"),
                    Run(("systemctl", "enable", GATEWAY), "the private gateway at boot (it starts once it is set up)"),
                    Run(("systemctl", "enable", "--now", SERVE), "start 'portside serve' now and at boot"),
                    Run(("systemctl", "try-restart", SERVE), "restart it if it ran with an older unit")]
    if actions and base.systemd:
        actions.append(Record("units", key))
    return Step("units", tuple(actions), tuple(notes))
