"""Where the infrastructure answers, whether started here or given by URL."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Self

from paid_devstack.postgres import libpq_url, sqlalchemy_async_url

ENDPOINTS_FILE = "endpoints.json"


def default_home() -> Path:
    """`$PAID_HOME`, else `.paid` under the current directory."""
    return Path(os.environ.get("PAID_HOME") or Path.cwd() / ".paid")


@dataclass(frozen=True)
class InfraEndpoints:
    temporal_target: str
    temporal_ui_url: str | None
    nats_url: str
    database_url: str
    """libpq form (postgresql://...), as asyncpg.connect takes it."""

    @property
    def sqlalchemy_url(self) -> str:
        return sqlalchemy_async_url(self.database_url)

    def as_env(self) -> dict[str, str]:
        """The variables `paid_runtime.settings.ServiceSettings` reads."""
        env = {
            "PAID_TEMPORAL_TARGET": self.temporal_target,
            "PAID_NATS_URL": self.nats_url,
            "PAID_DATABASE_URL": self.sqlalchemy_url,
        }
        if self.temporal_ui_url:
            env["PAID_TEMPORAL_UI_URL"] = self.temporal_ui_url
        return env

    def save(self, data_dir: Path) -> Path:
        path = data_dir / ENDPOINTS_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, data_dir: Path | None = None) -> Self:
        """Endpoints a running `InfraStack` wrote into `data_dir` (default: `default_home()`)."""
        data = json.loads(((data_dir or default_home()) / ENDPOINTS_FILE).read_text())
        return cls(**{**data, "database_url": libpq_url(data["database_url"])})
