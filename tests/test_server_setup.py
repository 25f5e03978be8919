"""'portside server setup', the pure parts: rendered files (golden), the plan from facts (idempotence,
convergence after an interruption, lock-out rules), the runner's rollback, the CLI's input checks, and the
doctor checks' parsing. The real thing runs in containers: test_server_setup_{sshd,firewall,tools}.py."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from portside.core.errors import ConfigError, EnvironmentProblem
from portside.doctor.hardening import _nft_ports, _ufw_ports, check_upgrades
from portside.server.apply import Runner
from portside.server.facts import PACKAGES, Account, BaseFacts
from portside.server.fail2ban import Fail2banFacts, render_jail
from portside.server.firewall import RULES, FirewallFacts, render_rules, render_unit
from portside.server.host import FileState, Result
from portside.server.model import Action, Record, Run, Settings, SetupPlan, Step, digest
from portside.server.plan import Facts, build_plan
from portside.server.sshd import (
    STAGE,
    CheckCandidate,
    InstallDropIn,
    ProveLogin,
    SshdFacts,
    include_lines,
    proof_target,
    render_dropin,
)
from portside.server.undo import plan_undo
from portside.server.units import UnitFacts, render_gateway_unit, render_serve
from portside.server.upgrades import UpgradeFacts, render_conf
from portside.server.users import PROBE_COMMENT, UserFacts, public_keys, render_sudoers

from .conftest import cli

GOLDEN = Path(__file__).parent / "golden"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM4DdxmFfo5wQqUXuZqLxEUtSN2rDQKwSRFIVeAm9XNx owner@laptop"
S = Settings(ssh_keys=(KEY,))


def file(text: str, mode: str = "644", owner: str = "root") -> FileState:
    return FileState(text, mode, owner, owner)


def converged(s: Settings = S, **changes: object) -> Facts:
    """Facts of a server on which setup has run to the end (no systemd: as in the test containers)."""
    markers = {"sshd": digest(render_dropin(s)), "firewall": digest(render_rules((22, 80, 443), True), render_unit()),
               "fail2ban": digest(render_jail((22,), False))}
    accounts = {n: Account(n, u, h, sh) for n, u, h, sh in (("root", 0, "/root", "/bin/bash"),
                                                            ("deploy", 1000, "/home/deploy", "/bin/bash"),
                                                            ("portside", 999, "/var/lib/portside",
                                                             "/usr/sbin/nologin"))}
    base = BaseFacts("debian", "bookworm", False, frozenset(PACKAGES), accounts, {"deploy": (), "portside": ()},
                     markers, frozenset({"nft", "sshd", "fail2ban-client", "visudo"}))
    users = UserFacts(file(KEY + "\n", "600", "deploy"), file("", "700", "deploy"), file(render_sudoers(s), "440"),
                      (), (KEY,), None)
    sshd = SshdFacts(True, file("Include /etc/ssh/sshd_config.d/*.conf\n"), file(render_dropin(s)),
                     ("10-portside.conf",), ("0.0.0.0:22", "[::]:22"), "signal", "ssh")
    firewall = FirewallFacts(False, "", file(render_rules((22, 80, 443), True)), None, True, False, "none", "1")
    facts = Facts(base, users, sshd, firewall, Fail2banFacts(True, file(render_jail((22,), False)), False),
                  UpgradeFacts(True, file(render_conf("debian"))),
                  UnitFacts(file(render_serve(s)), file(render_gateway_unit(s)), file("", "700", "portside"), True,
                            False),
                  file(s.to_json()))
    return replace(facts, **changes)


def actions(plan: SetupPlan) -> list[Action]:
    return [a for step in plan.steps for a in step.actions]


@pytest.mark.parametrize("name", ["dropin", "firewall", "firewall-ufw", "firewall-unit", "jail", "upgrades-debian",
                                  "upgrades-ubuntu", "sudoers"])
def test_golden(name: str) -> None:
    text = {"dropin": lambda: render_dropin(S), "firewall": lambda: render_rules((22, 80, 443), True),
            "firewall-ufw": lambda: render_rules((22, 80, 443), False), "firewall-unit": render_unit,
            "jail": lambda: render_jail((22,), False), "upgrades-debian": lambda: render_conf("debian"),
            "upgrades-ubuntu": lambda: render_conf("ubuntu"), "sudoers": lambda: render_sudoers(S)}[name]()
    path = GOLDEN / f"server-{name}.txt"
    if os.environ.get("PORTSIDE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_a_converged_server_plans_nothing() -> None:
    assert build_plan(S, converged()).changes == 0


def test_an_interrupted_sshd_step_is_redone_even_when_the_file_is_already_there() -> None:
    """kill -9 after the drop-in was written but before the reload and the proof: no marker, so again."""
    facts = converged()
    facts = replace(facts, base=replace(facts.base, markers={**facts.base.markers, "sshd": ""}))
    planned = actions(build_plan(S, facts))
    assert [type(a) for a in planned] == [CheckCandidate, InstallDropIn, ProveLogin, Record]


def test_a_flushed_firewall_is_loaded_again() -> None:
    facts = converged()
    planned = actions(build_plan(S, replace(facts, firewall=replace(facts.firewall, loaded=False))))
    assert planned == [Run(("nft", "-f", RULES), "load the rules now (one atomic transaction; open sessions stay)"),
                       Record("firewall", facts.base.markers["firewall"])]


def test_the_sshd_port_stays_open_and_the_proof_uses_it() -> None:
    facts = converged()
    facts = replace(facts, sshd=replace(facts.sshd, listen=("0.0.0.0:2222",)),
                    base=replace(facts.base, markers={}))
    plan = build_plan(S, facts)
    rules = next(a for a in actions(plan) if getattr(a, "path", "") == "/etc/portside/firewall.nft")
    assert "tcp dport { 22, 80, 443, 2222 } accept" in rules.content  # type: ignore[attr-defined]
    assert next(a for a in actions(plan) if isinstance(a, ProveLogin)).port == 2222
    assert "port(s) 2222 stay open because sshd listens there" in plan.notes
    assert proof_target(("[::]:22", "0.0.0.0:22")) == ("127.0.0.1", 22)
    assert proof_target(("203.0.113.7:22",)) == ("203.0.113.7", 22)


def test_ufw_is_used_when_present_and_opens_before_it_enables() -> None:
    facts = converged()
    facts = replace(facts, firewall=replace(facts.firewall, ufw=True, ufw_status="Status: inactive\n"))
    planned = [a.describe() for a in actions(build_plan(S, facts))]
    ufw = [d for d in planned if d.startswith("ufw")]
    assert ufw[-1].startswith("ufw: turn on") and len([d for d in ufw if "allow TCP" in d]) == 3
    rules = render_rules((22, 80, 443), False)
    assert "hook input" not in rules and "hook forward" in rules


def test_a_main_config_without_the_include_is_refused() -> None:
    facts = converged()
    with pytest.raises(EnvironmentProblem, match="does not read /etc/ssh/sshd_config.d"):
        build_plan(S, replace(facts, sshd=replace(facts.sshd, main=file("PermitRootLogin yes\n"),
                                                  dropin=None)))


def test_the_candidate_reads_the_dropins_in_sshds_order() -> None:
    main = "# top\nInclude /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n"
    staged = include_lines(main, ("50-cloud-init.conf", "05-early.conf"), STAGE)
    assert staged is not None
    assert staged.splitlines()[1] == (f"Include /etc/ssh/sshd_config.d/05-early.conf {STAGE}/10-portside.conf "
                                      "/etc/ssh/sshd_config.d/50-cloud-init.conf")
    assert include_lines("Include sshd_config.d/*.conf\n", (), STAGE) == f"Include {STAGE}/10-portside.conf\n"
    assert include_lines("UsePAM yes\n", (), STAGE) is None


def test_public_keys_drop_options_comments_and_probes() -> None:
    aws = f'no-port-forwarding,command="echo \'Please login as the user \\"ubuntu\\"\';sleep 10" {KEY}'
    text = f"# a comment\n{aws}\nsk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t x\n" \
           f"restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProbeProbeProbe {PROBE_COMMENT}\nnot a key\n"
    assert public_keys(text) == (KEY, "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t x")


def test_no_key_anywhere_is_refused() -> None:
    facts = converged(Settings())
    facts = replace(facts, users=replace(facts.users, authorized_keys=None, copied_keys=()))
    with pytest.raises(ConfigError, match="no SSH key for deploy"):
        build_plan(Settings(), facts)


def test_stale_probe_keys_are_removed_from_authorized_keys() -> None:
    facts = converged()
    stale = file(f"{KEY}\nrestrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIProbe {PROBE_COMMENT}\n", "600", "deploy")
    planned = actions(build_plan(S, replace(facts, users=replace(facts.users, authorized_keys=stale))))
    assert [getattr(a, "content", None) for a in planned] == [KEY + "\n"]


def test_sudo_rules_are_narrow_unless_asked() -> None:
    narrow = render_sudoers(S)
    assert "NOPASSWD: ALL" not in narrow and "deploy ALL=(portside) NOPASSWD: /usr/local/bin/portside" in narrow
    assert "deploy ALL=(ALL:ALL) NOPASSWD: ALL" in render_sudoers(replace(S, sudo_all=True))


def test_undo_never_leaves_nobody_able_to_log_in() -> None:
    facts = converged()
    no_root_key = replace(facts, users=replace(facts.users, root_keys=()))
    with pytest.raises(ConfigError, match="root has no SSH key"):
        plan_undo(S, no_root_key, remove_users=True)
    as_deploy = replace(facts, users=replace(facts.users, invoking_user="deploy"))
    with pytest.raises(ConfigError, match="you are logged in as deploy"):
        plan_undo(S, as_deploy, remove_users=True)
    kept = plan_undo(S, facts, remove_users=False)
    assert not [a for a in actions(kept) if "userdel" in a.describe()]
    assert any("userdel --remove deploy" in a.describe() for a in actions(plan_undo(S, facts, remove_users=True)))


def test_the_runner_undoes_the_failed_step_only() -> None:
    done: list[str] = []

    class Ok(Action):
        def __init__(self, name: str) -> None:
            object.__setattr__(self, "name", name)

        def describe(self) -> str:
            return self.name  # type: ignore[attr-defined,no-any-return]

    class Boom(Action):
        def describe(self) -> str:
            return "boom"

    def ok(action: Ok, host: object) -> object:
        done.append(f"do {action.name}")  # type: ignore[attr-defined]
        return lambda: done.append(f"undo {action.name}")  # type: ignore[attr-defined]

    def boom(action: Boom, host: object) -> None:
        raise EnvironmentProblem("no")

    plan = SetupPlan((Step("first", (Ok("a"),)), Step("second", (Ok("b"), Ok("c"), Boom()))))
    with pytest.raises(EnvironmentProblem):
        Runner(object(), lambda line: None, {Ok: ok, Boom: boom}).apply(plan)  # type: ignore[arg-type]
    assert done == ["do a", "do b", "do c", "undo c", "undo b"]


def test_cli_refuses_bad_input_before_touching_any_host(tmp_path: Path) -> None:
    private = tmp_path / "id_ed25519"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxxx\n-----END OPENSSH PRIVATE KEY-----\n")
    result = cli("server", "setup", "--ssh-key", private)
    assert result.code == 2 and "this is a private key" in result.err and "pass the .pub file" in result.err
    empty = tmp_path / "empty.pub"
    empty.write_text("hello\n")
    assert "no public key in it" in cli("server", "setup", "--ssh-key", empty).err
    assert cli("server", "setup", "--user", "Root!").code == 2
    assert "only with --undo" in cli("server", "setup", "--remove-users").err


class FakeHost:
    """Answers commands from a table: for the parsing logic of the doctor checks only."""

    name = "fake"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers

    def run(self, argv: list[str], **_: object) -> Result:
        out = self.answers.get(" ".join(argv))
        return Result(tuple(argv), 0 if out is not None else 1, out or "", "")


DEBIAN_DUMP = '''Unattended-Upgrade::Origins-Pattern "";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
Unattended-Upgrade::Package-Blacklist "";
'''


def test_doctor_reads_the_effective_apt_and_firewall_settings() -> None:
    base = converged().base
    found = {f.detail for f in check_upgrades(FakeHost({"apt-config dump": DEBIAN_DUMP}), base)}  # type: ignore[arg-type]
    assert any("non-security updates" in d for d in found) and any("may upgrade docker-ce" in d for d in found)
    assert any("does not run daily" in d for d in found)
    ours = ('Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,'
            'label=Debian-Security";\nUnattended-Upgrade::Package-Blacklist:: "docker";\n'
            'Unattended-Upgrade::Package-Blacklist:: "containerd";\nAPT::Periodic::Unattended-Upgrade "1";\n')
    assert check_upgrades(FakeHost({"apt-config dump": ours}), base) == []  # type: ignore[arg-type]
    assert _nft_ports(render_rules((22, 80, 443), True)) == {22, 80, 443}
    assert _nft_ports("tcp dport 8080 accept\n") == {8080}
    assert _ufw_ports("22/tcp                     ALLOW IN    Anywhere\n5432 ALLOW IN Anywhere\n") == {22, 5432}


class Recorder(FakeHost):
    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__(answers)
        self.ran: list[str] = []

    def run(self, argv: list[str], **kw: object) -> Result:
        self.ran.append(" ".join(argv))
        return super().run(argv, **kw)


def test_socket_activated_sshd_is_reloaded_through_its_socket() -> None:
    """Ubuntu >= 22.10: ssh.socket owns the listening socket; a plain reload of ssh.service is not enough."""
    from portside.server.sshd import gather_sshd
    from portside.server.sshd_proof import reload_sshd

    base = replace(converged().base, systemd=True)
    host = Recorder({"test -x /usr/sbin/sshd": "", "systemctl cat ssh.service": "[Unit]",
                     "systemctl is-active ssh.socket": "active\n"})
    assert gather_sshd(host, base).reload == "socket"  # type: ignore[arg-type]
    host.ran.clear()
    reload_sshd(host, "socket", "ssh")  # type: ignore[arg-type]
    assert host.ran == ["systemctl daemon-reload", "systemctl restart ssh.socket",
                        "systemctl try-reload-or-restart ssh.service"]
    plain = Recorder({"test -x /usr/sbin/sshd": "", "systemctl cat ssh.service": "[Unit]",
                      "systemctl is-active ssh.socket": "inactive\n"})
    assert gather_sshd(plain, base).reload == "systemd"  # type: ignore[arg-type]


def test_unknown_sshd_ports_stop_setup_before_the_firewall_could_close_them() -> None:
    facts = converged()
    with pytest.raises(EnvironmentProblem, match="could not read the ports sshd listens on"):
        build_plan(S, replace(facts, sshd=replace(facts.sshd, listen=())))
