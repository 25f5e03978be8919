"""Accounts: ``deploy`` (logs in with a key, runs the CLI) and ``portside`` (runs the service, no shell),
the login keys, and narrow sudo rules. Docker-group membership is said to be what it is: root-equivalent."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portside.core.errors import ConfigError
from portside.server.facts import BaseFacts
from portside.server.host import FileState, Host, read_file
from portside.server.model import HEADER, Action, MakeDir, Run, Settings, Step, WriteFile

SUDOERS = "/etc/sudoers.d/portside"
PROBE_COMMENT = "portside-setup-probe"
KEY_TYPES = re.compile(r"(?:^|\s)((?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|"
                       r"sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/=]{16,}(?:\s+\S.*)?)$")
DOCKER_NOTE = ("{user} is in the docker group: that is root-equivalent (any container can mount / of this "
               "machine). portside needs it to run releases; rootless Docker would remove it.")


def public_keys(text: str) -> tuple[str, ...]:
    """The keys of an authorized_keys or .pub text, without options (``command=...`` etc.)."""
    keys = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or PROBE_COMMENT in line:
            continue
        match = KEY_TYPES.search(line)
        if match:
            keys.append(match.group(1).strip())
    return tuple(keys)


def key_id(line: str) -> str:
    """type + key material: two lines with the same key but other comments or options are the same key."""
    match = KEY_TYPES.search(line)
    return " ".join(match.group(1).split()[:2]) if match else line.strip()


def home_of(base: BaseFacts, user: str) -> str:
    account = base.accounts.get(user)
    return account.home if account else f"/home/{user}"


@dataclass(frozen=True)
class UserFacts:
    authorized_keys: FileState | None
    ssh_dir: FileState | None
    sudoers: FileState | None
    copied_keys: tuple[str, ...]  # from the invoking user's or root's authorized_keys
    root_keys: tuple[str, ...]
    invoking_user: str | None


def gather_users(host: Host, s: Settings, base: BaseFacts, invoking_user: str | None) -> UserFacts:
    home = home_of(base, s.user)
    ssh_dir = host.run(["stat", "-c", "%a %U %G", "--", f"{home}/.ssh"])
    dir_state = FileState("", *ssh_dir.out.split()) if ssh_dir.ok else None
    keys = {}
    for source in dict.fromkeys((invoking_user, "root")):
        if source and source in base.accounts:
            found = read_file(host, f"{base.accounts[source].home}/.ssh/authorized_keys")
            keys[source] = public_keys(found.content) if found else ()
    copied = next((k for k in keys.values() if k), ())
    return UserFacts(read_file(host, f"{home}/.ssh/authorized_keys"), dir_state, read_file(host, SUDOERS), copied,
                     keys.get("root", ()), invoking_user)


def render_sudoers(s: Settings) -> str:
    systemctl = "/usr/bin/systemctl"
    units = ", ".join(f"{systemctl} {verb} portside.service" for verb in ("start", "stop", "restart", "status"))
    lines = [f"# {HEADER}",
             f"# What {s.user} may run without a password. Checked with 'visudo -cf' before it was installed.",
             f"Cmnd_Alias PORTSIDE_GATEWAY = /usr/sbin/nginx -t, {systemctl} reload nginx.service, "
             f"{systemctl} reload nginx",
             f"Cmnd_Alias PORTSIDE_UNITS = {units}",
             f"{s.user} ALL=(root) NOPASSWD: PORTSIDE_GATEWAY, PORTSIDE_UNITS",
             f"{s.user} ALL=({s.service_user}) NOPASSWD: {s.executable}"]
    if s.sudo_all:
        lines += ["# --sudo-all: root-equivalent, asked for by the owner", f"{s.user} ALL=(ALL:ALL) NOPASSWD: ALL"]
    return "\n".join(lines) + "\n"


def desired_keys(s: Settings, f: UserFacts) -> tuple[str, ...]:
    present = public_keys(f.authorized_keys.content) if f.authorized_keys else ()
    wanted = s.ssh_keys or present or f.copied_keys
    if not wanted:
        raise ConfigError([
            f"--ssh-key: no SSH key for {s.user} (none given, none in the invoking user's or root's "
            "authorized_keys). Setup turns password logins off, so without a key nobody could log in. "
            "Fix: portside server setup --ssh-key ~/.ssh/id_ed25519.pub (the .pub file from your laptop)"])
    return wanted


def plan_users(s: Settings, base: BaseFacts, f: UserFacts) -> Step:
    actions: list[Action] = []
    notes: list[str] = []
    if s.service_user not in base.accounts:
        actions.append(Run(("useradd", "--system", "--user-group", "--home-dir", s.state_dir, "--no-create-home",
                            "--shell", "/usr/sbin/nologin", s.service_user),
                           f"create the service account {s.service_user} (no shell, no password)"))
    if s.user not in base.accounts:
        actions.append(Run(("useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--password", "*",
                            s.user), f"create the login account {s.user} (key-only: it has no password)"))
    if "docker" in base.groups:
        if s.service_user not in base.groups["docker"]:
            actions.append(Run(("usermod", "--append", "--groups", "docker", s.service_user),
                               f"add {s.service_user} to the docker group (root-equivalent)"))
        notes.append(DOCKER_NOTE.format(user=s.service_user))
        members = [m for m in base.groups["docker"] if m != s.service_user]
        if members:
            notes.append(f"also in the docker group, so also root-equivalent: {', '.join(members)}")
    else:
        notes.append(f"Docker is not installed yet: when it is, run setup again to add {s.service_user} to its "
                     "group (root-equivalent)")
    actions += _key_actions(s, base, f)
    sudoers = render_sudoers(s)
    if f.sudoers is None or f.sudoers.content != sudoers or f.sudoers.mode != "440":
        actions.append(WriteFile(SUDOERS, sudoers, "440", check=("visudo", "-cf"),
                                 why=f"{s.user} may run nginx -t/reload and portside's unit as root, and portside "
                                     f"as {s.service_user}; nothing else" + (" (plus --sudo-all)" if s.sudo_all
                                                                               else "")))
    if not s.sudo_all:
        notes.append(f"root can no longer log in over SSH and {s.user} has only portside's sudo rules: for other "
                     "root work use your provider's console, or rerun setup with --sudo-all")
    return Step("users", tuple(actions), tuple(notes))


def _key_actions(s: Settings, base: BaseFacts, f: UserFacts) -> list[Action]:
    home = home_of(base, s.user)
    owner = s.user
    actions: list[Action] = []
    if f.ssh_dir is None or (f.ssh_dir.mode, f.ssh_dir.owner) != ("700", owner):
        actions.append(MakeDir(f"{home}/.ssh", "700", owner, owner))
    present = f.authorized_keys.content if f.authorized_keys else ""
    kept = [line for line in present.splitlines() if line.strip() and PROBE_COMMENT not in line]
    have = {key_id(line) for line in kept}
    content = "\n".join(kept + [k for k in desired_keys(s, f) if key_id(k) not in have]) + "\n"
    state = f.authorized_keys
    if state is None or state.content != content or (state.mode, state.owner) != ("600", owner):
        added = len(content.splitlines()) - len(kept)
        actions.append(WriteFile(f"{home}/.ssh/authorized_keys", content, "600", owner, owner,
                                 why=f"{added} key(s) added for {s.user}" if added else f"{s.user}'s keys"))
    return actions
