"""The /_emulator admin API, and the emulator run as a subprocess through its console entry point."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from paid_github_emulator import GitHubEmulator
from paid_github_emulator.testing import WebhookReceiver

from .test_git_and_pulls import git


def test_admin_api_sets_up_acts_and_inspects(receiver: WebhookReceiver) -> None:
    with GitHubEmulator() as emu, httpx.Client(base_url=f"{emu.base_url}/_emulator") as admin:
        assert admin.post("/users", json={"login": "alice", "token": "tok-a"}).json()["login"] == "alice"
        admin.post("/users", json={"login": "bot", "token": "tok-b"}).raise_for_status()
        repo = admin.post("/repos", json={"owner": "alice", "name": "app", "files": {"app.py": "print()\n"}})
        assert repo.status_code == 201
        assert repo.json()["clone_url"] == f"{emu.base_url}/alice/app.git"
        assert (
            admin.put("/repos/alice/app/collaborators/bot", json={"permission": "write"}).status_code == 204
        )
        permission = httpx.get(
            f"{emu.api_url}/repos/alice/app/collaborators/bot/permission",
            headers={"Authorization": "token tok-a"},
        )
        assert permission.json()["permission"] == "write"

        admin.post("/repos/alice/app/hooks", json={"url": receiver.url, "secret": "s", "events": ["issues"]})
        assert (
            admin.post("/repos/alice/app/issues", json={"title": "t", "as_user": "alice"}).json()["number"]
            == 1
        )
        labels = admin.post("/repos/alice/app/issues/1/labels", json={"labels": ["paid"], "as_user": "bot"})
        assert [label["name"] for label in labels.json()] == ["paid"]
        labeled = emu.wait_for_deliveries(1, event="issues", action="labeled")[0]

        listed = admin.get("/deliveries", params={"event": "issues", "action": "labeled"}).json()
        assert listed[0]["guid"] == labeled.guid
        assert listed[0]["request"]["payload"]["sender"]["login"] == "bot"
        assert listed[0]["response"]["status_code"] == 200
        assert admin.post(f"/deliveries/{labeled.guid}/redeliver").json() == {"guid": labeled.guid}
        assert emu.wait_for_deliveries(2, action="labeled")[1].redelivery
        assert admin.post("/deliveries/999999/redeliver").status_code == 404

        main_sha = admin.get("/repos/alice/app/branches/main").json()["sha"]
        assert main_sha == emu.branch_sha("alice", "app", "main")
        assert (
            admin.get("/repos/alice/app/contents/app.py", params={"ref": "main"}).json()["content"]
            == "print()\n"
        )
        assert admin.get("/repos/alice/app/contents/missing.py").status_code == 404
        admin.post(
            "/repos/alice/app/issues/1/comments", json={"body": "hi", "as_user": "bot"}
        ).raise_for_status()
        assert [c["body"] for c in admin.get("/repos/alice/app/issues/1/comments").json()] == ["hi"]
        assert admin.get("/repos/alice/app/pulls").json() == []
        assert admin.get("/rate-limits").json()["tok-a"]["used"] == 1  # admin calls do not count

        assert admin.post("/reset").status_code == 204
        assert admin.get("/deliveries").json() == []
        assert httpx.get(f"{emu.api_url}/user", headers={"Authorization": "token tok-a"}).status_code == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_runs_as_a_subprocess(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "paid_github_emulator.main",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
        "--user",
        "alice:tok-a",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "emulator exited"
            assert time.monotonic() < deadline, "emulator did not come up"
            time.sleep(0.05)
        httpx.post(f"{base}/_emulator/repos", json={"owner": "alice", "name": "app", "files": {"a": "1"}})
        me = httpx.get(f"{base}/api/v3/user", headers={"Authorization": "token tok-a"}).json()
        assert me["login"] == "alice"
        assert (
            git(
                "clone",
                f"http://x-access-token:tok-a@127.0.0.1:{port}/alice/app.git",
                str(tmp_path / "clone"),
            ).returncode
            == 0
        )
        assert (tmp_path / "data" / "repos" / "alice" / "app.git").is_dir()
    finally:
        server.terminate()
        server.wait(timeout=10)
