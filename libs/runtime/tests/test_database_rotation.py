"""Rotating a service's database password with an overlap, on a PostgreSQL that checks passwords: the
service writes throughout, nothing is lost, and the old password is refused once the overlap ends."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from asyncpg.exceptions import (
    InsufficientPrivilegeError,
    InvalidPasswordError,
)
from sqlalchemy import text

from paid_devstack import wait_until_async
from paid_devstack.database_credentials import DatabaseCredentials
from paid_devstack.postgres import EmbeddedPostgres, libpq_url
from paid_devstack.test_servers import scratch_postgres
from paid_runtime.database import make_engine
from paid_runtime.database_roles import SERVICE_SCHEMAS, provision_roles, role_statements
from paid_runtime.redaction import find_secrets

pytestmark = pytest.mark.integration
ROLES_SQL = Path(__file__).resolve().parents[3] / "deploy" / "sql" / "roles.sql"


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("rotation", check_passwords=True) as server:
        yield server


class Writer:
    """A replica of the planner: inserts numbered events through its own pool until stopped. An insert
    that fails ends the task, and `stop` raises it: every event is written or the test fails."""

    def __init__(self, url: str, numbers: Iterator[int]) -> None:
        self.engine = make_engine(url, pool_size=2)
        self.numbers = numbers
        self.written: list[int] = []
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            number = next(self.numbers)
            async with self.engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO planner.events (number) VALUES (:n)"), {"n": number}
                )
            self.written.append(number)

    async def wrote(self, count: int) -> bool:
        if self.task.done():
            self.task.result()  # raises what ended it
        return len(self.written) >= count

    async def stop(self) -> None:
        self.stopping.set()
        try:
            await self.task
        finally:
            await self.engine.dispose()


async def _closed(connection: asyncpg.Connection) -> bool:
    return bool(connection.is_closed())


async def refused(url: str) -> str:
    with pytest.raises(InvalidPasswordError) as refusal:
        await asyncpg.connect(libpq_url(url))
    return str(refusal.value)


async def test_rotation_overlaps_loses_no_write_and_ends_the_old_password(postgres: EmbeddedPostgres) -> None:
    old = DatabaseCredentials.generate()
    await provision_roles(postgres.url, old.passwords)
    setup = await asyncpg.connect(libpq_url(old.url_for("planner", postgres.url)))
    await setup.execute(
        "CREATE TABLE planner.events (number int PRIMARY KEY)"
    )  # a migration, as paid_planner
    await setup.close()
    numbers = iter(range(1_000_000))

    before = Writer(old.url_for("planner", postgres.url), numbers)
    after: Writer | None = None
    try:
        await wait_until_async(lambda: before.wrote(20), timeout=60, what="writes with the old password")
        both = old.rotated("planner")
        await provision_roles(postgres.url, both.passwords)  # while the old replica writes
        assert both.login("planner") == "paid_planner_next"
        lingering = await asyncpg.connect(libpq_url(old.url_for("planner", postgres.url)))
        # A rolling restart: both replicas write for a while, then the old one stops.
        after = Writer(both.url_for("planner", postgres.url), numbers)
        await wait_until_async(lambda: after.wrote(20), timeout=60, what="writes with the new password")
        await before.stop()
        new = both.retired("paid_planner")
        await provision_roles(postgres.url, new.passwords)
        count = len(after.written) + 20
        await wait_until_async(lambda: after.wrote(count), timeout=60, what="writes after the overlap")
    finally:
        await before.stop()
        if after is not None:
            await after.stop()
    assert await refused(old.url_for("planner", postgres.url)) == (
        'password authentication failed for user "paid_planner"'
    )
    # A session the old password opened is ended too (asyncpg closes it when the server says so).
    await wait_until_async(lambda: _closed(lingering), timeout=30, what="the old session to end")

    superuser = await asyncpg.connect(postgres.url)
    try:
        stored = [row["number"] for row in await superuser.fetch("SELECT number FROM planner.events")]
        owner = await superuser.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'events'")
    finally:
        await superuser.close()
    assert sorted(stored) == sorted(before.written + after.written)  # nothing lost, nothing twice
    assert len(before.written) >= 20
    assert len(after.written) >= 40
    assert owner == "paid_planner"
    # The next rotation goes back to the first login.
    assert new.rotated("planner").login("planner") == "paid_planner"
    # PostgreSQL logged the refused login: neither password, old or new, is in its log.
    log = postgres.process.log_path.read_text(errors="replace")
    assert 'password authentication failed for user "paid_planner"' in log
    assert find_secrets(log, frozenset(both.passwords.values())) == []


async def test_the_second_login_acts_only_as_its_service(postgres: EmbeddedPostgres) -> None:
    credentials = DatabaseCredentials.generate().rotated("planner")
    await provision_roles(postgres.url, credentials.passwords)
    planner = await asyncpg.connect(libpq_url(credentials.url_for("planner", postgres.url)))
    try:
        assert await planner.fetchrow("SELECT session_user, current_user") == (
            "paid_planner_next",
            "paid_planner",
        )
        await planner.execute("RESET ALL")  # what a connection pool does between borrowers
        assert await planner.fetchval("SELECT current_user") == "paid_planner"
        await planner.execute("CREATE TABLE planner.made_by_next (id int)")
        with pytest.raises(InsufficientPrivilegeError, match=r"^permission denied for schema gateway$"):
            await planner.fetch("SELECT * FROM gateway.api_tokens")
        with pytest.raises(InsufficientPrivilegeError, match='permission denied to set role "paid_gateway"'):
            await planner.execute("SET ROLE paid_gateway")
        await planner.execute("SET ROLE NONE")  # as itself, the login holds nothing of its service's
        with pytest.raises(InsufficientPrivilegeError, match=r"^permission denied for schema planner$"):
            await planner.execute("CREATE TABLE planner.stash (id int)")
    finally:
        await planner.close()
    superuser = await asyncpg.connect(postgres.url)
    try:
        owner = await superuser.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'made_by_next'")
    finally:
        await superuser.close()
    assert owner == "paid_planner"


def test_a_rotation_is_finished_before_the_next_and_never_leaves_a_service_without_a_login() -> None:
    credentials = DatabaseCredentials.generate().rotated("executor")
    with pytest.raises(ValueError, match="already being rotated"):
        credentials.rotated("executor")
    with pytest.raises(ValueError, match="newest login"):
        credentials.retired(credentials.login("executor"))
    with pytest.raises(ValueError, match="needs a password for one of paid_executor, paid_executor_next"):
        role_statements("executor", {})


def run_roles_script(
    postgres: EmbeddedPostgres, passwords: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    psql = Path(postgres.process.argv[0]).parent / "psql"
    variables = [f"--variable={name}={password}" for name, password in passwords.items()]
    return subprocess.run(
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


async def test_the_operators_script_rotates_with_an_overlap(postgres: EmbeddedPostgres) -> None:
    first = {f"{service}_password": f"first-{service}" for service in SERVICE_SCHEMAS}
    assert run_roles_script(postgres, first).returncode == 0
    both = {**first, "executor_next_password": "second-executor"}
    assert run_roles_script(postgres, both).returncode == 0
    for login, password in (("paid_executor", "first-executor"), ("paid_executor_next", "second-executor")):
        connection = await asyncpg.connect(libpq_url(_url(postgres, login, password)))
        assert await connection.fetchval("SELECT current_user") == "paid_executor"
        await connection.close()
    rotated = {name: value for name, value in both.items() if name != "executor_password"}
    assert run_roles_script(postgres, rotated).returncode == 0
    assert await refused(_url(postgres, "paid_executor", "first-executor")) == (
        'password authentication failed for user "paid_executor"'
    )
    missing = {name: value for name, value in first.items() if name != "evolution_password"}
    result = run_roles_script(postgres, missing)
    assert result.returncode != 0
    assert "set evolution_password (or evolution_next_password) for evolution" in result.stderr


def _url(postgres: EmbeddedPostgres, login: str, password: str) -> str:
    return f"postgresql://{login}:{password}@127.0.0.1:{postgres.port}/{postgres.database}"
