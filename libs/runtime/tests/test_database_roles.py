"""A PostgreSQL role per service on a real server: each owns its schema and reaches no other."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from asyncpg.exceptions import InsufficientPrivilegeError

from paid_devstack.database_credentials import DatabaseCredentials
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres
from paid_runtime.database_roles import SERVICE_SCHEMAS, provision_roles, roles_script

pytestmark = pytest.mark.integration
ROLES_SQL = Path(__file__).resolve().parents[3] / "deploy" / "sql" / "roles.sql"


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("roles") as server:
        yield server


@pytest.fixture(scope="module")
async def credentials(postgres: EmbeddedPostgres) -> DatabaseCredentials:
    superuser = await asyncpg.connect(postgres.url)
    try:
        # What an installation from before the roles holds: the gateway's schema made by the superuser.
        await superuser.execute("CREATE SCHEMA gateway")
        await superuser.execute("CREATE TYPE gateway.token_role AS ENUM ('viewer', 'admin')")
        await superuser.execute(
            "CREATE TABLE gateway.api_tokens (id serial PRIMARY KEY, role gateway.token_role)"
        )
        await superuser.execute("INSERT INTO gateway.api_tokens (role) VALUES ('admin')")
    finally:
        await superuser.close()
    credentials = DatabaseCredentials.generate()
    await provision_roles(postgres.url, credentials.passwords)
    await provision_roles(postgres.url, credentials.passwords)  # idempotent: a restart provisions again
    return credentials


async def connect_as(
    service: str, postgres: EmbeddedPostgres, credentials: DatabaseCredentials
) -> asyncpg.Connection:
    return await asyncpg.connect(credentials.url_for(service, postgres.url))


async def test_the_gateway_owns_its_schema_and_what_was_in_it(
    postgres: EmbeddedPostgres, credentials: DatabaseCredentials
) -> None:
    gateway = await connect_as("gateway", postgres, credentials)
    try:
        await gateway.execute("CREATE TABLE gateway.projects (id serial PRIMARY KEY, name text)")
        await gateway.execute("ALTER TABLE gateway.api_tokens ADD COLUMN name text")  # a later migration
        await gateway.execute("INSERT INTO gateway.api_tokens (role, name) VALUES ('viewer', 'ci')")
        assert await gateway.fetchval("SELECT count(*) FROM gateway.api_tokens") == 2
    finally:
        await gateway.close()


@pytest.mark.parametrize("table", ["api_tokens", "projects"])
async def test_the_planner_cannot_read_the_gateways_tables(
    postgres: EmbeddedPostgres, credentials: DatabaseCredentials, table: str
) -> None:
    planner = await connect_as("planner", postgres, credentials)
    try:
        with pytest.raises(InsufficientPrivilegeError, match=r"^permission denied for schema gateway$"):
            await planner.fetch(f"SELECT * FROM gateway.{table}")  # noqa: S608 (a fixed table name)
    finally:
        await planner.close()


async def test_a_service_role_cannot_widen_its_reach(
    postgres: EmbeddedPostgres, credentials: DatabaseCredentials
) -> None:
    planner = await connect_as("planner", postgres, credentials)
    try:
        attempts = {
            "GRANT USAGE ON SCHEMA gateway TO paid_planner": "permission denied for schema gateway",
            "CREATE SCHEMA stash": "permission denied for database postgres",
            "CREATE TABLE public.stash (id int)": "permission denied for schema public",
            "SET ROLE paid_gateway": 'permission denied to set role "paid_gateway"',
            "ALTER ROLE paid_planner SUPERUSER": "permission denied to alter role",
        }
        for statement, error in attempts.items():
            with pytest.raises(InsufficientPrivilegeError, match=error):
                await planner.execute(statement)
    finally:
        await planner.close()


async def test_each_service_owns_exactly_its_schema(
    postgres: EmbeddedPostgres, credentials: DatabaseCredentials
) -> None:
    superuser = await asyncpg.connect(postgres.url)
    try:
        owners = dict(
            await superuser.fetch(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1::text[])",
                list(SERVICE_SCHEMAS.values()),
            )
        )
        adopted = await superuser.fetch(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'gateway' AND tablename = 'api_tokens'"
        )
    finally:
        await superuser.close()
    assert owners == {schema: f"paid_{service}" for service, schema in SERVICE_SCHEMAS.items()}
    assert [row["tableowner"] for row in adopted] == ["paid_gateway"]


def test_the_operators_script_is_generated_and_runs(
    postgres: EmbeddedPostgres, credentials: DatabaseCredentials
) -> None:
    assert ROLES_SQL.read_text() == roles_script(), "regenerate deploy/sql/roles.sql from roles_script()"
    psql = Path(postgres.process.argv[0]).parent / "psql"
    variables = [f"--variable={service}_password=from-psql-{service}" for service in SERVICE_SCHEMAS]
    result = subprocess.run(
        [
            str(psql),
            postgres.url,
            "--no-psqlrc",
            "--variable=ON_ERROR_STOP=1",
            *variables,
            "--file",
            str(ROLES_SQL),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    planner_url = DatabaseCredentials({"paid_planner": "from-psql-planner"}).url_for("planner", postgres.url)
    probe = subprocess.run(
        [str(psql), planner_url],
        input="SELECT current_user;\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "paid_planner" in probe.stdout, probe.stderr
