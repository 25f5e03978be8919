"""Published ports, databases and command lines."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "PS109": {
        "en": Text("Password on a command line: {detail}",
                   "Command lines are visible to every user of the machine (ps, /proc) and end up in shell "
                   "history, CI logs and the repository.",
                   "Read it from a file or the environment instead (docker run --env-file, a CI secret variable); "
                   "for a portside app use backend.env_file on the server. Then change the password."),
        "ko": Text("명령줄에 비밀번호가 있습니다: {detail}",
                   "명령줄은 서버의 모든 사용자에게 보이고(ps, /proc) 셸 기록, CI 로그, 저장소에 남습니다.",
                   "파일이나 환경 변수에서 읽게 하세요(docker run --env-file, CI 비밀 변수). portside 앱은 서버의 "
                   "backend.env_file을 쓰세요. 그리고 비밀번호를 바꾸세요."),
    },
    "PS110": {
        "en": Text("Container uses the host network ({detail})",
                   "Every port the container listens on opens on the host's interfaces, with no port mapping and "
                   "often past the firewall.",
                   "Use a bridge network and publish only what must be reached, on loopback "
                   "(e.g. -p 127.0.0.1:8000:8000); the backend reaches its database over the network."),
        "ko": Text("컨테이너가 호스트 네트워크를 씁니다 ({detail})",
                   "컨테이너가 여는 모든 포트가 포트 매핑 없이 호스트 인터페이스에 열리고, 방화벽도 자주 우회합니다.",
                   "브리지 네트워크를 쓰고 꼭 필요한 포트만 루프백에 공개하세요(예: -p 127.0.0.1:8000:8000). "
                   "백엔드는 도커 네트워크로 DB에 접속합니다."),
    },
}
