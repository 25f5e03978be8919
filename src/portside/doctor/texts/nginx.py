"""nginx in front of a single-page app and its API."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "NG210": {
        "en": Text("Single-page app without an index.html fallback ({detail})",
                   "Deep links and reloads such as /board/42 answer 404: only / loads the app.",
                   "location / {{ try_files $uri $uri/ /index.html; }} ('portside doctor --fix' adds it)."),
        "ko": Text("index.html 대체 경로가 없는 SPA ({detail})",
                   "/board/42 같은 딥 링크나 새로 고침이 404가 됩니다. /에서만 앱이 열립니다.",
                   "location / {{ try_files $uri $uri/ /index.html; }}를 추가하세요('portside doctor --fix')."),
    },
    "NG211": {
        "en": Text("Old TLS protocols enabled: {detail}",
                   "SSL and TLS 1.0/1.1 are broken and refused by current browsers; offering them invites downgrade "
                   "attacks.",
                   "ssl_protocols TLSv1.2 TLSv1.3; ('portside doctor --fix' sets it)."),
        "ko": Text("오래된 TLS 프로토콜이 켜져 있습니다: {detail}",
                   "SSL과 TLS 1.0/1.1은 깨졌고 최신 브라우저가 거부합니다. 남겨 두면 다운그레이드 공격을 부릅니다.",
                   "ssl_protocols TLSv1.2 TLSv1.3;로 바꾸세요('portside doctor --fix')."),
    },
    "NG212": {
        "en": Text("Weak TLS ciphers allowed: {detail}",
                   "RC4, DES/3DES, MD5, export and anonymous suites can be broken, or a connection downgraded to "
                   "them.",
                   "Use Mozilla's intermediate list (what portside renders; 'portside doctor --fix' sets it)."),
        "ko": Text("약한 TLS 암호가 허용됩니다: {detail}",
                   "RC4, DES/3DES, MD5, export, 익명 암호군은 깨지거나 연결이 그쪽으로 강등될 수 있습니다.",
                   "Mozilla intermediate 목록을 쓰세요(portside가 생성하는 값, 'portside doctor --fix')."),
    },
    "NG213": {
        "en": Text("Directory listing is on ({detail})",
                   "Anyone can list the files under the web root, including backups and files you never linked.",
                   "autoindex off; ('portside doctor --fix')."),
        "ko": Text("디렉터리 목록이 켜져 있습니다 ({detail})",
                   "누구나 웹 루트 아래 파일 목록을 볼 수 있습니다. 백업이나 링크하지 않은 파일도 포함됩니다.",
                   "autoindex off;로 바꾸세요('portside doctor --fix')."),
    },
    "NG214": {
        "en": Text("nginx shows its version ({detail})",
                   "The exact version in every response and error page tells attackers which known bugs to try.",
                   "server_tokens off; ('portside doctor --fix')."),
        "ko": Text("nginx가 버전을 드러냅니다 ({detail})",
                   "모든 응답과 오류 페이지의 정확한 버전은 공격자에게 시도할 알려진 버그를 알려 줍니다.",
                   "server_tokens off;로 바꾸세요('portside doctor --fix')."),
    },
    "NG215": {
        "en": Text("WebSocket location with a short read timeout ({detail})",
                   "nginx closes a WebSocket that is quiet for proxy_read_timeout (60s by default): signaling and "
                   "chat connections drop every minute.",
                   "proxy_read_timeout 3600s; proxy_send_timeout 3600s; in that location, or ping from the app "
                   "more often than the timeout."),
        "ko": Text("읽기 타임아웃이 짧은 WebSocket location ({detail})",
                   "nginx는 proxy_read_timeout(기본 60초) 동안 조용한 WebSocket을 닫습니다. 시그널링과 채팅 연결이 "
                   "1분마다 끊깁니다.",
                   "그 location에 proxy_read_timeout 3600s; proxy_send_timeout 3600s;를 두거나, 앱에서 타임아웃보다 "
                   "자주 ping을 보내세요."),
    },
    "NG216": {
        "en": Text("Buffering or gzip on Server-Sent Events ({detail})",
                   "nginx holds back buffered or compressed event streams: events arrive late or in bursts.",
                   "In the streaming location: proxy_buffering off; proxy_cache off; (or send 'X-Accel-Buffering: "
                   "no' from the app), and keep text/event-stream out of gzip_types."),
        "ko": Text("Server-Sent Events에 버퍼링이나 gzip이 걸려 있습니다 ({detail})",
                   "nginx가 버퍼링하거나 압축하는 이벤트 스트림은 늦게 또는 몰아서 도착합니다.",
                   "스트리밍 location에 proxy_buffering off; proxy_cache off;를 두거나(앱에서 'X-Accel-Buffering: "
                   "no'를 보내도 됩니다) gzip_types에서 text/event-stream을 빼세요."),
    },
    "NG217": {
        "en": Text("location and backend routes disagree: {detail}",
                   "The backend receives paths it has no routes for{note}: every API call is a 404.",
                   "{want} ('portside doctor --fix')."),
        "ko": Text("location과 백엔드 경로가 맞지 않습니다: {detail}",
                   "백엔드가 경로가 없는 주소를 받습니다{note}. 모든 API 호출이 404가 됩니다.",
                   "{want}로 바꾸세요('portside doctor --fix')."),
    },
    "NG218": {
        "en": Text("HTTP/2 is off ({detail})",
                   "A single-page app loads many files: over HTTP/1.1 the browser queues them on a few connections, "
                   "over HTTP/2 they share one.",
                   "nginx 1.25.1 or later: http2 on; in the server. Older nginx: listen 443 ssl http2;"),
        "ko": Text("HTTP/2가 꺼져 있습니다 ({detail})",
                   "SPA는 파일을 많이 받습니다. HTTP/1.1에서는 몇 개 연결에 줄을 서고, HTTP/2에서는 한 연결을 "
                   "함께 씁니다.",
                   "nginx 1.25.1 이상: server에 http2 on;, 그보다 오래된 nginx: listen 443 ssl http2;"),
    },
}

NOTES = {
    "routes_none": {"en": " (no route starts with {prefix})", "ko": "({prefix}로 시작하는 경로가 없음)"},
    "routes_all": {"en": " (its routes start with {prefix})", "ko": "(경로가 {prefix}로 시작함)"},
}
