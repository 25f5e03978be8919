"""What detection finds. Each value says how it was found; an assumption says which line to change."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    path: str  # as the backend sees it, e.g. '/api/healthz'
    method: str  # GET, POST, ..., ANY, WS
    where: str  # 'backend/routes/health.js:4'


@dataclass(frozen=True)
class Port:
    value: int
    how: str  # 'backend/server.js:12 (PORT fallback)' or "Express's usual port"
    sure: bool = True


@dataclass(frozen=True)
class Frontend:
    path: str
    framework: str  # vite, react, vue, svelte, sveltekit, next-export, cra, vue-cli, npm, static
    output_dir: str
    lockfile: str | None
    template: str  # which Dockerfile template: node-spa or static
    assets_path: str = "/assets/"
    dockerfile: str = "Dockerfile"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Backend:
    path: str
    framework: str  # fastapi, django, flask, express, koa, fastify, nest, go, spring-gradle, spring-maven
    port: int
    template: str  # python-api, node-api, go-api, java-api
    command: tuple[str, ...] = ()
    requirements: str = "requirements.txt"
    lockfile: str | None = None
    extra_packages: tuple[str, ...] = ()  # e.g. the WSGI server the project does not list
    base_image: str = "python"  # the kind of base image the build needs (see adapters/base_images.py)
    port_how: str = ""
    port_sure: bool = True
    health_path: str = "/api/health"
    health_how: str = "assumed"
    health_sure: bool = False
    strip_prefix: bool = False
    strip_how: str = ""
    websocket_paths: tuple[str, ...] = ("/api/ws/",)
    backend_paths: tuple[str, ...] = ()  # real-time paths outside the API prefix, e.g. Socket.IO's
    realtime_how: str = ""
    replicas: int = 2  # 1 where in-memory connection state (Socket.IO) needs every client on one process
    dockerfile: str = "Dockerfile"
    own_dockerfile: bool = False
    build_script: bool = False  # a Node backend with a build step (TypeScript)
    main_package: str = "."  # Go: the package to build
    wrapper: bool = False  # Spring: the project has mvnw/gradlew
    routes: tuple[Route, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Detection:
    frontend: Frontend | None
    backend: Backend | None
    notes: tuple[str, ...] = field(default=())

    @property
    def all_notes(self) -> tuple[str, ...]:
        notes = list(self.notes)
        for part in (self.frontend, self.backend):
            if part is not None:
                notes += part.notes
        return tuple(notes)
