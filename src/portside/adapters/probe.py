"""Probes from outside: HTTP(S) requests and a WebSocket echo, stdlib only.

Used by the demo's proof, by the tests, and later by post-switch smoke checks.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import ssl
import struct
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def tls_context(ca: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    return context


def get(url: str, ca: Path | None = None, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None, timeout: float = 10) -> Response:
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, timeout=timeout,
                                           context=tls_context(ca))
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _exchange(conn, method, path, body, headers or {})


def _exchange(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
              headers: dict[str, str]) -> Response:
    """One request on ``conn`` and its whole response; the connection is closed after."""
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def ws_echo(url: str, message: str, ca: Path | None = None, timeout: float = 10) -> str:
    """Open a WebSocket (RFC 6455), send one text frame, return the first text frame received."""
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    raw = socket.create_connection((parts.hostname or "", port), timeout=timeout)
    sock = tls_context(ca).wrap_socket(raw, server_hostname=parts.hostname) if secure else raw
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        host = parts.hostname if port in (80, 443) else f"{parts.hostname}:{port}"
        sock.sendall((f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                      f"Origin: {'https' if secure else 'http'}://{host}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed during the WebSocket handshake")
            head += chunk
        status_line = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status_line + " ":
            raise ConnectionError(f"WebSocket handshake refused: {status_line}")
        rest = head.split(b"\r\n\r\n", 1)[1]
        payload = message.encode()
        mask = os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                                  else bytes([0x80 | 126]) + struct.pack("!H", len(payload)))
        sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        data = rest
        while len(data) < 2:
            data += sock.recv(4096)
        length = data[1] & 0x7F
        offset = 2
        if length == 126:
            while len(data) < 4:
                data += sock.recv(4096)
            length = struct.unpack("!H", data[2:4])[0]
            offset = 4
        while len(data) < offset + length:
            data += sock.recv(4096)
        return data[offset:offset + length].decode()
    finally:
        sock.close()


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, with SNI and Host set to a name that may not resolve here yet."""

    def __init__(self, address: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=context)
        self._server_name = server_name
        self._ctx = context

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(raw, server_hostname=self._server_name)


def through_gateway(server_name: str, port: int, path: str, tls: bool, timeout: float = 10,
                    address: str = "127.0.0.1") -> Response:
    """GET a path from the local gateway as a browser asking for ``server_name`` would.

    Used for smoke checks: the certificate is not verified here (that is the TLS checks' job)."""
    conn: http.client.HTTPConnection
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = _PinnedHTTPS(address, port, server_name, context, timeout)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    return _exchange(conn, "GET", path, None, {"Host": server_name if port in (80, 443) else f"{server_name}:{port}"})


def replica_healthy(port: int, path: str) -> bool:
    """A backend replica answers 2xx on its health path, asked directly on its loopback port."""
    try:
        return 200 <= get(f"http://127.0.0.1:{port}{path}", timeout=2).status < 300
    except (OSError, http.client.HTTPException):
        return False
