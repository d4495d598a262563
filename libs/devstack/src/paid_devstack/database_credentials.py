"""Passwords for the PostgreSQL logins of each service in one local stack, and each service's URL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from paid_runtime.database_roles import SERVICE_SCHEMAS, logins_of, role_for, service_of


@dataclass(frozen=True)
class DatabaseCredentials:
    passwords: dict[str, str]
    """login -> password; a service has one login, or two while it is being rotated (the later one in use).
    `provision_roles` takes this as it is: a service's login missing from it is retired."""

    @classmethod
    def generate(cls) -> DatabaseCredentials:
        return cls({role_for(service): secrets.token_urlsafe(24) for service in SERVICE_SCHEMAS})

    def login(self, service: str) -> str:
        """The login `service` connects with: the newest of its logins."""
        return [login for login in self.passwords if login in logins_of(service)][-1]

    def rotated(self, service: str) -> DatabaseCredentials:
        """A new password on `service`'s other login, beside the current one: both log in until
        `retired` removes the old one, once every process of that service has moved to the new one."""
        unused = [login for login in logins_of(service) if login not in self.passwords]
        if not unused:
            raise ValueError(f"{service} is already being rotated: retire its old login first")
        return DatabaseCredentials({**self.passwords, unused[0]: secrets.token_urlsafe(24)})

    def retired(self, login: str) -> DatabaseCredentials:
        service = service_of(login)
        if self.login(service) == login:
            raise ValueError(f"{login} is {service}'s newest login: rotate before retiring it")
        return DatabaseCredentials(
            {name: password for name, password in self.passwords.items() if name != login}
        )

    def url_for(self, service: str, admin_url: str) -> str:
        """`admin_url` (any postgres URL) with the service's login and password instead of the superuser."""
        login = self.login(service)
        parts = urlsplit(admin_url)
        netloc = f"{login}:{quote(self.passwords[login], safe='')}@{parts.hostname}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
