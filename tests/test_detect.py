"""Detection reads the code: ports, health routes, strip_prefix, real-time paths, base images, build output."""

from __future__ import annotations

from pathlib import Path

import pytest

from portside.core.detect import detect, detect_backend, detect_frontend

from .conftest import write_files

EXPRESS = '{"dependencies": {"express": "4"}}'
FLASK = "flask\n"

# case: (files, expected port, words in how it was found)
PORTS: dict[str, tuple[dict[str, str], int, str]] = {
    "node PORT || N": ({"backend/package.json": EXPRESS, "backend/index.js":
                        "const PORT = process.env.PORT || 5000;\napp.listen(PORT);"}, 5000,
                       "index.js:1 (PORT fallback)"),
    "node PORT ?? N": ({"backend/package.json": EXPRESS, "backend/index.js":
                        "app.listen(process.env.PORT ?? 3001)"}, 3001, "PORT fallback"),
    "node Number(PORT) || N": ({"backend/package.json": EXPRESS, "backend/index.js":
                                "const port = Number(process.env.PORT) || 8787"}, 8787, "PORT fallback"),
    "node parseInt(PORT, 10) || N": ({"backend/package.json": EXPRESS, "backend/index.js":
                                      "const port = parseInt(process.env.PORT, 10) || 4000"}, 4000, "PORT fallback"),
    "node destructured": ({"backend/package.json": EXPRESS, "backend/index.js":
                           "const { PORT = 7000 } = process.env;\napp.listen(PORT)"}, 7000, "PORT fallback"),
    "node fixed listen": ({"backend/package.json": EXPRESS, "backend/index.js": "app.listen(8080, () => {})"},
                          8080, "fixed port"),
    "node named constant": ({"backend/package.json": EXPRESS, "backend/index.js":
                             "const port = 3333;\napp.listen(port, () => {})"}, 3333, "index.js:1"),
    "node .env.example": ({"backend/package.json": EXPRESS, "backend/index.js": "app.listen(process.env.PORT)",
                           "backend/.env.example": "DB_URL=x\nPORT=4100\n"}, 4100, ".env.example"),
    "node entry from start script": ({"server/package.json": '{"scripts": {"start": "node src/main.js"}, '
                                      '"dependencies": {"koa": "2"}}', "server/index.js": "app.listen(1111)",
                                      "server/src/main.js": "app.listen(2222)"}, 2222, "src/main.js"),
    "node start script PORT=N": ({"backend/package.json": '{"scripts": {"start": "PORT=4500 node app.js"}, '
                                  '"dependencies": {"express": "4"}}', "backend/app.js":
                                  "app.listen(process.env.PORT || 3000)"}, 4500, "scripts.start (PORT=4500)"),
    "flask app.run": ({"backend/requirements.txt": FLASK, "backend/app.py":
                       "app = Flask(__name__)\napp.run(debug=True, port=5001)"}, 5001, "run(port"),
    "python env fallback": ({"backend/requirements.txt": FLASK, "backend/app.py":
                             "port = int(os.environ.get('PORT', 5002))"}, 5002, "PORT fallback"),
    "procfile bind": ({"server/requirements.txt": FLASK, "server/Procfile":
                       "web: gunicorn wsgi:app --bind 0.0.0.0:5003 -w 2\n"}, 5003, "Procfile:1"),
    "procfile $PORT": ({"server/requirements.txt": FLASK, "server/Procfile": "web: gunicorn app:app -b :$PORT\n"},
                       8000, "reads PORT"),
    "own Dockerfile CMD --port": ({"backend/pyproject.toml": '[project]\ndependencies = ["fastapi"]\n',
                                   "backend/Dockerfile": 'FROM python:3.12\nUSER 1000\nCMD ["uvicorn", "main:app", '
                                   '"--host", "0.0.0.0", "--port", "8001"]\n'}, 8001, "Dockerfile:3 (CMD --port)"),
    "own Dockerfile ENV PORT": ({"backend/package.json": EXPRESS, "backend/index.js": "app.listen(process.env.PORT)",
                                 "backend/Dockerfile": "FROM node:20\nENV PORT=8090\nUSER node\n"}, 8090, "ENV PORT"),
    "own Dockerfile EXPOSE": ({"backend/package.json": EXPRESS, "backend/Dockerfile": "FROM node:20\nEXPOSE 9090\n"},
                              9090, "EXPOSE"),
    "go PORT fallback": ({"backend/go.mod": "module x\n", "backend/main.go": 'port := os.Getenv("PORT")\n'
                          'if port == "" {\n\tport = "8081"\n}\n'}, 8081, "PORT fallback"),
    "go listen address": ({"backend/go.mod": "module x\n", "backend/main.go":
                           'log.Fatal(http.ListenAndServe(":9000", nil))'}, 9000, "listen address"),
    "spring server.port": ({"backend/pom.xml": "<artifactId>spring-boot-starter-web</artifactId>",
                            "backend/src/main/resources/application.properties": "server.port=8082\n"}, 8082,
                           "server.port"),
    "spring ${PORT:N}": ({"backend/build.gradle": "id 'org.springframework.boot'",
                          "backend/src/main/resources/application.properties": "server.port=${PORT:8083}\n"}, 8083,
                         "server.port"),
    "spring yaml": ({"backend/pom.xml": "spring-boot", "backend/src/main/resources/application.yml":
                     "spring:\n  application:\n    name: x\nserver:\n  port: 8084\n"}, 8084, "server.port"),
}


@pytest.mark.parametrize("case", sorted(PORTS))
def test_port_is_read_from_the_code(case: str, tmp_path: Path) -> None:
    files, port, how = PORTS[case]
    backend = detect_backend(write_files(tmp_path, files))
    assert backend is not None
    assert (backend.port, backend.port_sure) == (port, True), backend.port_how
    assert how in backend.port_how


def test_an_unknown_port_is_an_assumption_with_the_line_to_change(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": EXPRESS, "backend/index.js": "http.createServer(app)"})
    backend = detect_backend(tmp_path)
    assert backend is not None and (backend.port, backend.port_sure) == (3000, False)
    assert any("change port = 3000 in the backend section" in note for note in backend.notes)


# case: (files, health path, strip_prefix)
ROUTES: dict[str, tuple[dict[str, str], str, bool]] = {
    "express router mounted under /api": ({
        "backend/package.json": EXPRESS,
        "backend/server.js": "const health = require('./routes/health');\napp.use('/api', health);\n"
                             "app.get('/api/items', f);",
        "backend/routes/health.js": "const router = express.Router();\nrouter.get('/healthz', f);"}, "/api/healthz",
        False),
    "express nested mounts, ESM": ({
        "backend/package.json": EXPRESS,
        "backend/src/index.js": "import api from './routes/index.js'\napp.use('/api', api)",
        "backend/src/routes/index.js": "import status from './status.js'\nconst r = Router()\nr.use('/v1', status)",
        "backend/src/routes/status.js": "const router = Router()\nrouter.get('/status', f)"}, "/api/v1/status",
        False),
    "koa router prefix": ({"server/package.json": '{"dependencies": {"koa": "2", "@koa/router": "13"}}',
                           "server/index.js": "const router = new Router({ prefix: '/api' });\n"
                                              "router.get('/ping', f);\napp.use(router.routes());"}, "/api/ping",
                          False),
    "fastify register prefix": ({"api/package.json": '{"dependencies": {"fastify": "4"}}',
                                 "api/server.js": "fastify.register(require('./routes'), { prefix: '/api' })",
                                 "api/routes.js": "module.exports = async (app) => { app.get('/ready', f) }"},
                                "/api/ready", False),
    "nest global prefix and controller": ({
        "backend/package.json": '{"dependencies": {"@nestjs/core": "10"}}',
        "backend/src/main.ts": "app.setGlobalPrefix('api');",
        "backend/src/health.controller.ts": "@Controller('health')\nexport class H {\n  @Get()\n  check() {}\n}"},
        "/api/health", False),
    "flask blueprint url_prefix at registration": ({
        "backend/requirements.txt": FLASK,
        "backend/app/__init__.py": "def create_app():\n    app = Flask(__name__)\n    from .api import bp\n"
                                   "    app.register_blueprint(bp, url_prefix='/api')\n",
        "backend/app/api.py": "bp = Blueprint('api', __name__)\n@bp.route('/status')\ndef s(): pass\n"},
        "/api/status", False),
    "flask blueprint own url_prefix": ({
        "backend/requirements.txt": FLASK,
        "backend/app.py": "api = Blueprint('api', __name__, url_prefix='/api')\n@api.get('/health')\ndef h(): pass\n"
                          "app.register_blueprint(api)\n"}, "/api/health", False),
    "fastapi include_router prefix": ({
        "backend/requirements.txt": "fastapi\nuvicorn\n",
        "backend/main.py": "from routers import health as h\napp = FastAPI()\n"
                           "app.include_router(h.router, prefix='/api')\n",
        "backend/routers/health.py": "router = APIRouter()\n@router.get('/healthz')\ndef h(): pass\n"},
        "/api/healthz", False),
    "fastapi APIRouter prefix, imported as": ({
        "backend/requirements.txt": "fastapi\n",
        "backend/main.py": "from api.routes import router as api_router\napp = FastAPI()\n"
                           "app.include_router(api_router)\n",
        "backend/api/routes.py": "router = APIRouter(prefix='/api/v1')\n@router.get('/ping')\ndef p(): pass\n"},
        "/api/v1/ping", False),
    "django include": ({
        "backend/requirements.txt": "Django\n", "backend/site1/wsgi.py": "",
        "backend/site1/settings.py": "ROOT_URLCONF = 'site1.urls'\n",
        "backend/site1/urls.py": "urlpatterns = [path('admin/', admin.site.urls), path('api/', include('core.urls'))]",
        "backend/core/urls.py": "urlpatterns = [path('healthz/', views.h), path('items/', views.items)]"},
        "/api/healthz/", False),
    "go net/http": ({"backend/go.mod": "module x\n", "backend/main.go":
                     'mux.HandleFunc("GET /api/health", h)\nmux.HandleFunc("/api/links", l)'}, "/api/health", False),
    "gin group": ({"backend/go.mod": "module x\nrequire github.com/gin-gonic/gin v1.10.0\n", "backend/main.go":
                   'api := r.Group("/api")\napi.GET("/ping", p)\napi.GET("/users", u)'}, "/api/ping", False),
    "spring mappings": ({"backend/pom.xml": "spring-boot", "backend/src/main/java/x/HealthController.java":
                         '@RestController\n@RequestMapping("/api")\npublic class HealthController {\n'
                         '  @GetMapping("/health")\n  public String h() { return "ok"; }\n}'}, "/api/health", False),
    "spring actuator": ({"backend/pom.xml": "spring-boot spring-boot-starter-actuator",
                         "backend/src/main/java/x/ItemController.java": '@RestController\n@RequestMapping("/api/items")'
                         '\nclass ItemController {\n  @GetMapping\n  List<Item> all() {}\n}'}, "/api/items", False),
    "no /api prefix: strip it (Vue + Flask tutorial)": ({
        "server/requirements.txt": FLASK,
        "server/app.py": "app = Flask(__name__)\n@app.route('/ping', methods=['GET'])\ndef p(): pass\n"
                         "@app.route('/books', methods=['GET', 'POST'])\ndef b(): pass\n"}, "/ping", True),
}


@pytest.mark.parametrize("case", sorted(ROUTES))
def test_health_path_and_strip_prefix_come_from_the_routes(case: str, tmp_path: Path) -> None:
    files, health, strip = ROUTES[case]
    backend = detect_backend(write_files(tmp_path, files))
    assert backend is not None
    assert (backend.health_path, backend.strip_prefix) == (health, strip), backend.routes


def test_without_a_health_route_a_public_api_route_is_used_and_said(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": EXPRESS, "backend/index.js":
                           "app.get('/api/login', f)\napp.get('/api/rooms/:id', f)\napp.get('/api/rooms', f)\n"
                           "app.post('/api/messages', f)"})
    backend = detect_backend(tmp_path)
    assert backend is not None and (backend.health_path, backend.health_sure) == ("/api/rooms", False)
    assert any('health_path = "/api/rooms"' in note for note in backend.notes)


def test_without_routes_the_health_path_is_an_assumption(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/requirements.txt": FLASK, "backend/app.py": "app = Flask(__name__)\n"})
    backend = detect_backend(tmp_path)
    assert backend is not None and (backend.health_path, backend.health_sure, backend.strip_prefix) == (
        "/api/health", False, False)
    assert any("assumed /api/health" in note for note in backend.notes)


# case: (files, websocket_paths, backend_paths)
REALTIME: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    "socket.io default path": ({"server/package.json": '{"dependencies": {"express": "4", "socket.io": "4"}}',
                                "server/index.js": "const io = new Server(server);"}, ("/api/ws/",), ("/socket.io/",)),
    "socket.io custom path": ({"server/package.json": '{"dependencies": {"socket.io": "4"}}',
                               "server/index.js": "const io = new Server(httpServer, {\n  cors: {},\n"
                                                  "  path: '/rt/socket.io'\n});"}, ("/api/ws/",), ("/rt/socket.io/",)),
    "ws server path": ({"server/package.json": '{"dependencies": {"express": "4", "ws": "8"}}',
                        "server/index.js": "const wss = new WebSocketServer({ server, path: '/signal' });"},
                       ("/api/ws/",), ("/signal/",)),
    "flask-socketio": ({"backend/requirements.txt": "flask\nflask-socketio\n", "backend/app.py": ""},
                       ("/api/ws/",), ("/socket.io/",)),
    "fastapi websocket under /api": ({"backend/requirements.txt": "fastapi\n", "backend/main.py":
                                      "@app.websocket('/api/live/feed')\nasync def f(ws): pass\n"},
                                     ("/api/live/",), ()),
    "fastapi websocket outside /api": ({"backend/requirements.txt": "fastapi\n", "backend/main.py":
                                        "@app.websocket('/ws')\nasync def f(ws): pass\n@app.get('/api/x')\n"
                                        "def x(): pass\n"}, ("/api/ws/",), ("/ws/",)),
}


@pytest.mark.parametrize("case", sorted(REALTIME))
def test_real_time_paths_are_routed_to_the_backend(case: str, tmp_path: Path) -> None:
    files, under, outside = REALTIME[case]
    backend = detect_backend(write_files(tmp_path, files))
    assert backend is not None
    assert (backend.websocket_paths, backend.backend_paths) == (under, outside)
    socket_io = case.startswith("socket.io") or "socketio" in case
    assert backend.replicas == (1 if socket_io else 2)  # Socket.IO's polling needs one process (no sticky sessions)


# case: (files, base image kind, framework)
BASES: dict[str, tuple[dict[str, str], str, str]] = {
    "express": ({"backend/package.json": EXPRESS}, "node", "express"),
    "koa": ({"backend/package.json": '{"dependencies": {"koa": "2"}}'}, "node", "koa"),
    "nest": ({"backend/package.json": '{"dependencies": {"@nestjs/core": "10"}}'}, "node", "nest"),
    "flask": ({"backend/requirements.txt": FLASK}, "python", "flask"),
    "go": ({"backend/go.mod": "module x\n"}, "go", "go (net/http)"),
    "spring": ({"backend/pom.xml": "spring-boot"}, "java", "spring-maven"),
    "their Dockerfile names node": ({"backend/requirements.txt": FLASK, "backend/Dockerfile": "FROM node:20\n"},
                                    "node", "flask"),
}


@pytest.mark.parametrize("case", sorted(BASES))
def test_the_base_image_matches_the_framework(case: str, tmp_path: Path) -> None:
    files, kind, framework = BASES[case]
    backend = detect_backend(write_files(tmp_path, files))
    assert backend is not None and (backend.base_image, backend.framework) == (kind, framework)


# case: (files, framework, output_dir, assets_path, folder)
FRONTENDS: dict[str, tuple[dict[str, str], str, str, str, str]] = {
    "sveltekit static": ({"frontend/package.json": '{"devDependencies": {"@sveltejs/kit": "2", "vite": "5"}}',
                          "frontend/svelte.config.js": "import adapter from '@sveltejs/adapter-static';\n"
                                                       "adapter({ pages: 'public', fallback: 'index.html' })"},
                         "sveltekit", "public", "/_app/", "frontend"),
    "next distDir": ({"web/package.json": '{"dependencies": {"next": "14"}}', "web/next.config.mjs":
                      "export default { output: 'export', distDir: 'static-out' }"}, "next-export", "static-out",
                     "/_next/", "web"),
    "vite outDir and base": ({"client/package.json": '{"devDependencies": {"vite": "5"}}', "client/vite.config.ts":
                              "export default { base: '/app/', build: { outDir: 'www', assetsDir: 'static' } }"},
                             "vite", "www", "/app/static/", "client"),
    "cra": ({"frontend/package.json": '{"dependencies": {"react-scripts": "5"}}'}, "cra", "build", "/static/",
            "frontend"),
    "npm workspaces": ({"package.json": '{"workspaces": ["packages/*"]}', "packages/site/package.json":
                        '{"devDependencies": {"vite": "5"}}', "packages/server/package.json": EXPRESS},
                       "vite", "dist", "/assets/", "packages/site"),
    "pnpm workspace": ({"pnpm-workspace.yaml": "packages:\n  - 'apps/*'\n", "apps/ui/package.json":
                        '{"devDependencies": {"vite": "5"}}'}, "vite", "dist", "/assets/", "apps/ui"),
    "plain html in public/": ({"public/index.html": "<h1>hi</h1>"}, "static", ".", "/assets/", "public"),
}


@pytest.mark.parametrize("case", sorted(FRONTENDS))
def test_frontend_build_output_and_assets(case: str, tmp_path: Path) -> None:
    files, framework, output, assets, folder = FRONTENDS[case]
    found = detect_frontend(write_files(tmp_path, files))
    assert found is not None
    assert (found.framework, found.output_dir, found.assets_path, found.path) == (framework, output, assets, folder)


def test_a_workspace_backend_is_found_and_its_root_lockfile_is_mentioned(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": '{"workspaces": ["apps/*"]}', "package-lock.json": "{}",
                           "apps/api/package.json": EXPRESS, "apps/api/index.js": "app.listen(process.env.PORT||8787)"})
    backend = detect_backend(tmp_path)
    assert backend is not None and (backend.path, backend.port, backend.lockfile) == ("apps/api", 8787, None)
    assert any("lockfile is at the repository root" in note for note in backend.notes)


def test_a_frontend_dockerfile_that_serves_with_nginx_gets_a_portside_one(tmp_path: Path) -> None:
    write_files(tmp_path, {"frontend/package.json": '{"devDependencies": {"vite": "5"}}', "frontend/Dockerfile":
                           "FROM node:20 AS b\nRUN npm run build\nFROM nginx\nCOPY --from=b /app/dist "
                           "/usr/share/nginx/html\n"})
    found = detect_frontend(tmp_path)
    assert found is not None and found.dockerfile == "Dockerfile.portside"
    write_files(tmp_path, {"frontend/Dockerfile": "FROM node:20 AS b\nFROM scratch\nCOPY --from=b /src/dist/ /site/\n"})
    found = detect_frontend(tmp_path)
    assert found is not None and found.dockerfile == "Dockerfile"


def test_their_backend_dockerfile_is_read_and_its_problems_said(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": EXPRESS, "backend/Dockerfile":
                           "FROM node:20-alpine\nCOPY . .\nEXPOSE 8080\nCMD [\"node\", \"index.js\"]\n"})
    backend = detect_backend(tmp_path)
    assert backend is not None and backend.own_dockerfile and backend.port == 8080
    text = " ".join(backend.notes)
    assert "names its base image (node:20-alpine)" in text and "ARG BASE_IMAGE=node:20-alpine" in text
    assert "runs as root" in text and "USER 10001" in text


def test_a_procfile_command_becomes_the_container_command(tmp_path: Path) -> None:
    write_files(tmp_path, {"server/requirements.txt": "flask\ngunicorn\n", "server/Procfile":
                           "release: flask db upgrade\nweb: gunicorn 'bookshelf:create_app()' --bind 127.0.0.1:$PORT "
                           "--workers 3 --reload\n"})
    backend = detect_backend(tmp_path)
    assert backend is not None
    assert backend.command == ("gunicorn", "bookshelf:create_app()", "--workers", "3", "--forwarded-allow-ips", "*",
                               "--bind", "0.0.0.0:8000")


def test_python_servers_the_project_does_not_list_are_added(tmp_path: Path) -> None:
    write_files(tmp_path, {"api/requirements.txt": "fastapi\n", "api/main.py": "app = FastAPI()\n"})
    backend = detect_backend(tmp_path)
    assert backend is not None and backend.extra_packages == ("uvicorn",) and backend.command[:2] == (
        "uvicorn", "main:app")


def test_dependency_and_build_folders_are_not_read(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/package.json": EXPRESS, "backend/index.js": "app.listen(process.env.PORT)",
                           "backend/node_modules/x/index.js": "app.listen(9999)",
                           "backend/dist/index.js": "app.listen(9998)"})
    backend = detect_backend(tmp_path)
    assert backend is not None and backend.port == 3000


def test_frontend_and_backend_in_one_folder_is_said(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": '{"dependencies": {"express": "4", "vite": "5"}}'})
    found = detect(tmp_path)
    assert found.frontend is not None and found.backend is not None
    assert any("share ./" in note for note in found.all_notes)


def test_a_pipfile_only_backend_is_told_what_the_dockerfile_needs(tmp_path: Path) -> None:
    write_files(tmp_path, {"backend/Pipfile": '[packages]\nflask = "*"\n', "backend/app.py": "app = Flask(__name__)\n"})
    backend = detect_backend(tmp_path)
    assert backend is not None and backend.framework == "flask"
    assert any("pipenv requirements > requirements.txt" in note for note in backend.notes)
