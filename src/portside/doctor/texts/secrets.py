"""Secrets in the repository."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "PS112": {
        "en": Text("Possible secret found by detect-secrets: {detail}",
                   "A credential in the repository can be read by everyone with access to it, and stays in the "
                   "history after you delete it.",
                   "Move it to the server (backend.env_file) or a CI secret variable, and change it. If it is not "
                   "a secret: add '# pragma: allowlist secret' to the line, or record it with 'detect-secrets scan "
                   "--baseline .secrets.baseline', or accept it in .portside-doctor.toml with a reason."),
        "ko": Text("detect-secrets가 비밀 정보로 보이는 값을 찾았습니다: {detail}",
                   "저장소의 자격 증명은 접근 권한이 있는 누구나 읽을 수 있고, 지워도 히스토리에 남습니다.",
                   "서버(backend.env_file)나 CI 비밀 변수로 옮기고 값을 바꾸세요. 비밀이 아니라면 그 줄에 "
                   "'# pragma: allowlist secret'을 붙이거나, 'detect-secrets scan --baseline .secrets.baseline'으로 "
                   "기록하거나, .portside-doctor.toml에 이유와 함께 적으세요."),
    },
    "PS113": {
        "en": Text("Credential in a framework config file: {detail}",
                   "Framework config files are committed with the code: a password or key written there is known "
                   "to everyone who can read the repository.",
                   "Reference an environment variable instead (Spring: ${{DB_PASSWORD}}; Django: "
                   "os.environ[\"SECRET_KEY\"]; .npmrc: ${{NPM_TOKEN}}; appsettings.json: an environment variable), "
                   "give the value to portside with backend.env_file on the server, and change it."),
        "ko": Text("프레임워크 설정 파일에 자격 증명이 있습니다: {detail}",
                   "프레임워크 설정 파일은 코드와 함께 커밋됩니다. 여기 적은 비밀번호나 키는 저장소를 읽을 수 있는 "
                   "모두가 압니다.",
                   "환경 변수를 참조하게 바꾸고(Spring: ${{DB_PASSWORD}}, Django: os.environ[\"SECRET_KEY\"], "
                   ".npmrc: ${{NPM_TOKEN}}, appsettings.json: 환경 변수), 값은 서버의 backend.env_file로 "
                   "portside에 전달한 뒤 교체하세요."),
    },
}
