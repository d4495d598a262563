"""Paid as a GitHub App, from nothing (issue 20): the manifest flow in headless Chromium creates the App,
the gateway is given it, installing it on two repositories registers both projects, a label on each
yields a pull request on each by the App's bot, each repository is touched only with its own
short-lived tokens, each run's token is revoked at its end, and removing one repository from the
installation stops its polling and runs with a clear record.

The default run keeps the short form (the App made in the browser for the gateway's webhook); the
gateway's restart with the App, the installation, the runs and the removal are the heavy suite's."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus

from paid_cli.github_setup import PERMISSIONS, AppCredentials
from paid_devstack import wait_until, wait_until_async
from paid_devstack.browser import chromium_path
from paid_devstack.demo_repo import CALC_FIXED, MAINTAINER, DemoIssue, issue_body
from paid_devstack.sandbox import EmulatedPaid
from paid_github_emulator.apps import TOKEN_LIFETIME_SECONDS, InstallationToken
from paid_runtime.temporal import connect_temporal

from .github_app_setup import create_app_in_chromium, create_repository, give_the_gateway, project, touches

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]


@dataclass(frozen=True)
class Installed:
    app: AppCredentials
    installation_id: int
    alpha: DemoIssue
    beta: DemoIssue


@pytest.fixture(scope="module")
async def made_app(paid: EmulatedPaid, tmp_path_factory: pytest.TempPathFactory) -> AppCredentials:
    name = f"Paid {uuid.uuid4().hex[:6]}"
    return await create_app_in_chromium(paid, name=name, home=tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def installed(paid: EmulatedPaid, made_app: AppCredentials) -> Installed:
    """The gateway given the App (a restart), and the App installed on two new repositories."""
    app = made_app
    give_the_gateway(paid, app)
    owner = f"team-{app.slug}"
    paid.github.add_user(owner, f"ghp_{uuid.uuid4().hex}")
    alpha = create_repository(paid, owner, "alpha")
    beta = create_repository(paid, owner, "beta")
    installation = paid.github.install_app(app.app_id, owner, ["alpha", "beta"], as_user=owner)
    return Installed(app, installation.id, alpha, beta)


def _repository(issue: DemoIssue) -> str:
    return f"{issue.owner}/{issue.repo}"


def _registered(paid: EmulatedPaid, repository: str, admin_token: str) -> dict[str, Any]:
    wait_until(
        lambda: project(paid, repository, admin_token) is not None,
        timeout=30,
        what=f"{repository} registered by the installation",
    )
    registered = project(paid, repository, admin_token)
    assert registered is not None
    return registered


def test_paid_github_setup_in_chromium_creates_the_app_for_the_gateways_webhook(
    paid: EmulatedPaid, made_app: AppCredentials
) -> None:
    apps = paid.github.hub.apps
    with apps.lock:
        created = apps.apps[made_app.app_id]
    assert created.owner == MAINTAINER
    assert created.webhook_url == paid.platform.webhook_url
    assert created.webhook_active
    assert created.webhook_secret == made_app.webhook_secret
    assert created.permissions == PERMISSIONS
    assert made_app.pem.startswith("-----BEGIN")


@pytest.mark.heavy
def test_installing_the_app_made_in_the_browser_registers_both_repositories(
    paid: EmulatedPaid, installed: Installed, admin_token: str
) -> None:
    for issue in (installed.alpha, installed.beta):
        repository = _repository(issue)
        registered = _registered(paid, repository, admin_token)
        assert registered["auth"] == "app"
        assert registered["installation_id"] == installed.installation_id
        assert registered["app_state"] == "installed"
        assert registered["polling"] == "active"
        assert registered["needs_attention"] is None
        assert not registered["has_token"]


@pytest.mark.heavy
def test_a_delivery_signed_for_another_app_target_is_refused(
    paid: EmulatedPaid, installed: Installed
) -> None:
    body = json.dumps({"action": "created", "installation": {"id": installed.installation_id}}).encode()
    signature = "sha256=" + hmac.new(installed.app.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "installation",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(installed.app.app_id + 1),
        "Content-Type": "application/json",
    }
    response = httpx.post(paid.platform.webhook_url, content=body, headers=headers, timeout=10)
    assert response.status_code == 401, response.text


@pytest.mark.heavy
async def test_a_label_on_each_repository_yields_a_pull_request_by_the_app_and_removal_stops_one(
    paid: EmulatedPaid, installed: Installed, admin_token: str
) -> None:
    bot = f"{installed.app.slug}[bot]"
    started = len(paid.github.access_log())
    for issue in (installed.alpha, installed.beta):
        _registered(paid, _repository(issue), admin_token)
        paid.label(issue)
    for issue in (installed.alpha, installed.beta):
        pull = paid.wait_for_pull(issue, timeout=180)
        assert pull["user"]["login"] == bot
        assert (
            paid.github.file_content(issue.owner, issue.repo, "calc.py", ref=pull["head"]["ref"])
            == CALC_FIXED
        )
        assert paid.wait_for_result_comment(issue)["user"]["login"] == bot

    for issue in (installed.alpha, installed.beta):
        repository = _repository(issue)
        found = paid.github.hub.store.find_repo(issue.owner, issue.repo)
        assert found is not None
        repo_id = found.id
        seen = touches(paid, repository, since=started)
        assert seen, f"nothing touched {repository}"
        for touch in seen:
            assert touch.token is not None, (
                f"{touch.method} {touch.path} used {touch.credential}, not a minted token"
            )
            assert touch.token.repo_ids == frozenset({repo_id}), (
                f"{touch.path}: a token for other repositories"
            )
            assert touch.token.expires_at <= paid.github.hub.store.now() + timedelta(
                seconds=TOKEN_LIFETIME_SECONDS
            )
        run_tokens = {
            t.credential: t.token
            for t in seen
            if t.method == "POST" and t.path.endswith(("git-receive-pack", "/pulls"))
        }
        assert run_tokens, f"no push or pull request on {repository}"

        def revoked(tokens: dict[str, InstallationToken | None] = run_tokens) -> bool:
            return all(token is not None and token.revoked for token in tokens.values())

        wait_until(revoked, timeout=60, what=f"the run's tokens on {repository} revoked at its end")
        deletes = {
            r.credential
            for r in paid.github.access_log()
            if r.method == "DELETE" and r.path.endswith("/installation/token")
        }
        assert set(run_tokens) <= deletes

    await _removal_stops_polling_and_runs(paid, installed, admin_token)


async def _removal_stops_polling_and_runs(paid: EmulatedPaid, installed: Installed, admin_token: str) -> None:
    beta = _repository(installed.beta)
    paid.github.remove_installation_repositories(
        installed.installation_id, ["beta"], as_user=installed.beta.owner
    )
    wait_until(
        lambda: (project(paid, beta, admin_token) or {}).get("polling") == "stopped",
        timeout=30,
        what=f"{beta}'s polling stopped by the removal",
    )
    stopped = project(paid, beta, admin_token)
    assert stopped is not None
    assert stopped["app_state"] == "uninstalled"
    assert "uninstalled" in (stopped["needs_attention"] or "")
    assert f"{beta}: App uninstalled, polling stopped" in paid.platform.log_path("gateway").read_text()

    client = await connect_temporal(paid.platform.infra.endpoints.temporal_target)
    poll = client.get_workflow_handle(f"poll:{beta}")

    async def poll_ended() -> bool:
        return (await poll.describe()).status != WorkflowExecutionStatus.RUNNING

    await wait_until_async(poll_ended, timeout=60, what=f"{beta}'s poll workflow ended")
    removed_at = len(paid.github.access_log())
    heard = len(paid.github.deliveries())
    runs_before = _runs(paid, installed.beta, admin_token)
    pulls_before = _numbers(paid.pulls(installed.beta))

    # A labeling on the removed repository, then one on the installed one as a barrier: once the
    # second has its pull request, the first has had every chance to start something.
    after_removal = _new_issue(paid, installed.beta)
    paid.label(after_removal)
    barrier = _new_issue(paid, installed.alpha)
    paid.label(barrier)
    paid.wait_for_pull(barrier, timeout=180)

    assert _runs(paid, installed.beta, admin_token) == runs_before, "a run started on the removed repository"
    assert _numbers(paid.pulls(after_removal)) == pulls_before
    assert not touches(paid, beta, since=removed_at), "the removed repository was still read or written"
    since_removal = [d for d in paid.github.deliveries()[heard:] if d.repo == beta]
    assert not since_removal, "the App still hears the removed repository"


def _new_issue(paid: EmulatedPaid, like: DemoIssue) -> DemoIssue:
    made = paid.github.create_issue(
        like.owner, like.repo, title="add() still subtracts", body=issue_body(), as_user=MAINTAINER
    )
    return DemoIssue(like.owner, like.repo, int(made["number"]), str(made["html_url"]))


def _numbers(pulls: list[dict[str, Any]]) -> list[int]:
    return sorted(int(pull["number"]) for pull in pulls)


def _runs(paid: EmulatedPaid, issue: DemoIssue, token: str) -> int:
    response = httpx.get(
        f"{paid.platform.url('gateway')}/api/runs",
        params={"repo": _repository(issue)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return len(response.json()["runs"])
