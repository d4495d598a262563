"""Passwords for the PostgreSQL role of each service in one local stack, and each service's URL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from paid_runtime.database_roles import SERVICE_SCHEMAS, role_for


@dataclass(frozen=True)
class DatabaseCredentials:
    passwords: dict[str, str]
    """service -> its role's password"""

    @classmethod
    def generate(cls) -> DatabaseCredentials:
        return cls({service: secrets.token_urlsafe(24) for service in SERVICE_SCHEMAS})

    def url_for(self, service: str, admin_url: str) -> str:
        """`admin_url` (any postgres URL) with the service's role and password instead of the superuser."""
        parts = urlsplit(admin_url)
        netloc = f"{role_for(service)}:{quote(self.passwords[service], safe='')}@{parts.hostname}"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=netloc))
