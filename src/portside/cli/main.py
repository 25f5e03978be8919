"""The portside command line: every command on the app, in the order --help lists them. No deployment logic
in cli/: the commands call core and ops; cli/app.py is the one place that turns errors into exit statuses."""

from __future__ import annotations

from portside.cli import certs, deploy, doctor, files, server, service, status
from portside.cli.app import app, exit_codes

COMMANDS = (
    (files.init, None), (files.check, None), (deploy.plan, None), (deploy.up, None), (deploy.down, None),
    (status.status, None), (status.logs, None), (deploy.releases, None), (deploy.rollback, None),
    (files.render, None), (files.base_images, "base-images"), (service.serve_cmd, "serve"),
    (service.reconcile, None), (service.deploy, None), (service.pipelines, None), (service.deliveries, None),
    (service.hooks, None), (files.export, None), (doctor.doctor, None), (exit_codes, "exit-codes"),
)

for command, name in COMMANDS:
    app.command(name)(command)
app.add_typer(certs.certs_app, name="certs")
app.add_typer(service.pipeline_app, name="pipeline")
app.add_typer(server.server_app, name="server")


def run() -> None:
    app()


if __name__ == "__main__":
    run()
