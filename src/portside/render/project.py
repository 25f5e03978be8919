"""Pure renderers for what 'portside init' writes: portside.toml, Dockerfiles, .dockerignore."""

from __future__ import annotations

import json

from portside.detect import Backend, Frontend
from portside.render.env import template

NODE_BASE = "node:20-bookworm-slim"
PYTHON_BASE = "python:3.11-slim-bookworm"


def render_config(name: str, frontend: Frontend | None, backend: Backend | None) -> str:
    return template("portside.toml.j2").render(name=name, frontend=frontend, backend=backend)


def _install(lockfile: str | None) -> str:
    return "npm ci --no-audit --no-fund" if lockfile else "npm install --no-audit --no-fund"


def render_frontend_dockerfile(frontend: Frontend) -> str:
    if frontend.template == "static":
        return template("dockerfiles/static.Dockerfile.j2").render()
    return template("dockerfiles/node-spa.Dockerfile.j2").render(
        framework=frontend.framework,
        base_image=NODE_BASE,
        lockfile=f"{frontend.lockfile} " if frontend.lockfile else "",
        install=_install(frontend.lockfile),
        output_dir=frontend.output_dir,
    )


def render_backend_dockerfile(backend: Backend) -> str:
    command = json.dumps(list(backend.command))
    if backend.template == "python-api":
        return template("dockerfiles/python-api.Dockerfile.j2").render(
            framework=backend.framework, base_image=PYTHON_BASE, requirements=backend.requirements,
            extra_packages=backend.extra_packages, port=backend.port, command=command)
    if backend.template == "node-api":
        return template("dockerfiles/node-api.Dockerfile.j2").render(
            framework=backend.framework, base_image=NODE_BASE,
            lockfile=f"{backend.lockfile} " if backend.lockfile else "", install=_install(backend.lockfile),
            port=backend.port, command=command)
    gradle = backend.framework == "spring-gradle"
    return template("dockerfiles/java-api.Dockerfile.j2").render(
        tool="Gradle" if gradle else "Maven",
        build_image="gradle:8-jdk17" if gradle else "maven:3-eclipse-temurin-17",
        base_image="eclipse-temurin:17-jre",
        build_command="gradle bootJar --no-daemon" if gradle else "mvn -q -DskipTests package",
        jar_glob="build/libs/*.jar" if gradle else "target/*.jar",
        port=backend.port)


def render_dockerignore() -> str:
    return template("dockerfiles/dockerignore.j2").render()
