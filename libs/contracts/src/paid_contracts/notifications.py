"""Notification channels: where the notifier sends which kinds of events, for which project.

Shared vocabulary of the notifier (which delivers) and whoever configures channels; validation here
refuses an unknown channel kind, a malformed URL or address, and names the field."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)


class NotificationKind(StrEnum):
    RUN_FINISHED = "run_finished"
    NEEDS_INPUT = "needs_input"
    BUDGET_ALERT = "budget_alert"  # 80% of a cap
    BUDGET_STOP = "budget_stop"  # 100%: calls refused
    PR_READY = "pr_ready"
    PROJECT_NEEDS_ATTENTION = "project_needs_attention"


ChannelKind = Literal["slack", "webhook", "email"]
EMAIL = re.compile(r"^[^@\s<>,;\"\x00-\x1f]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_URL = TypeAdapter(HttpUrl)


class ChannelSpec(BaseModel):
    """One channel. `project` None: every project's events (and the global budget's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: ChannelKind
    target: str = Field(
        min_length=3, max_length=2000, description="https URL (slack, webhook) or email address (email)"
    )
    secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="webhook: the HMAC-SHA256 key the receiver verifies signatures with",
    )
    project: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    events: tuple[NotificationKind, ...] = tuple(NotificationKind)

    # Field validators (not one model validator), so that an error names its field (`target`, `secret`).
    @field_validator("target")
    @classmethod
    def _target_fits_kind(cls, target: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "email":
            if not EMAIL.match(target):
                raise ValueError("not an email address")
            return target
        try:
            url = _URL.validate_python(target)
        except ValueError:
            raise ValueError("not an http(s) URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("not an http(s) URL")
        return target

    @field_validator("secret")
    @classmethod
    def _webhooks_sign(cls, secret: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("kind") == "webhook" and (secret is None or len(secret.get_secret_value()) < 16):
            raise ValueError("a webhook needs a signing secret of at least 16 characters")
        return secret
