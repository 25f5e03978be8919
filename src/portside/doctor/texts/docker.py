"""Dockerfiles and build contexts."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "PS116": {
        "en": Text("The build context sends {detail} into the image",
                   "COPY . (or ADD .) copies everything in {context}/ that no .dockerignore excludes: env files, "
                   "keys and .git end up in image layers that anyone with the image can read.",
                   "Add {entries} to {ignore} ('portside doctor --fix' does it), then rebuild; change any secret "
                   "an image already pushed somewhere contains."),
        "ko": Text("빌드 컨텍스트가 {detail}을(를) 이미지에 넣습니다",
                   "COPY . (또는 ADD .)은 {context}/에서 .dockerignore가 제외하지 않은 모든 것을 복사합니다. "
                   "env 파일, 키, .git이 이미지를 가진 누구나 읽을 수 있는 레이어에 들어갑니다.",
                   "{ignore}에 {entries}를 추가하고('portside doctor --fix'가 해 줍니다) 다시 빌드하세요. "
                   "이미 어딘가에 올라간 이미지에 들어간 비밀은 교체하세요."),
    },
    "PS117": {
        "en": Text("Dockerfile lint (hadolint): {detail}",
                   "hadolint checks Dockerfiles against Docker's best practices and ShellCheck.",
                   "See https://github.com/hadolint/hadolint/wiki/{code}. To accept it, put '# hadolint "
                   "ignore={code}' above the line, list it in .hadolint.yaml, or accept it in .portside-doctor.toml."),
        "ko": Text("Dockerfile 점검(hadolint): {detail}",
                   "hadolint는 Docker 모범 사례와 ShellCheck 기준으로 Dockerfile을 점검합니다.",
                   "https://github.com/hadolint/hadolint/wiki/{code}를 보세요. 받아들이려면 그 줄 위에 '# hadolint "
                   "ignore={code}'를 적거나 .hadolint.yaml 또는 .portside-doctor.toml에 적으세요."),
    },
    "PS118": {
        "en": Text("Development server or mode in production: {detail}",
                   "Development servers (flask run, runserver, vite, nodemon, --reload) are slow, single-process "
                   "and watch files; development modes show stack traces and debuggers to visitors.",
                   "Start the production server (gunicorn, uvicorn without --reload, node server.js, or a static "
                   "build that nginx serves) and keep development settings on your machine."),
        "ko": Text("프로덕션에 개발 서버나 개발 모드가 있습니다: {detail}",
                   "개발 서버(flask run, runserver, vite, nodemon, --reload)는 느리고 단일 프로세스이며 파일을 "
                   "감시합니다. 개발 모드는 방문자에게 스택 트레이스와 디버거를 보여 줍니다.",
                   "프로덕션 서버(gunicorn, --reload 없는 uvicorn, node server.js, 또는 nginx가 제공하는 정적 빌드)로 "
                   "시작하고 개발 설정은 내 컴퓨터에만 두세요."),
    },
}
