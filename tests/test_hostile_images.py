"""Images and containers from a hostile repository cannot touch the host (review H4, M5, L10).

Unit cases feed crafted tar streams through a fake Docker client into images.extract_dir and the USER
parser; the integration cases build crafted images FROM scratch and run them through the real Docker
Engine (and, for the frontend, the normal 'portside up --local' path)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from portside.adapters import images, site_archive, uids
from portside.core.errors import BuildError

from .conftest import cli, free_port, teardown_app, write_files

SECRET = b"outside secret: must never be copied, served or made readable\n"


# -- a fake Docker client: create, get_archive, remove -------------------------------------------------

class FakeContainer:
    def __init__(self, archives: dict[str, bytes], chunk: int) -> None:
        self.archives = archives
        self.chunk = chunk
        self.removed = False
        self.pulled = 0  # chunks handed out, to show the stream is read as it arrives

    def get_archive(self, path: str) -> tuple[Iterator[bytes], dict[str, object]]:
        if path not in self.archives:
            raise docker.errors.NotFound(f"Could not find the file {path} in container")
        data = self.archives[path]

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(data), self.chunk):
                self.pulled += 1
                yield data[start:start + self.chunk]
        return chunks(), {"name": Path(path).name, "size": len(data)}

    def remove(self, force: bool = False) -> None:
        self.removed = True


class FakeContainers:
    def __init__(self, archives: dict[str, bytes], chunk: int) -> None:
        self.archives = archives
        self.chunk = chunk
        self.created: list[FakeContainer] = []

    def create(self, image: str, **kwargs: object) -> FakeContainer:
        container = FakeContainer(self.archives, self.chunk)
        self.created.append(container)
        return container


class FakeClient:
    def __init__(self, archives: dict[str, bytes], chunk: int = 1000) -> None:
        self.containers = FakeContainers(archives, chunk)


def entry(name: str, kind: str = "file", data: bytes = b"", link: str = "", mode: int = 0o644,
          pax_name: str | None = None, size: int | None = None) -> tuple[tarfile.TarInfo, bytes | None]:
    types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
             "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
    info = tarfile.TarInfo(name)
    info.type = types[kind]
    info.mode = mode
    info.linkname = link
    info.mtime = 1_700_000_000
    if kind in ("chr", "blk"):
        info.devmajor, info.devminor = 1, 3
    if pax_name is not None:
        info.pax_headers = {"path": pax_name}
    if kind == "file":
        info.size = len(data) if size is None else size
        return info, data
    return info, None


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A 0600 file outside the release folder: its mode and content must never change."""
    secret = tmp_path / "outside-secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    return secret


def site_of(tmp_path: Path) -> Path:
    return tmp_path / "releases" / "7" / "site"


def chained_links(target: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The review's reproducer: 'a' points through 'b/c/…' links that do not exist yet (so a realpath
    check sees a harmless path); the later '.' links make it escape to ``target``."""
    letters = "bcdefghijkl"
    link = "/".join(letters) + "/" + "../" * len(letters) + str(target).lstrip("/")
    return [entry("./", "dir", mode=0o755), entry("./a", "sym", link=link),
            *(entry(f"./{c}", "sym", link=".") for c in letters),
            entry("./index.html", data=b"<h1>hi</h1>")]


def hostile_cases(secret: Path) -> dict[str, tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]]:
    good = entry("./index.html", data=b"<h1>ok</h1>")
    outside = str(secret.parent / "written-outside")
    return {
        "chained-dot-links": (chained_links(secret), "is a symbolic link"),
        "absolute-symlink": ([good, entry("./leak", "sym", link=str(secret))], "is a symbolic link"),
        "relative-escaping-symlink": ([good, entry("./leak", "sym", link="../../../outside-secret")],
                                      "is a symbolic link"),
        "inside-symlink": ([good, entry("./alias.html", "sym", link="index.html")], "is a symbolic link"),
        "hardlink-outside": ([good, entry("./leak", "hard", link="../../../outside-secret")], "is a hard link"),
        "hardlink-absolute": ([good, entry("./leak", "hard", link=str(secret))], "is a hard link"),
        "hardlink-inside": ([good, entry("./copy.html", "hard", link="./index.html")], "is a hard link"),
        "char-device": ([good, entry("./null", "chr")], "is a character device"),
        "block-device": ([good, entry("./disk", "blk")], "is a block device"),
        "fifo": ([good, entry("./pipe", "fifo")], "is a fifo"),
        "dotdot-name": ([good, entry("../written-outside", data=b"x")], "'..'"),
        "dotdot-inside-name": ([good, entry("./assets/../../../written-outside", data=b"x")], "'..'"),
        "absolute-name": ([good, entry("placeholder", data=b"x", pax_name=outside)], "absolute name"),
        "nul-in-name": ([good, entry("placeholder", data=b"x", pax_name="./index.html\x00.png")], "NUL byte"),
        "file-then-dir": ([good, entry("./x", data=b"file"), entry("./x", "dir", mode=0o755)], "appears twice"),
        "file-then-child": ([good, entry("./x", data=b"file"), entry("./x/y.js", data=b"y")], "which is a file"),
        "file-twice": ([good, entry("./index.html", data=b"<h1>again</h1>")], "appears twice"),
        "dir-then-file": ([good, entry("./d", "dir", mode=0o755), entry("./d", data=b"f")], "appears twice"),
    }


def outside_untouched(secret: Path) -> None:
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_bytes() == SECRET
    assert not (secret.parent / "written-outside").exists()


def test_plain_site_is_copied_with_safe_modes(tmp_path: Path) -> None:
    archive = tar_bytes([entry("./", "dir", mode=0o700), entry("./index.html", data=b"<h1>ok</h1>", mode=0o600),
                         entry("./assets", "dir", mode=0o777), entry("./assets/app.js", data=b"js", mode=0o777),
                         entry("./deep/er/file.css", data=b"css")])  # parents not listed: created 0755
    dest = site_of(tmp_path)
    dest.mkdir(parents=True)
    (dest / "stale.txt").write_text("from an earlier attempt")
    client = FakeClient({"/site/.": archive}, chunk=700)
    old = os.umask(0o077)
    try:
        images.extract_dir(client, "fe:1", "/site", dest)  # type: ignore[arg-type]
    finally:
        os.umask(old)
    assert (dest / "index.html").read_bytes() == b"<h1>ok</h1>"
    assert (dest / "deep" / "er" / "file.css").read_bytes() == b"css"
    assert not (dest / "stale.txt").exists()
    for path in [dest, *dest.rglob("*")]:
        assert stat.S_IMODE(path.lstat().st_mode) == (0o755 if path.is_dir() else 0o644), path
    assert int((dest / "index.html").stat().st_mtime) == 1_700_000_000  # caching headers keep working
    assert sorted(p.name for p in dest.parent.iterdir()) == ["site"]  # no staging folder left
    assert client.containers.created[0].removed


@pytest.mark.parametrize("case", sorted(hostile_cases(Path("/x"))))
def test_hostile_site_archive_is_refused_whole(case: str, tmp_path: Path, planted: Path) -> None:
    members, problem = hostile_cases(planted)[case]
    dest = site_of(tmp_path)
    client = FakeClient({"/site/.": tar_bytes(members)})
    with pytest.raises(BuildError) as raised:
        images.extract_dir(client, "fe:1", "/site", dest)  # type: ignore[arg-type]
    error = raised.value
    assert problem in error.message and "nothing was copied" in error.message
    assert "fe:1:/site" in error.message  # names the image and folder
    assert site_archive.PLAIN_ONLY in error.fix
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # the staging folder is gone too
    outside_untouched(planted)
    assert client.containers.created[0].removed


def test_chained_links_name_the_member(tmp_path: Path, planted: Path) -> None:
    client = FakeClient({"/site/.": tar_bytes(chained_links(planted))})
    with pytest.raises(BuildError, match=r"'\./a' is a symbolic link \(to 'b/c/d/"):
        images.extract_dir(client, "fe:1", "/site", site_of(tmp_path))  # type: ignore[arg-type]
    outside_untouched(planted)


def test_oversize_site_is_refused_before_it_is_read(tmp_path: Path, planted: Path) -> None:
    big = b"\0" * (4 * 1024**2)
    client = FakeClient({"/site/.": tar_bytes([entry("./index.html", data=b"ok"), entry("./video.mp4", data=big)])})
    with pytest.raises(BuildError, match="larger than 1 MiB") as raised:
        images.extract_dir(client, "fe:1", "/site", site_of(tmp_path), max_bytes=1024**2)  # type: ignore[arg-type]
    assert "keep large media out of the site" in raised.value.fix
    assert client.containers.created[0].pulled < 10  # refused from the header: the 4 MiB were never pulled
    assert not site_of(tmp_path).exists()
    outside_untouched(planted)


def test_many_small_files_count_against_the_size_cap(tmp_path: Path) -> None:
    files = [entry(f"./f{i}.js", data=b"x" * 300_000) for i in range(5)]
    client = FakeClient({"/site/.": tar_bytes(files)})
    with pytest.raises(BuildError, match="larger than 1 MiB"):
        images.extract_dir(client, "fe:1", "/site", site_of(tmp_path), max_bytes=1024**2)  # type: ignore[arg-type]
    assert not site_of(tmp_path).exists()


def test_the_stream_is_cut_at_the_byte_cap() -> None:
    """A stream longer than its headers admit is cut at the byte cap, not read to the end."""
    reader = site_archive.ChunkReader(iter([b"x" * 1000] * 100), 5000, "too big")
    with pytest.raises(BuildError, match="too big"):
        reader.read()


def test_member_count_is_capped(tmp_path: Path) -> None:
    files = [entry(f"./f{i}.js", data=b"x") for i in range(12)]
    client = FakeClient({"/site/.": tar_bytes(files)})
    with pytest.raises(BuildError, match="more than 10 files and folders"):
        images.extract_dir(client, "fe:1", "/site", site_of(tmp_path), max_members=10)  # type: ignore[arg-type]
    assert not site_of(tmp_path).exists()


def test_damaged_archive_is_a_clear_error(tmp_path: Path) -> None:
    archive = tar_bytes([entry("./index.html", data=b"ok" * 2000)])[:1536]  # cut inside the file data
    client = FakeClient({"/site/.": archive})
    with pytest.raises(BuildError, match="damaged"):
        images.extract_dir(client, "fe:1", "/site", site_of(tmp_path))  # type: ignore[arg-type]
    assert not site_of(tmp_path).exists()


def test_missing_site_folder(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="has no /site folder"):
        images.extract_dir(FakeClient({}), "fe:1", "/site", site_of(tmp_path))  # type: ignore[arg-type]


def test_builds_get_no_swap_on_top_of_their_memory(tmp_path: Path) -> None:
    """L10: the build's memswap equals its memory (it was -1, unlimited swap)."""
    seen: dict[str, object] = {}

    class Api:
        def build(self, **kwargs: object) -> Iterator[dict[str, object]]:
            seen.update(kwargs)
            return iter([{"stream": "Step 1/1 : FROM scratch"}, {"aux": {"ID": "sha256:abc"}}])

    class Client:
        api = Api()

    images.build_image(Client(), tmp_path, "Dockerfile", "x:1", tmp_path / "build.log",  # type: ignore[arg-type]
                        memory_bytes=2 * 1024**3)
    assert seen["container_limits"] == {"memory": 2 * 1024**3, "memswap": 2 * 1024**3, "cpushares": 512}


# -- USER -> uid, the way runc resolves it ---------------------------------------------------------------

PASSWD = (b"root:x:0:0:root:/root:/bin/sh\n"
          b"toor:x:0:0:second root:/root:/bin/sh\n"
          b"app:x:10001:10001::/app:/usr/sbin/nologin\r\n"
          b"  spaced:x:10002:10002::/:/bin/sh  \n"
          b"badnum:x:10x:0::/:/bin/sh\n"
          b"short:x\n"
          b"\x1fctl:x:10003:10003::/:/bin/sh\n"
          b"ctl:x:0:0::/:/bin/sh\n"
          b"dup:x:10004:10004::/:/bin/sh\n"
          b"dup:x:0:0::/:/bin/sh\n"
          b"big:x:4294967296:0::/:/bin/sh\n")


@pytest.mark.parametrize(("spec", "uid"), [
    ("", 0), ("0", 0), ("00", 0), ("+0", 0), ("-0", 0), ("0:0", 0), ("00:10001", 0), (":10001", 0),
    ("10001", 10001), ("+10001", 10001), ("10001:0", 10001), ("4294967296", 4294967296),
])
def test_numeric_users_parse_as_runc_does(spec: str, uid: int) -> None:
    user = uids.resolve(spec, None)  # no passwd needed for numbers
    assert user.uid == uid
    assert user.is_root is (uid != 10001)  # 2**32 is outside runc's range: Docker may truncate it to 0
    assert images.is_root_user(spec) is user.is_root


@pytest.mark.parametrize(("spec", "uid"), [
    ("root", 0), ("toor", 0), ("toor:app", 0), ("app", 10001), ("app:0", 10001), ("spaced", 10002),
    ("badnum", 0),  # Go's Atoi error is ignored: the uid field counts as 0
    ("short", 0),  # no uid field at all: 0
    ("ctl", 0),  # '\x1fctl' is not 'ctl' for Go (TrimSpace keeps \x1f); the root entry after it wins
    ("dup", 10004),  # the first entry wins
    ("big", 4294967296),
])
def test_names_resolve_through_the_images_passwd(spec: str, uid: int) -> None:
    user = uids.resolve(spec, PASSWD)
    assert user.uid == uid
    assert user.is_root is (uid not in (10001, 10002, 10004))
    assert f"uid {uid} in the image's /etc/passwd" in user.describe()


@pytest.mark.parametrize(("spec", "passwd", "problem"), [
    ("ghost", PASSWD, "there is no user 'ghost' in the image's /etc/passwd"),
    ("app", None, "the image has no /etc/passwd"),
    (" 0", PASSWD, "white space or control characters"),  # a *name* to runc; refused, never guessed
    ("0 ", b"0 :x:0:0::/:/bin/sh\n", "white space or control characters"),  # would match this root entry
    ("1000 ", PASSWD, "white space or control characters"),
    ("app\t", PASSWD, "white space or control characters"),
    ("app", b"app:x:" + b"1" * 70_000 + b"\n", "longer than 65536 bytes"),
])
def test_unresolvable_users_are_refused(spec: str, passwd: bytes | None, problem: str) -> None:
    with pytest.raises(uids.UserProblem, match=problem):
        uids.resolve(spec, passwd)


def test_image_uid_reads_passwd_out_of_the_image_without_running_it() -> None:
    archive = tar_bytes([entry("passwd", data=PASSWD)])
    client = FakeClient({"/etc/passwd": archive})
    assert images.image_uid(client, "be:1", "toor").is_root  # type: ignore[arg-type]
    assert client.containers.created[0].removed
    assert images.image_uid(client, "be:1", "app").uid == 10001  # type: ignore[arg-type]
    assert len(client.containers.created) == 2  # numbers need no container at all:
    images.image_uid(client, "be:1", "10001")  # type: ignore[arg-type]
    assert len(client.containers.created) == 2


def test_image_uid_refuses_a_linked_passwd() -> None:
    client = FakeClient({"/etc/passwd": tar_bytes([entry("passwd", "sym", link="/etc/other")])})
    with pytest.raises(BuildError, match="is a symbolic link") as raised:
        images.image_uid(client, "be:1", "app")  # type: ignore[arg-type]
    assert "USER 10001" in raised.value.fix


def test_image_passwd_is_read_with_a_cap() -> None:
    client = FakeClient({"/etc/passwd": tar_bytes([entry("passwd", data=PASSWD)])})
    with pytest.raises(uids.UserProblem, match="larger than 100 bytes"):
        images.read_image_file(client, "be:1", "/etc/passwd", 100)  # type: ignore[arg-type]
    assert images.read_image_file(FakeClient({}), "be:1", "/etc/passwd", 100) is None  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="the image has no /etc/passwd"):
        images.image_uid(FakeClient({}), "be:1", "app")  # type: ignore[arg-type]


# -- the running process, from /proc ---------------------------------------------------------------------

def fake_proc(root: Path, pid: int, uid_line: str, cgroup: str) -> Path:
    write_files(root, {f"{pid}/status": f"Name:\tapp\nUmask:\t0022\n{uid_line}\nGid:\t1\t1\t1\t1\n",
                       f"{pid}/cgroup": cgroup})
    return root


def test_process_user_reads_real_effective_saved(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, 42, "Uid:\t10001\t0\t10001\t10001", "0::/docker/abc123\n")
    seen = uids.process_user(42, "abc123", proc)
    assert seen.uids == (10001, 0, 10001, 10001) and seen.is_root  # effective uid 0 is root
    ok = uids.process_user(42, "abc123", fake_proc(tmp_path / "ok", 42, "Uid:\t10001\t10001\t10001\t10001",
                                                    "0::/system.slice/docker-abc123.scope\n"))
    assert not ok.is_root and ok.uids == (10001,) * 4


def test_process_user_unreadable_proc_is_a_note_not_a_crash(tmp_path: Path) -> None:
    seen = uids.process_user(42, "abc123", tmp_path / "no-proc")
    assert seen.uids is None and not seen.is_root and "rootless Docker" in seen.note
    other = uids.process_user(42, "abc123", fake_proc(tmp_path, 42, "Uid:\t0\t0\t0\t0", "0::/\n"))
    assert other.uids is None and "not this container's process" in other.note  # never trust a stranger's pid
    assert "not running" in uids.process_user(0, "abc123", tmp_path).note


# -- real Docker: crafted images built FROM scratch ------------------------------------------------------

def _build(client, context: Path, tag: str) -> str:  # type: ignore[no-untyped-def]
    image, _ = client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
    return str(image.id)


@pytest.fixture(scope="module")
def user_images(docker_client) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """One image per kind of USER, FROM scratch with a crafted /etc/passwd; never started."""
    root = Path(tempfile.mkdtemp(prefix="portside-users-"))
    kinds = {"zero-zero": "00", "plus-zero": "+0", "zero-colon-zero": "0:0", "toor": "toor",
             "ghost": "ghost", "uid-10001": "10001", "app-name": "app"}
    tags = {}
    try:
        for kind, user in kinds.items():
            write_files(root / kind, {"passwd": "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/:/bin/sh\n"
                                                "app:x:10001:10001::/app:/bin/sh\n",
                                      "Dockerfile": f"FROM scratch\nCOPY passwd /etc/passwd\nUSER {user}\n"})
            tags[kind] = f"portside-test-user-{kind}:{uuid.uuid4().hex[:8]}"
            _build(docker_client, root / kind, tags[kind])
        yield tags
    finally:
        for tag in tags.values():
            try:
                docker_client.images.remove(tag, force=True)
            except docker.errors.APIError:
                pass
        shutil.rmtree(root, ignore_errors=True)


def _check_image_user(tag: str, tmp_path: Path, docker_client):  # type: ignore[no-untyped-def]
    """Deployer._check_image_user against the real image; returns what it said."""
    from portside.core.config import parse_config
    from portside.core.plan import CheckImageUser, Plan
    from portside.ops import deploy
    from portside.ops.context import Context

    config = parse_config('[app]\nname = "users"\ndomain = "localhost"\n[backend]\n')
    said: list[str] = []
    deployer = deploy.Deployer(Context.create(tmp_path, said.append), None, config, tmp_path, None, None)  # type: ignore[arg-type]
    deployer._client = docker_client
    deployer._check_image_user(CheckImageUser(tag, allow_root=False), Plan("users", 1, "x"))
    return said


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "message"), [
    ("zero-zero", "runs as 00 (runc reads '00' as uid 0)"),
    ("plus-zero", "runs as +0 (runc reads '+0' as uid 0)"),
    ("zero-colon-zero", "runs as 0:0"),
    ("toor", "runs as toor (uid 0 in the image's /etc/passwd)"),
    ("ghost", "there is no user 'ghost' in the image's /etc/passwd"),
])
def test_real_image_users_that_are_root_are_refused(kind: str, message: str, user_images: dict[str, str],
                                                    tmp_path: Path, docker_client) -> None:  # type: ignore[no-untyped-def]
    since = int(time.time()) - 1
    with pytest.raises(BuildError) as raised:
        _check_image_user(user_images[kind], tmp_path, docker_client)
    assert message in raised.value.message
    assert "USER 10001" in raised.value.fix
    _never_started(docker_client, user_images[kind], since)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["uid-10001", "app-name"])
def test_real_image_users_that_are_not_root_pass(kind: str, user_images: dict[str, str], tmp_path: Path,
                                                 docker_client) -> None:  # type: ignore[no-untyped-def]
    since = int(time.time()) - 1
    assert _check_image_user(user_images[kind], tmp_path, docker_client) == []
    _never_started(docker_client, user_images[kind], since)


def _never_started(docker_client, tag: str, since: int) -> None:  # type: ignore[no-untyped-def]
    """No container of the image runs or is left over, and the engine recorded no start for it."""
    assert docker_client.containers.list(all=True, filters={"ancestor": tag}) == []
    events = docker_client.events(since=since, until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "start", "image": tag})
    assert list(events) == []


@pytest.fixture(scope="module")
def root_process_image(base_images, docker_client) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An image whose process runs as uid 0, to exercise the check after start on its own."""
    root = Path(tempfile.mkdtemp(prefix="portside-rootproc-"))
    write_files(root, {"Dockerfile": 'FROM portside/debian:12\nCMD ["sleep", "300"]\n'})
    tag = f"portside-test-rootproc:{uuid.uuid4().hex[:8]}"
    try:
        _build(docker_client, root, tag)
        yield tag
    finally:
        docker_client.images.remove(tag, force=True)
        shutil.rmtree(root, ignore_errors=True)


def _start(tag: str, tmp_path: Path, docker_client, allow_root: bool):  # type: ignore[no-untyped-def]
    from portside.core.config import parse_config
    from portside.core.plan import Plan, StartReplicas
    from portside.ops import deploy
    from portside.ops.context import Context

    app = f"rootproc-{uuid.uuid4().hex[:6]}"
    config = parse_config(f'[app]\nname = "{app}"\ndomain = "localhost"\n[backend]\n'
                          f'allow_root = {str(allow_root).lower()}\n')
    said: list[str] = []
    deployer = deploy.Deployer(Context.create(tmp_path, said.append), None, config, tmp_path, None, None)  # type: ignore[arg-type]
    deployer._client = docker_client
    action = StartReplicas(tag, 2, 8000, f"portside-{app}", "64m", 0.5)
    return app, said, lambda: deployer._start_replicas(action, Plan(app, 1, "x"))


def _remove_app(docker_client, app: str) -> None:  # type: ignore[no-untyped-def]
    for container in docker_client.containers.list(all=True, filters={"label": f"portside.app={app}"}):
        container.remove(force=True)
    for network in docker_client.networks.list(names=[f"portside-{app}"]):
        network.remove()


@pytest.mark.integration
def test_a_replica_running_as_root_is_stopped_after_start(root_process_image: str, tmp_path: Path,
                                                          docker_client) -> None:  # type: ignore[no-untyped-def]
    from portside.core.errors import DeployError

    app, said, start = _start(root_process_image, tmp_path, docker_client, allow_root=False)
    try:
        with pytest.raises(DeployError, match=r"runs as root: its process has uid 0 \(Uid: 0 0 0 0") as raised:
            start()
        assert "previous release keeps serving" in raised.value.message
        assert docker_client.containers.list(all=True, filters={"label": f"portside.app={app}"}) == []
    finally:
        _remove_app(docker_client, app)


@pytest.mark.integration
def test_allow_root_keeps_a_root_replica_with_a_warning(root_process_image: str, tmp_path: Path,
                                                        docker_client) -> None:  # type: ignore[no-untyped-def]
    app, said, start = _start(root_process_image, tmp_path, docker_client, allow_root=True)
    try:
        start()
        assert sum("WARNING" in line and "runs as uid 0" in line for line in said) == 2
        containers = docker_client.containers.list(filters={"label": f"portside.app={app}"})
        assert len(containers) == 2
        host = containers[0].attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True and host["MemorySwap"] == host["Memory"] == 64 * 1024**2
        assert "/tmp" in host["Tmpfs"] and "noexec" in host["Tmpfs"]["/tmp"]
    finally:
        _remove_app(docker_client, app)


# -- real Docker and nginx: a hostile frontend through 'portside up --local' ------------------------------

def _hostile_frontend(root: Path, secret: Path, name: str) -> Path:
    repo = root / "repo"
    write_files(repo, {
        "portside.toml": f'[app]\nname = "{name}"\ndomain = "localhost"\n[frontend]\npath = "frontend"\n'
                         '[tls]\nmode = "off"\n',
        "frontend/Dockerfile": "FROM scratch\nCOPY site/ /site/\n",
        "frontend/site/index.html": "<h1>hostile</h1>\n",
    })
    site = repo / "frontend" / "site"
    os.symlink(secret, site / "abs")  # an absolute link to a host file
    letters = "bcdefghijkl"  # and the review's chained links, which Docker's lexical order sorts after 'a'
    os.symlink("/".join(letters) + "/" + "../" * len(letters) + str(secret).lstrip("/"), site / "a")
    for letter in letters:
        os.symlink(".", site / letter)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"],
                   check=True)
    return repo


@pytest.mark.integration
def test_hostile_frontend_image_is_refused_by_up(base_images, docker_client) -> None:  # type: ignore[no-untyped-def]
    from .conftest import App

    root = Path(tempfile.mkdtemp(prefix="portside-hostile-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    secret = root / "planted-secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    name = f"hostile-{uuid.uuid4().hex[:6]}"
    app = App(name, _hostile_frontend(root, secret, name), root / "state", free_port(), free_port())
    try:
        result = cli("up", app.dir, "--local", "--offline", "--http-port", str(app.http), "--state-dir", app.state)
        assert result.code == 4, result.text
        assert "is a symbolic link" in result.err and "nothing was copied" in result.err
        assert site_archive.PLAIN_ONLY in " ".join(result.err.split())
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and secret.read_bytes() == SECRET
        assert not list((app.state / "apps" / name).glob("releases/*/site*"))
        for path in ("/", "/a", "/abs", "/index.html"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{app.http}{path}", timeout=3) as response:  # noqa: S310
                    body = response.read()
                    assert response.status != 200 or b"hostile" not in body
                    assert SECRET not in body
            except (urllib.error.URLError, OSError):
                pass  # nothing listening, or an error status: nothing served either way
    finally:
        teardown_app(app, docker_client)
        for image in docker_client.images.list(filters={"label": f"portside.app={name}"}):
            docker_client.images.remove(image.id, force=True)
        shutil.rmtree(root, ignore_errors=True)
