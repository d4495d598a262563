"""A human's pull request on the emulator, for review mode's tests."""

from __future__ import annotations

import base64
import uuid

from paid_contracts import RepoRef
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_trust import github_client

from .conftest import TOKEN

BOB = "ghp_bob_token"
LONG_FILE = "".join(f"line_{n} = {n}\n" for n in range(1, 31))


def review_repository(emulator: GitHubEmulator) -> RepoRef:
    emulator.add_user("alice", TOKEN)  # alice's token stands for Paid's
    emulator.add_user("bob", BOB)
    name = f"notes-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"notes.py": LONG_FILE})
    emulator.set_permission("alice", name, "bob", "write")
    return RepoRef(owner="alice", name=name)


async def human_pull(emulator: GitHubEmulator, repo: RepoRef) -> tuple[int, str]:
    """Bob's pull request changing line 15 of notes.py; its number and head."""
    async with github_client(emulator.api_url, BOB) as github:
        base = f"/repos/{repo.owner}/{repo.name}"
        main = (await github.get(f"{base}/git/ref/heads/main")).json()["object"]["sha"]
        branch = "bob-change"
        (
            await github.post(f"{base}/git/refs", json={"ref": f"refs/heads/{branch}", "sha": main})
        ).raise_for_status()
        blob = (await github.get(f"{base}/contents/notes.py", params={"ref": branch})).json()["sha"]
        changed = LONG_FILE.replace("line_15 = 15\n", "line_15 = 1500\n")
        written = await github.put(
            f"{base}/contents/notes.py",
            json={
                "message": "change",
                "content": base64.b64encode(changed.encode()).decode(),
                "branch": branch,
                "sha": blob,
            },
        )
        written.raise_for_status()
        pull = await github.post(f"{base}/pulls", json={"title": "A change", "head": branch, "base": "main"})
        pull.raise_for_status()
        return int(pull.json()["number"]), str(pull.json()["head"]["sha"])
