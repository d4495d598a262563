"""GitHub App operations: creating Apps, installing them, and their `installation*` deliveries."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paid_github_emulator import shapes_apps
from paid_github_emulator.apps import App, Installation
from paid_github_emulator.errors import ApiError, not_found, validation_failed
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes import Json
from paid_github_emulator.state import Repo, User

DEFAULT_PERMISSIONS = {"metadata": "read"}


def new_key_pair() -> tuple[str, str]:
    """A fresh RSA key as GitHub hands it out: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def create_app(
    hub: Hub,
    owner: str,
    name: str,
    *,
    url: str = "https://example.invalid",
    webhook_url: str | None = None,
    webhook_active: bool = True,
    webhook_secret: str | None = None,
    permissions: dict[str, str] | None = None,
    events: list[str] | None = None,
    description: str = "",
) -> tuple[App, str]:
    """Register an App owned by `owner`; returns it with its private key (PEM), shown only once."""
    private_pem, public_pem = new_key_pair()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"
    with hub.store.lock, hub.apps.lock:
        owner_user = hub.user(owner)
        if any(found.slug == slug for found in hub.apps.apps.values()):
            raise validation_failed("Integration", "name", "already_exists", "Name is already in use")
        now = hub.store.now()
        app_id = hub.store.new_id()
        bot = User(
            id=hub.store.new_id(),
            login=f"{slug}[bot]",
            token="",
            name=name,
            email=f"{app_id}+{slug}[bot]@users.noreply.localhost",
            created_at=now,
            type="Bot",
        )
        hub.store.users[bot.login.lower()] = bot
        found = App(
            id=app_id,
            slug=slug,
            name=name,
            owner=owner_user.login,
            client_id=f"Iv1.{secrets.token_hex(8)}",
            client_secret=secrets.token_hex(20),
            webhook_secret=webhook_secret if webhook_secret is not None else secrets.token_hex(20),
            public_key_pem=public_pem,
            bot_login=bot.login,
            permissions=DEFAULT_PERMISSIONS | (permissions or {}),
            events=list(events or []),
            webhook_url=webhook_url,
            webhook_active=webhook_active and webhook_url is not None,
            description=description,
            url=url,
            created_at=now,
            hook_id=hub.store.new_id(),
        )
        hub.apps.apps[found.id] = found
        return found, private_pem


def app_json(hub: Hub, found: App) -> Json:
    with hub.store.lock, hub.apps.lock:
        count = sum(1 for item in hub.apps.installations.values() if item.app_id == found.id)
        return shapes_apps.app(hub.urls, found, hub.user(found.owner), installations_count=count)


def installation_json(hub: Hub, found: Installation) -> Json:
    with hub.store.lock, hub.apps.lock:
        suspender = hub.store.find_user(found.suspended_by) if found.suspended_by else None
        return shapes_apps.installation(
            hub.urls, found, hub.apps.apps[found.app_id], hub.user(found.account), suspender
        )


def installation_repos(hub: Hub, found: Installation) -> list[Repo]:
    with hub.store.lock:
        owned = [repo for repo in hub.store.repos.values() if repo.owner.lower() == found.account.lower()]
        if found.repository_selection == "selected":
            owned = [repo for repo in owned if repo.id in found.repo_ids]
        return sorted(owned, key=lambda repo: repo.id)


def get_app(hub: Hub, app_id: int) -> App:
    found = hub.apps.apps.get(app_id)
    if found is None:
        raise not_found()
    return found


def get_installation(hub: Hub, installation_id: int, app: App | None = None) -> Installation:
    found = hub.apps.installations.get(installation_id)
    if found is None or (app is not None and found.app_id != app.id):
        raise not_found()
    return found


# Installing
def install(
    hub: Hub, app_id: int, account: str, repositories: list[str] | None, *, sender: str
) -> Installation:
    """Install the App on `account`'s repositories (`None`: all of them), as `sender` would in the UI."""
    with hub.store.lock, hub.apps.lock:
        found_app = get_app(hub, app_id)
        owner = hub.user(account)
        if any(
            i.app_id == app_id and i.account.lower() == owner.login.lower()
            for i in hub.apps.installations.values()
        ):
            raise validation_failed("Installation", "account", "already_exists")
        now = hub.store.now()
        repo_ids = {_owned_repo(hub, owner, name).id for name in repositories or []}
        found = Installation(
            hub.store.new_id(),
            app_id,
            owner.login,
            "all" if repositories is None else "selected",
            repo_ids,
            now,
            now,
        )
        hub.apps.installations[found.id] = found
        repos = installation_repos(hub, found)
        _grant(found_app, repos)
        payload = {"action": "created", "repositories": [shapes_apps.repository_lite(r) for r in repos]}
        _emit(hub, found, "installation", hub.user(sender), payload)
        return found


def change_repositories(
    hub: Hub,
    installation_id: int,
    *,
    added: Sequence[str] = (),
    removed: Sequence[str] = (),
    sender: str,
) -> None:
    with hub.store.lock, hub.apps.lock:
        found = get_installation(hub, installation_id)
        found_app = hub.apps.apps[found.app_id]
        owner = hub.user(found.account)
        gained = [_owned_repo(hub, owner, name) for name in added]
        lost = [_owned_repo(hub, owner, name) for name in removed]
        if found.repository_selection == "all" and lost:
            found.repo_ids = {repo.id for repo in installation_repos(hub, found)}
        found.repository_selection = "selected"
        found.repo_ids |= {repo.id for repo in gained}
        found.repo_ids -= {repo.id for repo in lost}
        found.updated_at = hub.store.now()
        _grant(found_app, gained)
        for repo in lost:
            repo.permissions.pop(found_app.bot_login.lower(), None)
        for action, repos in (("added", gained), ("removed", lost)):
            if repos:
                payload = {
                    "action": action,
                    "repository_selection": found.repository_selection,
                    "repositories_added": [shapes_apps.repository_lite(r) for r in repos]
                    if action == "added"
                    else [],
                    "repositories_removed": [shapes_apps.repository_lite(r) for r in repos]
                    if action == "removed"
                    else [],
                    "requester": None,
                }
                _emit(hub, found, "installation_repositories", hub.user(sender), payload)


def set_suspended(hub: Hub, installation_id: int, suspended: bool, *, sender: str) -> None:
    with hub.store.lock, hub.apps.lock:
        found = get_installation(hub, installation_id)
        found.suspended_at = hub.store.now() if suspended else None
        found.suspended_by = hub.user(sender).login if suspended else None
        found.updated_at = hub.store.now()
        repos = [shapes_apps.repository_lite(r) for r in installation_repos(hub, found)]
        _emit(
            hub,
            found,
            "installation",
            hub.user(sender),
            {"action": "suspend" if suspended else "unsuspend", "repositories": repos},
        )


def uninstall(hub: Hub, installation_id: int, *, sender: str) -> None:
    """Delete the installation: its tokens stop working at once and `installation.deleted` is sent."""
    with hub.store.lock, hub.apps.lock:
        found = get_installation(hub, installation_id)
        found_app = hub.apps.apps[found.app_id]
        repos = installation_repos(hub, found)
        payload = {"action": "deleted", "repositories": [shapes_apps.repository_lite(r) for r in repos]}
        _emit(hub, found, "installation", hub.user(sender), payload)
        for repo in repos:
            repo.permissions.pop(found_app.bot_login.lower(), None)
        del hub.apps.installations[found.id]
        for token in [t for t, record in hub.apps.tokens.items() if record.installation_id == found.id]:
            del hub.apps.tokens[token]


def _emit(hub: Hub, found: Installation, event: str, sender: User, payload: Json) -> None:
    """Installation events go to the App's own hook, whatever events it subscribed to (as on GitHub)."""
    found_app = hub.apps.apps[found.app_id]
    hook = found_app.hook()
    if hook is None:
        return
    body = payload | {"installation": installation_json(hub, found), "sender": hub.user_json(sender)}
    hub.webhooks.enqueue(hook, repo="", repo_id=found_app.id, event=event, payload=body, app_id=found_app.id)


def _owned_repo(hub: Hub, owner: User, name: str) -> Repo:
    repo = hub.store.find_repo(owner.login, name.split("/")[-1])
    if repo is None:
        raise ApiError(422, f"Repository {name} does not exist on {owner.login}")
    return repo


def _grant(found_app: App, repos: list[Repo]) -> None:
    """The App's bot acts on installed repositories; each token narrows what it may do."""
    level = "write" if "write" in found_app.permissions.values() else "read"
    for repo in repos:
        repo.permissions[found_app.bot_login.lower()] = level  # type: ignore[assignment]
