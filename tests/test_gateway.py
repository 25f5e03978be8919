"""The site files both gateways share: swap in behind the config test, restore the last good one, remove.

Unit cases with the reload and config test recorded (the real ones run in test_system_gateway and the
integration suite): what each gateway does is the same, except that the private one reloads after a removal
or a restore only while its master runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.adapters.gateway import PrivateGateway, SystemGateway
from portside.core.errors import GatewayError


def _recorded(gateway: PrivateGateway | SystemGateway, monkeypatch: pytest.MonkeyPatch,
              reloads: list[str]) -> None:
    monkeypatch.setattr(gateway, "reload", lambda: reloads.append(gateway.mode))
    monkeypatch.setattr(gateway, "config_test", lambda: None)
    gateway.files.sites_dir.mkdir(parents=True)


def test_both_gateways_swap_restore_and_remove_a_site_alike(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    reloads: list[str] = []
    private = PrivateGateway(tmp_path / "gateway", 18080, None)  # no master runs under this prefix
    system = SystemGateway(tmp_path / "conf.d", tmp_path / "last-good", pid_file=tmp_path / "nginx.pid")
    for gateway in (private, system):
        _recorded(gateway, monkeypatch, reloads)
        gateway.deploy_site("demo", "first\n")
        gateway.deploy_site("demo", "second\n")
        assert gateway.site_file("demo").read_text() == "second\n"
        gateway.restore_site("demo")
        assert gateway.site_file("demo").read_text() == "first\n"
        gateway.remove_site("demo")
        assert not gateway.site_file("demo").exists()
    assert private.site_file("demo") == tmp_path / "gateway" / "sites" / "demo.conf"
    assert system.site_file("demo") == tmp_path / "conf.d" / "portside-demo.conf"
    # private: the two deploys reload; the restore and removal wait for its master to start
    assert reloads == ["private", "private", "system", "system", "system", "system"]


def test_a_site_failing_the_config_test_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads: list[str] = []
    system = SystemGateway(tmp_path / "conf.d", tmp_path / "last-good", pid_file=tmp_path / "nginx.pid")
    _recorded(system, monkeypatch, reloads)
    system.deploy_site("demo", "good\n")

    def refuse() -> None:
        raise GatewayError("nginx rejected the config", fix="x")

    monkeypatch.setattr(system, "config_test", refuse)
    with pytest.raises(GatewayError):
        system.deploy_site("demo", "bad\n")
    assert system.site_file("demo").read_text() == "good\n"
    assert reloads == ["system"]
