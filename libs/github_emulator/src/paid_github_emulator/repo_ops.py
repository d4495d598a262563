"""Users, repositories, collaborator permissions and hooks."""

from __future__ import annotations

import secrets

from paid_github_emulator.errors import validation_failed
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import PERMISSION_RANK, Hook, Label, Permission, Repo, User

DEFAULT_LABELS = {
    "bug": ("d73a4a", "Something isn't working"),
    "documentation": ("0075ca", "Improvements or additions to documentation"),
    "enhancement": ("a2eeef", "New feature or request"),
}


def add_user(
    hub: Hub,
    login: str,
    token: str | None = None,
    *,
    name: str | None = None,
    email: str | None = None,
    site_admin: bool = False,
) -> User:
    """Create a user, or give an existing one another token (a user may hold several)."""
    with hub.store.lock:
        user = hub.store.users.get(login.lower())
        if user is None:
            user = User(
                id=hub.store.new_id(),
                login=login,
                token=token or "",
                name=name,
                email=email or f"{login}@users.noreply.localhost",
                created_at=hub.store.now(),
                site_admin=site_admin,
            )
            hub.store.users[login.lower()] = user
        if token:
            hub.store.tokens[token] = login.lower()
        return user


def create_repository(
    hub: Hub,
    owner: str,
    name: str,
    files: dict[str, str] | None = None,
    *,
    default_branch: str = "main",
    private: bool = False,
    description: str | None = None,
) -> Repo:
    with hub.store.lock:
        if hub.store.find_repo(owner, name) is not None:
            raise validation_failed("Repository", "name", "custom", "name already exists on this account")
        owner_user = hub.store.find_user(owner) or add_user(hub, owner, f"emu_{secrets.token_hex(12)}")
        hub.git.create(owner_user.login, name, files or {}, default_branch, owner_user.login)
        now = hub.store.now()
        repo = Repo(
            id=hub.store.new_id(),
            owner=owner_user.login,
            name=name,
            private=private,
            default_branch=default_branch,
            created_at=now,
            updated_at=now,
            pushed_at=now,
            description=description,
        )
        for label_name, (color, text) in DEFAULT_LABELS.items():
            repo.labels[label_name] = Label(hub.store.new_id(), label_name, color, text, default=True)
        hub.store.repos[repo.full_name.lower()] = repo
        return repo


def set_permission(hub: Hub, repo: Repo, login: str, permission: Permission) -> None:
    if permission not in PERMISSION_RANK:
        raise validation_failed("Collaborator", "permission", "invalid")
    with hub.store.lock:
        hub.user(login)
        repo.permissions[login.lower()] = permission


def create_hook(
    hub: Hub,
    repo: Repo,
    actor: User,
    *,
    url: str,
    secret: str | None,
    content_type: str = "json",
    events: list[str] | None = None,
    active: bool = True,
) -> Hook:
    if not url:
        raise validation_failed("Hook", "url", "missing_field")
    with hub.store.lock:
        now = hub.store.now()
        hook = Hook(
            id=hub.store.new_id(),
            url=url,
            secret=secret,
            content_type=content_type,
            events=events or ["push"],
            active=active,
            created_at=now,
            updated_at=now,
        )
        repo.hooks[hook.id] = hook
        # GitHub pings every new hook, and only it; receivers (and tests) see it as the first delivery.
        hub.emit(
            repo,
            "ping",
            actor,
            {
                "zen": "Keep it logically awesome.",
                "hook_id": hook.id,
                "hook": hub.hook_json(repo, hook),
            },
            only=hook,
        )
        return hook


def record_hook_result(hub: Hub, hook_id: int, status: int | None, message: str) -> None:
    with hub.store.lock:
        for repo in hub.store.repos.values():
            if hook := repo.hooks.get(hook_id):
                hook.last_status, hook.last_message = status, message
