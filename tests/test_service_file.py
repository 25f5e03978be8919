"""service.json: one writer (serve's start) and one reader for the gateway's proxy port and for 'portside deploy'
asking whether serve runs."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

from portside.adapters.service_file import record_service, service_answers, service_port
from portside.core.config import SERVICE_PORT, SERVICE_PREFIX


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == f"{SERVICE_PREFIX}/health" else 404)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_the_port_is_what_serve_recorded_else_the_default(tmp_path: Path) -> None:
    assert service_port(tmp_path) == SERVICE_PORT
    (tmp_path / "service.json").write_text("not json")
    assert service_port(tmp_path) == SERVICE_PORT
    record_service(tmp_path, "127.0.0.1", 7123)
    assert service_port(tmp_path) == 7123


def test_serve_answers_only_when_its_health_endpoint_does(tmp_path: Path) -> None:
    assert not service_answers(tmp_path)  # never started
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        record_service(tmp_path, "127.0.0.1", server.server_port)
        assert service_answers(tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert not service_answers(tmp_path)  # recorded, but nothing listens any more
