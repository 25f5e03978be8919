"""What each host-hardening check (doctor/hardening.py) means, why it matters and how to fix it, in English
and Korean. Merged into doctor.messages.CHECKS by doctor/hardening.py."""

from __future__ import annotations

from portside.doctor.messages import Text

SETUP = "portside server setup"

HARDENING: dict[str, dict[str, Text]] = {
    "HS310": {
        "en": Text("root can log in over SSH ({detail})",
                   "Bots try root's password and stolen keys all day; a root login is the whole machine.",
                   f"Run '{SETUP}' (PermitRootLogin no, after a key login as the deploy user was proven)."),
        "ko": Text("root로 SSH 로그인할 수 있습니다 ({detail})",
                   "봇이 하루 종일 root 비밀번호와 유출된 키를 시도합니다. root 로그인은 곧 서버 전체입니다.",
                   f"'{SETUP}'을 실행하세요 (deploy 사용자의 키 로그인을 확인한 뒤 PermitRootLogin no)."),
    },
    "HS311": {
        "en": Text("SSH accepts passwords ({detail})",
                   "A password can be guessed or reused from another leak; a key cannot.",
                   f"Run '{SETUP}' (PasswordAuthentication and KbdInteractiveAuthentication no)."),
        "ko": Text("SSH가 비밀번호를 받습니다 ({detail})",
                   "비밀번호는 추측되거나 다른 유출에서 재사용될 수 있지만 키는 그렇지 않습니다.",
                   f"'{SETUP}'을 실행하세요 (PasswordAuthentication, KbdInteractiveAuthentication no)."),
    },
    "HS312": {
        "en": Text("sshd setting differs from portside's: {detail}",
                   "Each of these narrows what a stolen session or a guessed account can do (who may log in, "
                   "how many tries, forwarding).",
                   f"Run '{SETUP}'; if it says another file overrides the setting, remove that line there."),
        "ko": Text("sshd 설정이 portside 설정과 다릅니다: {detail}",
                   "이 설정들은 탈취된 세션이나 추측된 계정이 할 수 있는 일(로그인 가능 사용자, 시도 횟수, 포워딩)을 "
                   "좁힙니다.",
                   f"'{SETUP}'을 실행하세요. 다른 파일이 설정을 덮어쓴다고 나오면 그 파일의 해당 줄을 지우세요."),
    },
    "HS313": {
        "en": Text("No default-deny inbound firewall ({detail})",
                   "Every service that listens on a public address (a database, a debug port) is open to the "
                   "internet.",
                   f"Run '{SETUP}' (nftables table inet portside, or ufw when it is installed)."),
        "ko": Text("기본 차단 인바운드 방화벽이 없습니다 ({detail})",
                   "공인 주소에서 대기하는 모든 서비스(데이터베이스, 디버그 포트)가 인터넷에 열립니다.",
                   f"'{SETUP}'을 실행하세요 (nftables의 inet portside 테이블, ufw가 있으면 ufw)."),
    },
    "HS314": {
        "en": Text("The firewall lets in more than SSH, 80 and 443: {detail}",
                   "Only 80/443 (and SSH) should face the internet; other ports are blocked on some networks and "
                   "invite scans.",
                   f"Rerun '{SETUP}' without the extra --port, or remove the rule (ufw delete ...)."),
        "ko": Text("방화벽이 SSH, 80, 443 외의 포트를 엽니다: {detail}",
                   "인터넷에는 80/443(과 SSH)만 열려야 합니다. 다른 포트는 일부 네트워크에서 막히고 스캔을 부릅니다.",
                   f"추가 --port 없이 '{SETUP}'을 다시 실행하거나 규칙을 지우세요 (ufw delete ...)."),
    },
    "HS315": {
        "en": Text("Containers can be reached from outside ({detail})",
                   "Docker-published ports are forwarded, so they bypass ufw and INPUT rules (moby #4737): a "
                   "database published on 0.0.0.0 is on the internet.",
                   f"Run '{SETUP}' (a forward chain that drops new connections from outside to containers)."),
        "ko": Text("외부에서 컨테이너에 접속할 수 있습니다 ({detail})",
                   "Docker가 게시한 포트는 포워딩되므로 ufw와 INPUT 규칙을 우회합니다 (moby #4737). 0.0.0.0에 "
                   "게시된 데이터베이스는 인터넷에 열립니다.",
                   f"'{SETUP}'을 실행하세요 (외부에서 컨테이너로 가는 새 연결을 막는 forward 체인)."),
    },
    "HS316": {
        "en": Text("The firewall is not loaded at boot ({detail})",
                   "After the next reboot the machine would be open until someone notices.",
                   f"Run '{SETUP}' (it enables portside-firewall.service)."),
        "ko": Text("부팅 시 방화벽이 적용되지 않습니다 ({detail})",
                   "다음 재부팅 뒤 누군가 알아챌 때까지 서버가 열려 있게 됩니다.",
                   f"'{SETUP}'을 실행하세요 (portside-firewall.service를 켭니다)."),
    },
    "HS317": {
        "en": Text("Unattended upgrades: {detail}",
                   "Security fixes should arrive without a person, but only security fixes, without a reboot, "
                   "and never Docker (an unattended containerd upgrade has stopped dockerd: docker/for-linux "
                   "#1155).",
                   f"Run '{SETUP}' (it writes /etc/apt/apt.conf.d/52portside-unattended-upgrades)."),
        "ko": Text("자동 업그레이드: {detail}",
                   "보안 패치는 사람 없이 적용되어야 하지만, 보안 패치만, 재부팅 없이, Docker는 제외해야 합니다 "
                   "(containerd 자동 업그레이드가 dockerd를 멈춘 사례: docker/for-linux #1155).",
                   f"'{SETUP}'을 실행하세요 (/etc/apt/apt.conf.d/52portside-unattended-upgrades를 씁니다)."),
    },
    "HS318": {
        "en": Text("fail2ban: {detail}",
                   "Without it, every address may keep guessing SSH logins.",
                   f"Run '{SETUP}' (an sshd jail on the systemd journal)."),
        "ko": Text("fail2ban: {detail}",
                   "fail2ban이 없으면 어떤 주소든 SSH 로그인을 계속 추측할 수 있습니다.",
                   f"'{SETUP}'을 실행하세요 (systemd 저널을 읽는 sshd jail)."),
    },
    "HS319": {
        "en": Text("portside's service unit: {detail}",
                   "'portside serve' (webhooks, renewals) should run as its own unprivileged, sandboxed user and "
                   "start at boot.",
                   f"Run '{SETUP}' (it installs the unit from 'portside export systemd' and enables it)."),
        "ko": Text("portside 서비스 유닛: {detail}",
                   "'portside serve'(웹훅, 인증서 갱신)는 전용 비특권 사용자로 샌드박스 안에서 실행되고 부팅 시 "
                   "시작되어야 합니다.",
                   f"'{SETUP}'을 실행하세요 ('portside export systemd'의 유닛을 설치하고 켭니다)."),
    },
    "HS320": {
        "en": Text("Accounts: {detail}",
                   "The deploy account is the way in (with a key); the service account must not be a login.",
                   f"Run '{SETUP} --ssh-key ~/.ssh/id_ed25519.pub'."),
        "ko": Text("계정: {detail}",
                   "deploy 계정이 (키로) 들어오는 길이고, 서비스 계정은 로그인 계정이면 안 됩니다.",
                   f"'{SETUP} --ssh-key ~/.ssh/id_ed25519.pub'을 실행하세요."),
    },
    "HS321": {
        "en": Text("{detail} may run anything as root without a password",
                   "That account is root-equivalent: a stolen key for it is the whole machine.",
                   f"Rerun '{SETUP}' without --sudo-all to keep only portside's narrow rules."),
        "ko": Text("{detail} 계정이 비밀번호 없이 root로 무엇이든 실행할 수 있습니다",
                   "그 계정은 root와 같습니다. 그 계정의 키가 유출되면 서버 전체가 넘어갑니다.",
                   f"--sudo-all 없이 '{SETUP}'을 다시 실행해 portside의 좁은 규칙만 남기세요."),
    },
    "HS322": {
        "en": Text("IP forwarding is off while Docker is installed ({detail})",
                   "Containers then lose their network; hardening roles that set ip_forward=0 break Docker "
                   "(dev-sec #213). portside never changes it.",
                   "Find what set it (grep -r ip_forward /etc/sysctl.conf /etc/sysctl.d) and remove that line; "
                   "Docker turns it on at start."),
        "ko": Text("Docker가 설치되어 있는데 IP 포워딩이 꺼져 있습니다 ({detail})",
                   "그러면 컨테이너가 네트워크를 잃습니다. ip_forward=0을 설정하는 하드닝 롤이 Docker를 망가뜨립니다 "
                   "(dev-sec #213). portside는 이 값을 바꾸지 않습니다.",
                   "누가 설정했는지 찾아(grep -r ip_forward /etc/sysctl.conf /etc/sysctl.d) 그 줄을 지우세요. "
                   "Docker가 시작할 때 켭니다."),
    },
    "HS323": {
        "en": Text("Some host checks could not run: {detail}",
                   "They read sshd's and the firewall's effective settings, which needs root.",
                   "Run 'sudo portside doctor --live host' (or 'sudo portside server check')."),
        "ko": Text("일부 호스트 검사를 실행하지 못했습니다: {detail}",
                   "sshd와 방화벽의 실제 설정을 읽으려면 root 권한이 필요합니다.",
                   "'sudo portside doctor --live host'(또는 'sudo portside server check')로 실행하세요."),
    },
    "HS324": {
        "en": Text("The record of 'portside server setup' cannot be read: {detail}",
                   "It says which accounts and ports setup was asked for; without it the host checks compare the "
                   "server with setup's defaults, which may flag what you chose on purpose.",
                   f"Run '{SETUP}' again with the options you used (it rewrites the record), or remove the file."),
        "ko": Text("'portside server setup'의 기록을 읽을 수 없습니다: {detail}",
                   "이 기록은 setup에 요청한 계정과 포트를 담고 있습니다. 기록이 없으면 호스트 검사가 setup의 기본값과 "
                   "비교하므로 일부러 고른 설정도 문제로 표시될 수 있습니다.",
                   f"사용했던 옵션으로 '{SETUP}'을 다시 실행하거나(기록을 다시 씁니다) 파일을 지우세요."),
    },
}
