"""A GitHub App from nothing, as a team makes one: `paid github setup` serves its page, headless
Chromium creates the App on the (emulated) GitHub through the manifest flow, and the gateway is
restarted with the App's id, key and webhook secret. Shared by the App's integration tests."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from paid_cli.github_setup import AppCredentials, load_encrypted
from paid_devstack.browser import chromium, screenshot_path
from paid_devstack.demo_repo import CALC_BUGGY, MAINTAINER, README, TESTS, DemoIssue, issue_body
from paid_devstack.sandbox import EmulatedPaid
from paid_github_emulator.apps import InstallationToken
from paid_runtime.secretbox import SecretBox, generate_key

PAID = str(Path(sys.executable).parent / "paid")
SETUP_DEADLINE_SECONDS = 120


async def create_app_in_chromium(paid: EmulatedPaid, *, name: str, home: Path) -> AppCredentials:
    """Runs `paid github setup` and clicks through its page and GitHub's answer in headless Chromium."""
    key = generate_key()
    stored = home / "github-app.json"
    paid.github.sign_in(MAINTAINER)
    process = await asyncio.create_subprocess_exec(
        PAID,
        "github",
        "setup",
        "--webhook-url",
        paid.platform.webhook_url,
        "--name",
        name,
        "--github-url",
        paid.github.base_url,
        "--api-url",
        paid.github.api_url,
        "--output",
        str(stored),
        "--timeout",
        str(SETUP_DEADLINE_SECONDS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PAID_GATEWAY_SECRETS_KEYS": key},
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), SETUP_DEADLINE_SECONDS)).decode()
    found = re.search(r"Open (http://127\.0\.0\.1:\d+/) in a browser", first)
    assert found, first
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(found.group(1))
        await page.click("#create button")
        await page.wait_for_selector("text=was created", timeout=SETUP_DEADLINE_SECONDS * 1000)
        await page.screenshot(path=screenshot_path("github-app-created"), full_page=True)
    rest, errors = await asyncio.wait_for(process.communicate(), SETUP_DEADLINE_SECONDS)
    assert process.returncode == 0, errors.decode()
    assert "PAID_GATEWAY_GITHUB_APP_ID=" in rest.decode()
    assert "PRIVATE KEY" not in stored.read_text(), "the key is stored encrypted"
    return load_encrypted(stored, SecretBox([key]))


def give_the_gateway(paid: EmulatedPaid, app: AppCredentials) -> None:
    """What the setup's next steps tell a team: only the gateway gets the App's secrets."""
    paid.platform.reconfigure(
        "gateway",
        {
            "PAID_GATEWAY_GITHUB_APP_ID": str(app.app_id),
            "PAID_GATEWAY_GITHUB_APP_PRIVATE_KEY": app.pem,
            "PAID_GATEWAY_GITHUB_APP_WEBHOOK_SECRET": app.webhook_secret,
        },
    )


def create_repository(paid: EmulatedPaid, owner: str, name: str) -> DemoIssue:
    """The demo repository with its issue, but no repository webhook: only the App's hook reports it."""
    paid.github.create_repository(
        owner, name, {"calc.py": CALC_BUGGY, "test_calc.py": TESTS, "README.md": README}
    )
    paid.github.set_permission(owner, name, MAINTAINER, "admin")
    issue = paid.github.create_issue(
        owner, name, title="add() subtracts", body=issue_body(), as_user=MAINTAINER
    )
    return DemoIssue(owner=owner, repo=name, number=int(issue["number"]), html_url=str(issue["html_url"]))


def project(paid: EmulatedPaid, repository: str, admin_token: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{paid.platform.url('gateway')}/api/projects/{repository}",
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


@dataclass(frozen=True)
class Touch:
    """One request the emulator logged on a repository, with the installation token it used (if any)."""

    method: str
    path: str
    status: int
    credential: str
    token: InstallationToken | None


def touches(paid: EmulatedPaid, repository: str, *, since: int = 0) -> list[Touch]:
    """Every REST and git request on `repository` (its `/owner/name/` or `/owner/name.git/` paths)."""
    hub = paid.github.hub
    with hub.apps.lock:
        by_fingerprint = {
            f"installation-token:{hashlib.sha256(t.encode()).hexdigest()[:12]}": found
            for t, found in hub.apps.tokens.items()
        }
    return [
        Touch(r.method, r.path, r.status, r.credential, by_fingerprint.get(r.credential))
        for r in paid.github.access_log()[since:]
        if r.path.endswith(f"/{repository}") or f"/{repository}/" in r.path or f"/{repository}.git/" in r.path
    ]
