"""Framework production settings."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "PS119": {
        "en": Text("Django runs with {detail}",
                   "Every error page shows code, settings and environment to visitors, and Django keeps every SQL "
                   "query in memory.",
                   "DEBUG = os.environ.get(\"DJANGO_DEBUG\") == \"1\" (off unless set), and set it on your machine "
                   "only."),
        "ko": Text("Django가 {detail}로 실행됩니다",
                   "모든 오류 페이지가 방문자에게 코드, 설정, 환경 변수를 보여 주고, Django가 모든 SQL 쿼리를 "
                   "메모리에 쌓습니다.",
                   "DEBUG = os.environ.get(\"DJANGO_DEBUG\") == \"1\"로 바꾸고(설정하지 않으면 꺼짐) 내 컴퓨터에서만 "
                   "켜세요."),
    },
    "PS120": {
        "en": Text("Django {detail}",
                   "With DEBUG off, Django answers 400 Bad Request to every request for your domain.",
                   "ALLOWED_HOSTS = [\"your-domain\"], or read it from the environment: "
                   "os.environ[\"DJANGO_ALLOWED_HOSTS\"].split(\",\")."),
        "ko": Text("Django {detail}",
                   "DEBUG가 꺼져 있으면 Django가 내 도메인으로 온 모든 요청에 400 Bad Request로 답합니다.",
                   "ALLOWED_HOSTS = [\"내-도메인\"]으로 쓰거나 환경 변수에서 읽으세요: "
                   "os.environ[\"DJANGO_ALLOWED_HOSTS\"].split(\",\")."),
    },
    "PS121": {
        "en": Text("Flask debug mode is on ({detail})",
                   "The Werkzeug debugger lets anyone who triggers an error run Python code on your server.",
                   "Remove debug=True; start the app with gunicorn (portside's Dockerfile does) and use "
                   "FLASK_DEBUG=1 on your machine only."),
        "ko": Text("Flask 디버그 모드가 켜져 있습니다 ({detail})",
                   "Werkzeug 디버거는 오류를 일으킨 누구나 서버에서 Python 코드를 실행하게 해 줍니다.",
                   "debug=True를 지우고 gunicorn으로 시작하세요(portside의 Dockerfile이 그렇게 합니다). "
                   "FLASK_DEBUG=1은 내 컴퓨터에서만 쓰세요."),
    },
    "PS122": {
        "en": Text("All Spring Boot actuator endpoints are exposed ({detail})",
                   "/actuator/env, /heapdump and /loggers leak secrets and let visitors change the running app.",
                   "management.endpoints.web.exposure.include=health,info, and keep any other endpoint behind "
                   "authentication."),
        "ko": Text("Spring Boot actuator 엔드포인트가 모두 공개되어 있습니다 ({detail})",
                   "/actuator/env, /heapdump, /loggers는 비밀 정보를 유출하고 방문자가 실행 중인 앱을 바꾸게 합니다.",
                   "management.endpoints.web.exposure.include=health,info로 바꾸고, 다른 엔드포인트는 인증 뒤에 "
                   "두세요."),
    },
    "PS123": {
        "en": Text("CORS allows any origin with credentials ({detail})",
                   "Any website can then send logged-in requests to your API and read the answers; with a literal "
                   "'*', browsers refuse every credentialed request instead.",
                   "Behind portside the page and the API share one origin, so remove the CORS setup; otherwise "
                   "list the exact origins that may call the API."),
        "ko": Text("CORS가 자격 증명과 함께 모든 출처를 허용합니다 ({detail})",
                   "어떤 웹사이트든 로그인된 요청을 API에 보내고 응답을 읽을 수 있습니다. '*'를 그대로 쓰면 "
                   "브라우저가 자격 증명이 있는 요청을 모두 거부합니다.",
                   "portside 뒤에서는 페이지와 API가 한 출처이므로 CORS 설정을 지우세요. 그렇지 않다면 API를 호출할 "
                   "수 있는 출처를 정확히 나열하세요."),
    },
    "PS124": {
        "en": Text("CORS is configured but not needed behind one origin ({detail})",
                   "portside serves the page and the API from one origin, so the browser never makes a "
                   "cross-origin call; CORS settings only widen who may call the API.",
                   "Remove the CORS setup (keep it only for other sites that must call this API, with their exact "
                   "origins)."),
        "ko": Text("CORS가 설정되어 있지만 한 출처 뒤에서는 필요 없습니다 ({detail})",
                   "portside는 페이지와 API를 한 출처로 제공하므로 브라우저는 교차 출처 호출을 하지 않습니다. "
                   "CORS 설정은 API를 호출할 수 있는 곳만 넓힙니다.",
                   "CORS 설정을 지우세요(이 API를 꼭 호출해야 하는 다른 사이트가 있다면 그 출처만 정확히 남기세요)."),
    },
    "PS125": {
        "en": Text("The gateway's API prefix and the backend's routes disagree: {detail}",
                   "Every API call would reach the backend at a path it does not serve: 404.",
                   "Set gateway.strip_prefix = {want} in portside.toml (and backend.health_path to match)."),
        "ko": Text("게이트웨이의 API 접두어와 백엔드 경로가 맞지 않습니다: {detail}",
                   "모든 API 호출이 백엔드가 제공하지 않는 경로로 가서 404가 됩니다.",
                   "portside.toml에서 gateway.strip_prefix = {want}로 바꾸세요(backend.health_path도 맞추세요)."),
    },
}
