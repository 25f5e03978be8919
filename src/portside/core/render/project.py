"""Pure renderers for what 'portside init' writes: portside.toml, Dockerfiles, .dockerignore."""

from __future__ import annotations

import re

from portside.core.detect import Backend, Frontend
from portside.core.render.env import template

# What generated Dockerfiles name by default (ARG BASE_IMAGE=...); portside hands a build its offline base image
# instead when the registry cannot be reached (adapters/base_images.py, same names: a test keeps them equal).
REGISTRY_BASES = {
    "python": "python:3.11-slim-bookworm",
    "node": "node:20-bookworm-slim",
    "go": "golang:1.22-bookworm",
    "java": "maven:3.9-eclipse-temurin-17",
}
NODE_BASE = REGISTRY_BASES["node"]
PYTHON_BASE = REGISTRY_BASES["python"]


def comment(text: str) -> str:
    """Detection's explanation as a portside.toml comment: one line, nothing a template refuses."""
    return re.sub(r"[^A-Za-z0-9 ._:/()',=+<>@#%&*?!|-]", "?", " ".join(text.split()))


def render_config(name: str, frontend: Frontend | None, backend: Backend | None) -> str:
    why = {}
    if backend is not None:
        why = {"port": comment(backend.port_how), "health": comment(backend.health_how),
               "strip": comment(backend.strip_how), "realtime": comment(backend.realtime_how)}
    return template("portside.toml.j2").render(name=name, frontend=frontend, backend=backend, why=why, pad=_pad)


def _pad(value: object, width: int) -> str:
    """Spaces that line the comments up in a column (at least one)."""
    return " " * max(1, width - len(str(value)))


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
    base = REGISTRY_BASES.get(backend.base_image, PYTHON_BASE)
    if backend.template == "python-api":
        return template("dockerfiles/python-api.Dockerfile.j2").render(
            framework=backend.framework, base_image=base, requirements=backend.requirements,
            extra_packages=backend.extra_packages, port=backend.port, command=backend.command)
    if backend.template == "node-api":
        return template("dockerfiles/node-api.Dockerfile.j2").render(
            framework=backend.framework, base_image=base,
            lockfile=f"{backend.lockfile} " if backend.lockfile else "", install=_install(backend.lockfile),
            build=backend.build_script, port=backend.port, command=backend.command)
    if backend.template == "go-api":
        return template("dockerfiles/go-api.Dockerfile.j2").render(
            framework=backend.framework, base_image=base, port=backend.port, main_package=backend.main_package,
            gosum="go.sum " if backend.lockfile == "go.sum" else "")
    gradle = backend.framework == "spring-gradle"
    wrapper = backend.wrapper
    return template("dockerfiles/java-api.Dockerfile.j2").render(
        tool="Gradle" if gradle else "Maven",
        base_image=base,
        build_command=(("./gradlew" if wrapper else "gradle") + " bootJar --no-daemon") if gradle else
        ("./mvnw" if wrapper else "mvn") + " -q -B -DskipTests package",
        jar_glob="build/libs/*.jar" if gradle else "target/*.jar",
        port=backend.port)


def render_dockerignore(theirs: bool = False) -> str:
    """``theirs``: next to the user's own Dockerfile, whose build may need build folders."""
    return template("dockerfiles/dockerignore.j2").render(theirs=theirs)
