"""Small local images for the docker sandbox's tests, made without a registry: the host's Debian
python3.11, sh and coreutils' sleep with their shared libraries, `docker import`ed as a rootfs; and for
the agent CLIs, the same plus the host's node, a shell's tools and git (the CLIs themselves are never in
the image: the sandbox mounts their pinned packages read-only, as deploy/images/sandbox-agents does)."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

from docker import DockerClient
from docker.errors import DockerException, ImageNotFound

IMAGE = "paid-test/sandbox-python:3.11-1"
PROGRAMS = ("/usr/bin/python3.11", "/usr/bin/dash", "/usr/bin/sleep", "/usr/bin/env", "/usr/bin/id")
PYTHON_LIB = Path("/usr/lib/python3.11")
AGENT_IMAGE = "paid-test/sandbox-agents:1"
# What the CLIs and their scripted shell commands start: node for the JavaScript ones, a shell's tools.
AGENT_PROGRAMS = (
    "/usr/bin/node", "/usr/bin/bash", "/usr/bin/sed", "/usr/bin/cat", "/usr/bin/ls", "/usr/bin/mkdir",
    "/usr/bin/mktemp", "/usr/bin/rm", "/usr/bin/git", "/usr/bin/uname",
)  # fmt: skip
AGENT_PASSWD = "root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/tmp/home:/bin/sh\n"
SKIP = re.compile(r"/(test|tests|idlelib|tkinter|ensurepip|__pycache__|lib2to3|turtledemo)(/|$)")


def docker_client() -> DockerClient | None:
    import docker

    with contextlib.suppress(DockerException):
        client = docker.from_env()
        client.ping()
        return client
    return None


def can_build_image() -> bool:
    return all(Path(program).exists() for program in PROGRAMS) and PYTHON_LIB.is_dir()


def ensure_test_image(client: DockerClient) -> str:
    return _ensure_image(client, IMAGE, PROGRAMS)


def can_build_agent_image() -> bool:
    return can_build_image() and all(Path(program).exists() for program in AGENT_PROGRAMS)


def ensure_agent_image(client: DockerClient, native_clis: tuple[Path, ...] = ()) -> str:
    """`native_clis`: the CLIs' own binaries (mounted, not copied), whose shared libraries the image needs."""
    return _ensure_image(client, AGENT_IMAGE, (*PROGRAMS, *AGENT_PROGRAMS), native_clis, AGENT_PASSWD)


def _ensure_image(
    client: DockerClient,
    image: str,
    programs: tuple[str, ...],
    linked: tuple[Path, ...] = (),
    passwd: str | None = None,
) -> str:
    with contextlib.suppress(ImageNotFound):
        client.images.get(image)
        return image
    files: set[str] = set(programs)
    for path in PYTHON_LIB.rglob("*"):
        if path.is_file() and not SKIP.search(str(path)):
            files.add(str(path))
    dynload = (str(p) for p in (PYTHON_LIB / "lib-dynload").glob("*.so"))
    for binary in [*programs, *dynload, *(str(path) for path in linked if path.exists())]:
        files |= _shared_libraries(binary)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
                info = tarfile.TarInfo(link)
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            parents = {str(parent) for file in files for parent in Path(file.lstrip("/")).parents}
            # Every directory explicit and world-readable: the sandbox's user is not root.
            for directory in sorted(parents - {"."} | {"tmp", "etc", "run", "proc", "dev", "sys"}):
                info = tarfile.TarInfo(directory)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
                tar.addfile(info)
            for file in sorted(files):
                tar.add(Path(file).resolve(), arcname=file.lstrip("/"), recursive=False)
            links = [("usr/bin/python3", "python3.11"), ("usr/bin/sh", "dash")]
            if passwd is not None:  # node's os.userInfo() and git want the sandbox's user to exist
                links.append(("usr/bin/python", "python3.11"))
                info = tarfile.TarInfo("etc/passwd")
                info.size, info.mode = len(passwd.encode()), 0o644
                tar.addfile(info, io.BytesIO(passwd.encode()))
            for name, target in links:
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
        repository, tag = image.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag)
    return image


def _shared_libraries(binary: str) -> set[str]:
    output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    found = set()
    for line in output.splitlines():
        match = re.search(r"(/\S+)", line.split("=>")[-1])
        if match and Path(match.group(1)).exists():
            path = match.group(1)
            found.add(path if not path.startswith("/lib") else "/usr" + path)
    return found
