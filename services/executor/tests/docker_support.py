"""A small local image for the docker sandbox's tests, made without a registry: the host's Debian
python3.11, sh and coreutils' sleep with their shared libraries, `docker import`ed as a rootfs."""

from __future__ import annotations

import contextlib
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
    with contextlib.suppress(ImageNotFound):
        client.images.get(IMAGE)
        return IMAGE
    files: set[str] = set(PROGRAMS)
    for path in PYTHON_LIB.rglob("*"):
        if path.is_file() and not SKIP.search(str(path)):
            files.add(str(path))
    for binary in [*PROGRAMS, *(str(p) for p in (PYTHON_LIB / "lib-dynload").glob("*.so"))]:
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
            for name, target in (("usr/bin/python3", "python3.11"), ("usr/bin/sh", "dash")):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
        repository, tag = IMAGE.split(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=tag)
    return IMAGE


def _shared_libraries(binary: str) -> set[str]:
    output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=False).stdout
    found = set()
    for line in output.splitlines():
        match = re.search(r"(/\S+)", line.split("=>")[-1])
        if match and Path(match.group(1)).exists():
            path = match.group(1)
            found.add(path if not path.startswith("/lib") else "/usr" + path)
    return found
