"""The App's own deliveries (`installation`, `installation_repositories`) and the manifest flow."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from paid_github_emulator import GitHubEmulator

from .app_world import AppWorld, app_world

__all__ = ["app_world"]


def test_installation_lifecycle_is_delivered_to_the_apps_hook(app_world: AppWorld) -> None:
    emu, installation_id = app_world.emu, app_world.installation.id
    emu.add_installation_repositories(installation_id, ["octo-org/alpha"], as_user="octo-org")
    emu.remove_installation_repositories(installation_id, ["beta"], as_user="octo-org")
    emu.suspend_installation(installation_id, as_user="octo-org")
    emu.unsuspend_installation(installation_id, as_user="octo-org")
    emu.uninstall_app(installation_id, as_user="octo-org")
    received = app_world.receiver.wait_for(6)
    kinds = [(r.headers["X-GitHub-Event"], json.loads(r.body)["action"]) for r in received]
    assert kinds == [
        ("installation", "created"),
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
        ("installation", "suspend"),
        ("installation", "unsuspend"),
        ("installation", "deleted"),
    ]
    for delivery in received:
        assert delivery.headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
        assert delivery.headers["X-GitHub-Hook-Installation-Target-ID"] == str(app_world.app.id)
        expected = hmac.new(b"app-secret", delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Hub-Signature-256"] == f"sha256={expected}"
        payload = json.loads(delivery.body)
        assert payload["installation"]["id"] == installation_id
        assert "repository" not in payload
    created, _, removed, suspended = (json.loads(r.body) for r in received[:4])
    assert [r["full_name"] for r in created["repositories"]] == ["octo-org/alpha", "octo-org/beta"]
    assert [r["full_name"] for r in removed["repositories_removed"]] == ["octo-org/beta"]
    assert suspended["installation"]["suspended_by"]["login"] == "octo-org"


def test_repository_events_reach_the_repository_hook_and_the_installed_app(app_world: AppWorld) -> None:
    app_world.emu.create_hook("octo-org", "alpha", app_world.receiver.url, secret="repo-secret")
    app_world.emu.create_issue("octo-org", "alpha", title="Hello", as_user="octo-org")
    app_world.emu.create_issue("other-org", "gamma", title="Not installed", as_user="other-org")
    received = app_world.receiver.wait_for(4)  # installation.created, ping, then issues twice
    issues = [r for r in received if r.headers["X-GitHub-Event"] == "issues"]
    targets = sorted(r.headers["X-GitHub-Hook-Installation-Target-Type"] for r in issues)
    assert targets == ["integration", "repository"]
    for delivery in issues:
        payload = json.loads(delivery.body)
        assert payload["repository"]["full_name"] == "octo-org/alpha"
        via_app = delivery.headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
        assert ("installation" in payload) == via_app
        secret = b"app-secret" if via_app else b"repo-secret"
        expected = hmac.new(secret, delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["X-Hub-Signature-256"] == f"sha256={expected}"
    app_world.emu.wait_for_deliveries(4)
    assert len(app_world.emu.deliveries(event="issues")) == 2  # nothing for the uninstalled gamma


def test_the_manifest_flow_creates_an_app_once(tmp_path: object) -> None:
    with GitHubEmulator() as emu:
        emu.add_user("octo-org", "ghp_owner")
        manifest = {
            "name": "Paid Demo",
            "url": "https://paid.example",
            "redirect_url": "http://127.0.0.1:9/github/app-created",
            "hook_attributes": {"url": "http://127.0.0.1:9/webhooks/github", "active": False},
            "default_permissions": {"contents": "write", "issues": "write"},
            "default_events": ["issues"],
        }
        form = {"manifest": json.dumps(manifest)}
        new_app = f"{emu.base_url}/settings/apps/new?state=s-123"
        assert httpx.post(new_app, data=form).status_code == 401  # nobody is signed in
        emu.sign_in("octo-org")
        redirected = httpx.post(new_app, data=form)
        assert redirected.status_code == 302
        location = urlsplit(redirected.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == manifest["redirect_url"]
        query = parse_qs(location.query)
        assert query["state"] == ["s-123"]

        conversion = f"{emu.api_url}/app-manifests/{query['code'][0]}/conversions"
        created = httpx.post(conversion)
        assert created.status_code == 201, created.text
        app = created.json()
        assert app["name"] == "Paid Demo"
        assert app["owner"]["login"] == "octo-org"
        assert app["permissions"] == {"metadata": "read", "contents": "write", "issues": "write"}
        assert app["pem"].startswith("-----BEGIN RSA PRIVATE KEY-----")
        assert app["webhook_secret"]
        assert httpx.post(conversion).status_code == 404  # a code works once

        gh = GitHub(
            AppAuthStrategy(app["id"], app["pem"]),
            base_url=f"{emu.api_url}/",
            cache_strategy=MemCacheStrategy(),
        )
        found = gh.rest.apps.get_authenticated().parsed_data
        assert found is not None
        assert found.slug == "paid-demo"

        bad = httpx.post(new_app, data={"manifest": "{not json"})
        assert bad.status_code == 422


def test_a_manifest_code_expires(tmp_path: object) -> None:
    with GitHubEmulator() as emu:
        emu.add_user("octo-org", "ghp_owner")
        emu.sign_in("octo-org")
        manifest = {"url": "https://paid.example", "redirect_url": "http://127.0.0.1:9/back"}
        redirected = httpx.post(f"{emu.base_url}/settings/apps/new", data={"manifest": json.dumps(manifest)})
        code = parse_qs(urlsplit(redirected.headers["location"]).query)["code"][0]
        emu.advance_clock(3601)
        assert httpx.post(f"{emu.api_url}/app-manifests/{code}/conversions").status_code == 404
