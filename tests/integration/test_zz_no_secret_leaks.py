"""Runs after the other integration tests of the session (the name sorts last) and scans everything
they made Paid emit: every service's log, every span, every event on NATS, every table row, and every
issue, comment, pull request and commit on the GitHub emulator. No secret may appear in any of it:
neither the configured ones nor any installation token the emulator minted nor a GitHub App's key."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess

import asyncpg
import nats
import pytest

from paid_contracts.nats_access import NATS_USERS
from paid_devstack import OtlpSink
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.database_roles import SERVICE_SCHEMAS
from paid_runtime.redaction import find_secrets

pytestmark = pytest.mark.integration


def secrets_of(paid: EmulatedPaid) -> frozenset[str]:
    """The GitHub credentials, and the internal ones: NATS and database passwords, evolution's API token."""
    infra = paid.platform.infra
    internal = {paid.platform.evolution_api_token, *infra.database_credentials.passwords.values()}
    if infra.nats_credentials is not None:
        internal |= set(infra.nats_credentials.passwords.values())
    return frozenset({paid.bot_token, paid.maintainer_token, paid.webhook_secret, *internal})


def github_app_secrets(paid: EmulatedPaid) -> frozenset[str]:
    """Every installation token the emulator minted, and each App's private key (whole and line by
    line, so a cut-short key is found too), webhook and client secrets."""
    apps = paid.github.hub.apps
    with apps.lock:
        found = {*apps.tokens, *(a.client_secret for a in apps.apps.values())}
        found |= {a.webhook_secret for a in apps.apps.values() if a.webhook_secret}
    pem = paid.platform.config.service_env.get("gateway", {}).get("PAID_GATEWAY_GITHUB_APP_PRIVATE_KEY")
    if pem:
        found |= {pem, *(line for line in pem.splitlines() if len(line) >= 40)}
    return frozenset(found)


def database_rows(paid: EmulatedPaid) -> dict[str, str]:
    """Every row of every table the services own, as text."""

    async def read() -> dict[str, str]:
        connection = await asyncpg.connect(paid.platform.infra.database_url)
        found: dict[str, str] = {}
        try:
            tables = await connection.fetch(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name"
                " FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
            for table in tables:
                # The name comes from the catalog, quoted by PostgreSQL itself.
                rows = await connection.fetch(f"SELECT t::text AS row FROM {table['name']} t")  # noqa: S608
                found[f"table {table['name']}"] = "\n".join(str(row["row"]) for row in rows)
        finally:
            await connection.close()
        return found

    return asyncio.run(read())


def service_logs(paid: EmulatedPaid) -> dict[str, str]:
    """The services' logs and the servers' (nats-server logs every refused login, PostgreSQL its errors)."""
    logs = [*paid.platform.supervisor.log_dir.glob("*.log")]
    logs += [server.process.log_path for server in paid.platform.infra.servers]
    return {str(path): path.read_text(errors="replace") for path in logs if path.exists()}


def github_texts(paid: EmulatedPaid) -> dict[str, str]:
    texts: dict[str, str] = {}
    store = paid.github.hub.store
    with store.lock:
        for repo in store.repos.values():
            for issue in repo.issues.values():
                texts[f"{repo.full_name}#{issue.number}"] = f"{issue.title}\n{issue.body or ''}"
            for comment in repo.comments.values():
                texts[f"{repo.full_name} comment {comment.id}"] = comment.body
    for bare in paid.github.hub.git.root.glob("*/*.git"):
        log = subprocess.run(
            ["git", "log", "--all", "-p", "--format=%H%n%an <%ae>%n%B"],
            cwd=bare,
            capture_output=True,
            text=True,
            check=True,
        )
        texts[f"git {bare}"] = log.stdout
    return texts


def nats_events(paid: EmulatedPaid) -> dict[str, str]:
    async def read() -> dict[str, str]:
        connection = await nats.connect(paid.platform.infra.nats_admin_url)
        found: dict[str, str] = {}
        try:
            js = connection.jetstream()
            for name in await js.streams_info():
                stream = name.config.name
                for sequence in range(max(name.state.first_seq, 1), name.state.last_seq + 1):
                    try:
                        message = await js.get_msg(stream, sequence)
                    except nats.js.errors.NotFoundError:
                        continue
                    body = (message.data or b"").decode(errors="replace")
                    found[f"{stream}#{sequence}"] = body + json.dumps(message.headers or {})
        finally:
            await connection.close()
        return found

    return asyncio.run(read())


def spans_text(spans: OtlpSink) -> dict[str, str]:
    return {f"span {span.name}": json.dumps(dataclasses.asdict(span), default=str) for span in spans.spans()}


def test_no_secret_in_any_log_span_event_comment_pull_request_or_commit(
    paid: EmulatedPaid, spans: OtlpSink
) -> None:
    known = secrets_of(paid)
    # GitHub's three, evolution's API token, a database role per service, a NATS user per service and admin.
    assert len(known) == 3 + 1 + len(SERVICE_SCHEMAS) + len(NATS_USERS)
    known |= github_app_secrets(paid)
    emitted = {
        **service_logs(paid),
        **github_texts(paid),
        **nats_events(paid),
        **spans_text(spans),
        **database_rows(paid),
    }
    assert len(emitted) > 20, "the scan must see what the other tests produced"
    leaks = {where: found for where, text in emitted.items() if (found := find_secrets(text, known))}
    assert leaks == {}
