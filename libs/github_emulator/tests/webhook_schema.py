"""Validating webhook payloads against octokit/webhooks' schemas, vendored in `webhook_schemas/`."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).parent / "webhook_schemas"

# GitHub sends these fields and documents them in its own OpenAPI description of webhook payloads
# (api.github.com, version 2026-03-10, as packaged in githubkit-schemas 26.10.21:
# `WebhookIssuesLabeledPropIssuePropUser.user_view_type`,
# `WebhookIssuesLabeledPropIssuePropLabelsItems.archived_at/archived_by`), but octokit's schemas,
# which forbid unknown properties, do not list them yet. Exactly these are allowed, nothing else.
FIELDS_THE_SCHEMAS_LAG_BEHIND_ON: dict[str, dict[str, Any]] = {
    "common/user.schema.json": {"user_view_type": {"type": "string", "enum": ["public", "private"]}},
    "common/label.schema.json": {
        "archived_at": {"type": ["string", "null"], "format": "date-time"},
        "archived_by": {"oneOf": [{"$ref": "user.schema.json"}, {"type": "null"}]},
    },
}


def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text())
    allowed = FIELDS_THE_SCHEMAS_LAG_BEHIND_ON.get(schema["$id"])
    if allowed:
        schema = copy.deepcopy(schema)
        schema["properties"] |= allowed
    return schema


@cache
def _schemas() -> tuple[Registry[Any], dict[str, dict[str, Any]]]:
    by_id = {schema["$id"]: schema for schema in map(_load, sorted(SCHEMAS.rglob("*.schema.json")))}
    registry: Registry[Any] = Registry().with_resources(
        (schema_id, Resource.from_contents(schema, default_specification=DRAFT7))
        for schema_id, schema in by_id.items()
    )
    return registry, by_id


def schema_id(event: str, payload: dict[str, Any]) -> str:
    action = payload.get("action")
    return f"{event}${action}" if isinstance(action, str) else f"{event}$event"


def schema_errors(event: str, payload: dict[str, Any]) -> list[str]:
    """Every way `payload` breaks the schema of its event and action (no schema at all is one)."""
    registry, by_id = _schemas()
    wanted = schema_id(event, payload)
    if wanted not in by_id:
        return [f"no vendored schema {wanted!r}"]
    validator = Draft7Validator(by_id[wanted], registry=registry)
    return [
        f"{wanted} at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {_summary(error)}"
        for error in validator.iter_errors(payload)
    ]


def _summary(error: Any) -> str:
    # oneOf failures hide the useful message in their context; show the deepest one.
    while error.context:
        error = max(error.context, key=lambda sub: len(sub.absolute_path))
    return str(error.message)[:300]
