"""What each doctor check means, why it matters and how to fix it, in English and Korean.

Many of the teams who deploy this way for the first time are Korean student teams, so every message
exists in both languages. Placeholders in braces are filled from the finding's details.
"""

from __future__ import annotations

from portside.doctor.text import Text
from portside.doctor.texts import ALL, NOTES

__all__ = ["CHECKS", "NOTES", "Text"]

CHECKS: dict[str, dict[str, Text]] = {
    "PS101": {
        "en": Text("Frontend calls the API by an absolute origin or port: {detail}",
                   "A page on https://your-domain that calls another origin or port ({detail}) hits CORS errors, "
                   "mixed-content blocks, or ports that some networks block; a localhost address even calls the "
                   "visitor's own machine.",
                   "Replace {detail} with {replacement}{note}. The gateway serves page and API from one origin."),
        "ko": Text("프런트엔드가 API를 절대 주소나 포트로 호출합니다: {detail}",
                   "https://도메인 페이지에서 다른 출처나 포트({detail})를 호출하면 CORS 오류, 혼합 콘텐츠 차단, "
                   "일부 네트워크의 포트 차단을 겪습니다. localhost 주소는 방문자 자신의 컴퓨터를 호출합니다.",
                   "{detail}을(를) {replacement}(으)로 바꾸세요{note}. 게이트웨이가 페이지와 API를 한 출처로 "
                   "제공합니다."),
    },
    "PS102": {
        "en": Text("Dockerfile runs as root ({detail})",
                   "If the app is compromised, the attacker is root inside the container, one step from the host.",
                   "Add a user and switch to it: RUN useradd --uid 10001 app, then USER 10001."),
        "ko": Text("Dockerfile이 root로 실행됩니다 ({detail})",
                   "앱이 뚫리면 공격자가 컨테이너 안에서 root가 되어 호스트까지 한 걸음입니다.",
                   "사용자를 만들고 전환하세요: RUN useradd --uid 10001 app 그리고 USER 10001."),
    },
    "PS103": {
        "en": Text("Port {detail} is published on all interfaces",
                   "Docker-published ports bypass host firewalls such as ufw: this port is open to the internet.",
                   "Publish on loopback only, e.g. \"127.0.0.1:{port}:{port}\", or not at all (use the network)."),
        "ko": Text("{detail} 포트가 모든 인터페이스에 공개됩니다",
                   "Docker로 공개한 포트는 ufw 같은 방화벽을 우회합니다. 이 포트는 인터넷에 열려 있습니다.",
                   "\"127.0.0.1:{port}:{port}\"처럼 루프백에만 공개하거나, 공개하지 말고 도커 네트워크를 쓰세요."),
    },
    "PS104": {
        "en": Text("Database port {detail} reachable from outside",
                   "A database on the internet is found and attacked within hours (ransom notes, dumped data).",
                   "Remove the published port or bind it to 127.0.0.1; the backend reaches the database over the "
                   "Docker network."),
        "ko": Text("데이터베이스 포트 {detail}가 외부에서 접근 가능합니다",
                   "인터넷에 노출된 DB는 몇 시간 안에 발견되어 공격받습니다(랜섬 메모, 데이터 유출).",
                   "공개 포트를 없애거나 127.0.0.1에만 바인딩하세요. 백엔드는 도커 네트워크로 DB에 접속합니다."),
    },
    "PS105": {
        "en": Text("Secret committed to git: {detail}",
                   "Anyone with the repository (and its history) has this secret, even after you delete the file.",
                   "Remove it from git (git rm --cached), rotate the secret, and list the file in .gitignore; "
                   "give secrets to portside with backend.env_file on the server."),
        "ko": Text("비밀 정보가 git에 커밋되었습니다: {detail}",
                   "저장소(와 히스토리)를 가진 누구나 이 비밀을 압니다. 파일을 지워도 히스토리에 남습니다.",
                   "git rm --cached로 제거하고 비밀을 교체한 뒤 .gitignore에 추가하세요. 비밀은 서버의 "
                   "backend.env_file로 전달하세요."),
    },
    "PS106": {
        "en": Text("No health endpoint found for {detail}",
                   "Without one, a deploy cannot tell a starting or broken backend from a ready one.",
                   "Add a route that answers 200 when the app is ready (e.g. GET /api/health) and set "
                   "backend.health_path."),
        "ko": Text("{detail}에 헬스 체크 엔드포인트가 없습니다",
                   "없으면 배포 중에 시작 중이거나 고장 난 백엔드와 준비된 백엔드를 구분할 수 없습니다.",
                   "준비되면 200을 돌려주는 경로(예: GET /api/health)를 만들고 backend.health_path에 적으세요."),
    },
    "PS107": {
        "en": Text("portside.toml problem: {detail}", "portside cannot deploy with this configuration.",
                   "See the message; 'portside check' explains each key."),
        "ko": Text("portside.toml 문제: {detail}", "이 설정으로는 배포할 수 없습니다.",
                   "메시지를 확인하세요. 'portside check'가 각 키를 설명합니다."),
    },
    "PS108": {
        "en": Text("Secret baked into an image layer: {detail}",
                   "Anyone who can pull the image reads it from 'docker history'.",
                   "Pass it at run time (backend.env_file) or with a build secret, never ENV/ARG in the Dockerfile."),
        "ko": Text("이미지 레이어에 비밀 정보가 들어 있습니다: {detail}",
                   "이미지를 받을 수 있는 누구나 'docker history'로 읽을 수 있습니다.",
                   "실행 시점(backend.env_file)이나 빌드 시크릿으로 전달하고, Dockerfile의 ENV/ARG에 넣지 마세요."),
    },
    "NG201": {
        "en": Text("WebSocket headers without an upgrade map ({detail})",
                   "A hard-coded Connection \"upgrade\" is sent on every request and disables upstream keepalive; "
                   "an undefined $connection_upgrade stops nginx from starting.",
                   "map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }} and "
                   "proxy_set_header Connection $connection_upgrade;"),
        "ko": Text("upgrade map 없이 WebSocket 헤더를 씁니다 ({detail})",
                   "Connection \"upgrade\"를 고정하면 모든 요청에 붙어 업스트림 keepalive가 꺼지고, 정의되지 않은 "
                   "$connection_upgrade는 nginx 시작을 막습니다.",
                   "map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}를 정의하고 "
                   "proxy_set_header Connection $connection_upgrade;를 쓰세요."),
    },
    "NG202": {
        "en": Text("proxy_pass strips the prefix in 'location {detail}' without a trailing slash",
                   "location /api with proxy_pass http://b/ turns /api/users into //users and /apix into /x.",
                   "Use location /api/ (trailing slash), or no URI in proxy_pass so /api/... reaches the backend "
                   "unchanged."),
        "ko": Text("'location {detail}'에서 끝 슬래시 없이 proxy_pass가 접두어를 잘라냅니다",
                   "location /api와 proxy_pass http://b/를 함께 쓰면 /api/users가 //users, /apix가 /x가 됩니다.",
                   "location /api/처럼 끝 슬래시를 붙이거나 proxy_pass에 URI를 빼서 /api/...를 그대로 전달하세요."),
    },
    "NG203": {
        "en": Text("Proxy without X-Forwarded-Proto ({detail})",
                   "The backend thinks requests came over http and emits http:// links and redirects (mixed "
                   "content, redirect loops).",
                   "proxy_set_header X-Forwarded-Proto $scheme; and make the app trust the proxy."),
        "ko": Text("X-Forwarded-Proto 없이 프록시합니다 ({detail})",
                   "백엔드가 http로 들어온 줄 알고 http:// 링크와 리다이렉트를 만듭니다(혼합 콘텐츠, 리다이렉트 루프).",
                   "proxy_set_header X-Forwarded-Proto $scheme;를 추가하고 앱이 프록시를 신뢰하게 하세요."),
    },
    "NG204": {
        "en": Text("OCSP stapling is on ({detail})",
                   "Let's Encrypt shut its OCSP responders in 2025: stapling only adds log noise and a resolver.",
                   "Remove ssl_stapling and ssl_stapling_verify."),
        "ko": Text("OCSP stapling이 켜져 있습니다 ({detail})",
                   "Let's Encrypt는 2025년에 OCSP 응답 서버를 닫았습니다. 로그 잡음과 resolver만 늘어납니다.",
                   "ssl_stapling과 ssl_stapling_verify를 지우세요."),
    },
    "NG205": {
        "en": Text("Default 1m upload limit on a proxied API ({detail})",
                   "Uploads over 1 MB fail with 413 Request Entity Too Large.",
                   "Set client_max_body_size to the largest upload you accept, e.g. 10m."),
        "ko": Text("프록시 API에 기본 1m 업로드 제한 ({detail})",
                   "1MB가 넘는 업로드가 413 Request Entity Too Large로 실패합니다.",
                   "받을 최대 크기로 client_max_body_size를 설정하세요(예: 10m)."),
    },
    "NG206": {
        "en": Text("Rate limit on static files ({detail})",
                   "A single-page app loads dozens of files at once; a rate limit there breaks page loads.",
                   "Put limit_req only on the API locations."),
        "ko": Text("정적 파일에 요청 제한이 걸려 있습니다 ({detail})",
                   "SPA는 한 번에 수십 개 파일을 받습니다. 여기 제한을 걸면 페이지가 깨집니다.",
                   "limit_req는 API location에만 두세요."),
    },
    "NG207": {
        "en": Text("HTTP is not redirected to HTTPS ({detail})",
                   "Users who type the domain stay on plain HTTP: passwords cross the wire in clear text.",
                   "In the port-80 server, keep the ACME challenge location and return 308 https://$host$request_uri "
                   "for everything else."),
        "ko": Text("HTTP가 HTTPS로 리다이렉트되지 않습니다 ({detail})",
                   "도메인을 입력한 사용자가 HTTP에 머물러 비밀번호가 평문으로 전송됩니다.",
                   "80 포트 서버에서 ACME 챌린지 location은 두고 나머지는 return 308 https://$host$request_uri;"
                   "로 보내세요."),
    },
    "NG208": {
        "en": Text("HSTS missing ({detail})",
                   "Without Strict-Transport-Security a first visit can be downgraded to HTTP.",
                   "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;"),
        "ko": Text("HSTS가 없습니다 ({detail})",
                   "Strict-Transport-Security가 없으면 첫 방문이 HTTP로 강등될 수 있습니다.",
                   "add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;"),
    },
    "NG209": {
        "en": Text("nginx config problem found by Gixy-Next: {detail}", "{why}", "{fix}"),
        "ko": Text("Gixy-Next가 찾은 nginx 설정 문제: {detail}", "{why}", "{fix}"),
    },
    "HS301": {
        "en": Text("Service listening on a public address: {detail}",
                   "Everything but 80, 443 and SSH should be unreachable from the internet; odd ports are also "
                   "blocked by some networks, so they work in one place and not another.",
                   "Bind it to 127.0.0.1 and reach it through the gateway, or stop it."),
        "ko": Text("공개 주소에서 대기 중인 서비스: {detail}",
                   "80, 443, SSH 말고는 인터넷에서 닿지 않아야 합니다. 임의 포트는 일부 네트워크에서 막혀 장소에 따라 "
                   "되다 안 되다 합니다.",
                   "127.0.0.1에 바인딩하고 게이트웨이를 거치게 하거나, 서비스를 멈추세요."),
    },
    "HS302": {
        "en": Text("Container runs as root: {detail}",
                   "A compromise of the app is root inside the container, one step from the host.",
                   "Set a non-root USER in the image (portside refuses root images unless allow_root = true)."),
        "ko": Text("컨테이너가 root로 실행 중입니다: {detail}",
                   "앱이 뚫리면 컨테이너 안에서 root가 되어 호스트까지 한 걸음입니다.",
                   "이미지에 root가 아닌 USER를 지정하세요(portside는 allow_root = true가 아니면 root 이미지를 거부)."),
    },
    "HS303": {
        "en": Text("Members of the docker group: {detail}",
                   "The docker group is root-equivalent: any member can mount / into a container.",
                   "Keep the group to the deploy user only; prefer rootless Docker."),
        "ko": Text("docker 그룹 구성원: {detail}",
                   "docker 그룹은 root와 같습니다. 구성원은 누구나 컨테이너에 /를 마운트할 수 있습니다.",
                   "배포 사용자만 남기고, 가능하면 rootless Docker를 쓰세요."),
    },
    "HS304": {
        "en": Text("sshd allows {detail}",
                   "Password and root logins are what internet-wide brute-force attacks try first.",
                   "In /etc/ssh/sshd_config set PermitRootLogin no and PasswordAuthentication no (keys only), then "
                   "reload sshd."),
        "ko": Text("sshd가 {detail}을(를) 허용합니다",
                   "비밀번호 로그인과 root 로그인은 인터넷 전역의 무차별 대입 공격이 가장 먼저 노리는 곳입니다.",
                   "/etc/ssh/sshd_config에서 PermitRootLogin no, PasswordAuthentication no(키만)로 바꾸고 sshd를 "
                   "다시 읽으세요."),
    },
    "HS305": {
        "en": Text("Network service runs as root: {detail}",
                   "A bug in it is a root compromise of the machine; most services can drop to their own user.",
                   "Run it as a dedicated user (systemd User=, or the service's own user setting); bind "
                   "ports below 1024 with CAP_NET_BIND_SERVICE instead of root."),
        "ko": Text("네트워크 서비스가 root로 실행 중입니다: {detail}",
                   "이 서비스의 버그가 곧 서버 전체의 root 탈취가 됩니다. "
                   "대부분의 서비스는 전용 사용자로 낮출 수 있습니다.",
                   "전용 사용자로 실행하세요(systemd User= 또는 서비스 자체 설정). 1024 미만 포트는 root 대신 "
                   "CAP_NET_BIND_SERVICE로 바인딩하세요."),
    },
    "UR401": {
        "en": Text("HTTP does not redirect to HTTPS at {detail}",
                   "Visitors who type the domain stay on plain HTTP.",
                   "Redirect port 80 to HTTPS (portside's gateway does this with a 308)."),
        "ko": Text("{detail}에서 HTTP가 HTTPS로 리다이렉트되지 않습니다",
                   "도메인을 입력한 방문자가 평문 HTTP에 머뭅니다.",
                   "80 포트를 HTTPS로 리다이렉트하세요(portside 게이트웨이는 308로 처리합니다)."),
    },
    "UR402": {
        "en": Text("Certificate problem at {detail}",
                   "Browsers show a full-page warning, and WebRTC, service workers and secure cookies stop working.",
                   "Renew it (portside certs renew) and serve the full chain (fullchain.pem, not cert.pem)."),
        "ko": Text("{detail}의 인증서 문제",
                   "브라우저가 전체 화면 경고를 띄우고 WebRTC, 서비스 워커, secure 쿠키가 동작하지 않습니다.",
                   "갱신하고(portside certs renew) 전체 체인(cert.pem이 아닌 fullchain.pem)을 제공하세요."),
    },
    "UR403": {
        "en": Text("HSTS missing at {detail}", "A first visit can be downgraded to plain HTTP.",
                   "Send Strict-Transport-Security on HTTPS responses (portside does for real domains)."),
        "ko": Text("{detail}에 HSTS가 없습니다", "첫 방문이 평문 HTTP로 강등될 수 있습니다.",
                   "HTTPS 응답에 Strict-Transport-Security를 보내세요(portside는 실제 도메인에 보냅니다)."),
    },
    "UR404": {
        "en": Text("Port 80 is closed at {detail}",
                   "Let's Encrypt validates HTTP-01 on port 80: issuance and renewal will fail.",
                   "Open port 80 in the firewall and the cloud security group."),
        "ko": Text("{detail}의 80 포트가 닫혀 있습니다",
                   "Let's Encrypt는 80 포트로 HTTP-01 검증을 하므로 발급과 갱신이 실패합니다.",
                   "방화벽과 클라우드 보안 그룹에서 80 포트를 여세요."),
    },
    "UR405": {
        "en": Text("The domain does not point at this host: {detail}",
                   "Visitors and the CA reach another machine (or none).",
                   "Fix the A/AAAA records (an AAAA record elsewhere breaks validation too)."),
        "ko": Text("도메인이 이 서버를 가리키지 않습니다: {detail}",
                   "방문자와 인증 기관이 다른 서버로 가거나 아무 데도 못 갑니다.",
                   "A/AAAA 레코드를 고치세요(다른 곳을 가리키는 AAAA도 검증을 깨뜨립니다)."),
    },
    "UR406": {
        "en": Text("WebSocket upgrade fails at {detail}",
                   "Real-time features (chat, WebRTC signaling) cannot connect through the gateway.",
                   "Proxy the WebSocket path with HTTP/1.1, Upgrade and Connection headers (portside renders this)."),
        "ko": Text("{detail}에서 WebSocket 업그레이드가 실패합니다",
                   "채팅, WebRTC 시그널링 같은 실시간 기능이 게이트웨이를 통과하지 못합니다.",
                   "WebSocket 경로를 HTTP/1.1과 Upgrade, Connection 헤더로 프록시하세요(portside가 생성합니다)."),
    },
}

CHECKS.update(ALL)  # the wider checks, one text module per family (doctor/texts/)
