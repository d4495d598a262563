"""`paid-provision`: the JetStream streams (services may not create them) and each service's database role
and schema. Compose's provision job runs it from the gateway's image, which carries no CLI; `paid
provision` is the same for an operator. Idempotent."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping

from paid_runtime.database_roles import SERVICE_SCHEMAS, logins_of, provision_roles, role_for
from paid_runtime.messaging import provision_streams


class ProvisioningError(Exception):
    pass


def password_setting(login: str) -> str:
    """PAID_DB_<SERVICE>_PASSWORD for a service's first login, PAID_DB_<SERVICE>_NEXT_PASSWORD for the
    second."""
    return f"PAID_DB_{login.removeprefix('paid_').upper()}_PASSWORD"


def role_passwords(environ: Mapping[str, str]) -> dict[str, str]:
    """login -> password from PAID_DB_<SERVICE>_PASSWORD and, while rotating, PAID_DB_<SERVICE>_NEXT_PASSWORD
    (a login left unset is retired). Every service needs one, or none is provisioned."""
    passwords: dict[str, str] = {}
    for service in SERVICE_SCHEMAS:
        given = {
            login: environ[password_setting(login)]
            for login in logins_of(service)
            if environ.get(password_setting(login))
        }
        if not given:
            raise ProvisioningError(f"{password_setting(role_for(service))} is not set")
        passwords |= given
    return passwords


def stream_replicas(environ: Mapping[str, str]) -> int:
    """PAID_NATS_REPLICAS: copies of each stream in a JetStream cluster (1 to 5; 1 when unset)."""
    raw = environ.get("PAID_NATS_REPLICAS") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        raise ProvisioningError(f"PAID_NATS_REPLICAS must be a whole number from 1 to 5, not {raw!r}")
    return int(raw)


def provision(
    nats_admin_url: str, database_admin_url: str | None, environ: Mapping[str, str], *, replicas: int = 1
) -> None:
    """Roles are skipped when no superuser's URL is given. Passwords are checked before anything is made."""
    passwords = role_passwords(environ) if database_admin_url is not None else {}
    asyncio.run(provision_streams(nats_admin_url, replicas=replicas))
    if database_admin_url is not None:
        asyncio.run(provision_roles(database_admin_url, passwords))


def main() -> None:
    nats_admin_url = os.environ.get("PAID_NATS_ADMIN_URL", "")
    if not nats_admin_url:
        sys.exit("paid-provision: PAID_NATS_ADMIN_URL is not set (nats://paid-admin:PASSWORD@...)")
    try:
        provision(
            nats_admin_url,
            os.environ.get("PAID_DATABASE_ADMIN_URL") or None,
            os.environ,
            replicas=stream_replicas(os.environ),
        )
    except ProvisioningError as error:
        sys.exit(f"paid-provision: {error}")
