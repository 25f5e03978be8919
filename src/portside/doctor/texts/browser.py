"""What reaches the browser."""

from __future__ import annotations

from portside.doctor.text import Text

CHECKS: dict[str, dict[str, Text]] = {
    "PS114": {
        "en": Text("Secret in a variable shipped to every browser: {detail}",
                   "Variables with this prefix are written into the JavaScript bundle at build time: anyone who "
                   "opens the site can read them.",
                   "Keep the secret on the backend and let the frontend call the backend. If the value is meant to "
                   "be public (a Firebase web key, a Maps key restricted by referrer), accept it in "
                   ".portside-doctor.toml with that reason."),
        "ko": Text("모든 브라우저에 배포되는 변수에 비밀 정보가 있습니다: {detail}",
                   "이 접두어가 붙은 변수는 빌드할 때 JavaScript 번들에 그대로 들어갑니다. 사이트를 여는 누구나 "
                   "읽을 수 있습니다.",
                   "비밀은 백엔드에 두고 프런트엔드는 백엔드를 호출하게 하세요. 공개용 값이라면(Firebase 웹 키, "
                   "리퍼러로 제한한 지도 키) .portside-doctor.toml에 그 이유와 함께 적으세요."),
    },
    "PS115": {
        "en": Text("Plain http:// call from the frontend: {detail}",
                   "A page served over https cannot call http:// URLs: browsers block it as mixed content.",
                   "Use the https:// address of that service."),
        "ko": Text("프런트엔드가 평문 http://를 호출합니다: {detail}",
                   "https로 제공되는 페이지는 http:// 주소를 호출할 수 없습니다. 브라우저가 혼합 콘텐츠로 차단합니다.",
                   "그 서비스의 https:// 주소를 쓰세요."),
    },
}

NOTES = {
    "strip": {"en": "; the backend's routes do not start with {prefix}, so also set gateway.strip_prefix = true "
                    "in portside.toml",
              "ko": ". 백엔드 경로가 {prefix}로 시작하지 않으니 portside.toml에 gateway.strip_prefix = true도 "
                    "설정하세요"},
    "built": {"en": " in the source; this is a committed build file, so rebuild and stop committing the build "
                    "output",
              "ko": ". 이 파일은 커밋된 빌드 결과물이니 소스를 고친 뒤 다시 빌드하고, 빌드 결과물은 커밋하지 "
                    "마세요"},
}
