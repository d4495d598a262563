"""The python API of the emulator's GitHub Apps (a part of `Emulator`)."""

from __future__ import annotations

from paid_github_emulator import app_ops
from paid_github_emulator.apps import App, Installation
from paid_github_emulator.hub import Hub


class EmulatorApps:
    hub: Hub

    # GitHub Apps
    def create_app(
        self,
        owner: str,
        name: str,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
    ) -> tuple[App, str]:
        """Register an App as its owner would; returns it and its private key (PEM)."""
        return app_ops.create_app(
            self.hub,
            owner,
            name,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            permissions=permissions,
            events=events,
        )

    def install_app(
        self, app_id: int, account: str, repositories: list[str] | None = None, *, as_user: str | None = None
    ) -> Installation:
        """Install on `account`'s `repositories` (all of them when None); sends `installation.created`."""
        return app_ops.install(self.hub, app_id, account, repositories, sender=as_user or account)

    def add_installation_repositories(self, installation_id: int, names: list[str], *, as_user: str) -> None:
        app_ops.change_repositories(self.hub, installation_id, added=names, sender=as_user)

    def remove_installation_repositories(
        self, installation_id: int, names: list[str], *, as_user: str
    ) -> None:
        app_ops.change_repositories(self.hub, installation_id, removed=names, sender=as_user)

    def suspend_installation(self, installation_id: int, *, as_user: str) -> None:
        app_ops.set_suspended(self.hub, installation_id, True, sender=as_user)

    def unsuspend_installation(self, installation_id: int, *, as_user: str) -> None:
        app_ops.set_suspended(self.hub, installation_id, False, sender=as_user)

    def uninstall_app(self, installation_id: int, *, as_user: str) -> None:
        app_ops.uninstall(self.hub, installation_id, sender=as_user)

    def sign_in(self, login: str | None) -> None:
        """Who the emulated web UI (the App manifest flow) acts for."""
        self.hub.apps.web_login = login
