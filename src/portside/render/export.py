"""Pure renderers for 'portside export': Jenkinsfile, .gitlab-ci.yml, and the systemd unit of 'serve'."""

from __future__ import annotations

from pathlib import Path

from portside.config import PortsideConfig
from portside.render.env import template

TARGETS = {"jenkins": "Jenkinsfile", "gitlab-ci": ".gitlab-ci.yml", "systemd": "portside.service"}


def render_export(target: str, config: PortsideConfig | None, *, agent: str = "deploy-server",
                  executable: Path = Path("/usr/local/bin/portside"), state_dir: Path = Path("/var/lib/portside"),
                  user: str = "portside", port: int = 7077) -> str:
    if target == "systemd":
        return template("export/portside.service.j2").render(executable=executable, state_dir=state_dir, user=user,
                                                             port=port)
    assert config is not None
    url = f"https://{config.app.domain}/"
    name = "Jenkinsfile.j2" if target == "jenkins" else "gitlab-ci.yml.j2"
    return template(f"export/{name}").render(app=config.app.name, branch=config.deploy.branch, agent=agent, url=url)
