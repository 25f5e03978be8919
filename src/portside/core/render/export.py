"""Pure renderers for 'portside export': Jenkinsfile, .gitlab-ci.yml, and the systemd units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portside.core.config import SERVICE_PORT, PortsideConfig
from portside.core.gateway_choice import app_url, choose_gateway
from portside.core.paths import Paths
from portside.core.render.env import template

TARGETS = {"jenkins": "Jenkinsfile", "gitlab-ci": ".gitlab-ci.yml", "systemd": "portside.service and its companions"}
UNITS = ("portside.service", "portside-gateway.service", "portside-renew.service", "portside-renew.timer")


@dataclass(frozen=True)
class UnitInputs:
    executable: Path = Path("/usr/local/bin/portside")
    nginx: Path = Path("/usr/sbin/nginx")
    state_dir: Path = Path("/var/lib/portside")
    user: str = "portside"
    port: int = SERVICE_PORT

    @property
    def gateway_prefix(self) -> Path:
        """Where the private gateway lives (Paths.gateway)."""
        return Paths(self.state_dir).gateway


def render_units(inputs: UnitInputs = UnitInputs()) -> dict[str, str]:
    """Every unit file, by name: serve, the private gateway's nginx, and the renewal timer with its service."""
    values = {"executable": inputs.executable, "nginx": inputs.nginx, "state_dir": inputs.state_dir,
              "prefix": inputs.gateway_prefix, "user": inputs.user, "port": inputs.port}
    return {name: template(f"export/{name}.j2").render(**values) for name in UNITS}


def unit_warnings(inputs: UnitInputs) -> list[str]:
    """Paths the units' sandbox would hide (ProtectHome), so the service could not start."""
    hidden = ("/home", "/root", "/run/user")
    return [f"{what} {path} is under {top}, which the units hide (ProtectHome=yes), so they would not start. "
            f"Fix: {fix}"
            for what, path, fix in (("the portside executable", inputs.executable,
                                     "install portside outside home folders, e.g. 'python3 -m venv /opt/portside && "
                                     "/opt/portside/bin/pip install portside'"),
                                    ("the state dir", inputs.state_dir, "use /var/lib/portside"))
            for top in hidden if path.is_relative_to(top)]


def render_export(target: str, config: PortsideConfig | None, *, agent: str = "deploy-server",
                  units: UnitInputs = UnitInputs()) -> str:
    """One text to print. For systemd that is every unit, each after a '# ==> name <==' line."""
    if target == "systemd":
        return "\n".join(f"# ==> {name} <==\n{text}" for name, text in render_units(units).items())
    assert config is not None
    choice = choose_gateway(config, False, None, None, None)  # a CI job deploys to the server's 80/443
    url = app_url(config.app.domain, choice.http_port, choice.https_port)
    name = "Jenkinsfile.j2" if target == "jenkins" else "gitlab-ci.yml.j2"
    return template(f"export/{name}").render(app=config.app.name, branch=config.deploy.branch, agent=agent, url=url)
