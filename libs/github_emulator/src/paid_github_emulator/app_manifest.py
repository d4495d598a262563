"""GitHub's App manifest flow: a one-time code for a posted manifest, converted into an App."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from paid_github_emulator.app_ops import app_json, create_app
from paid_github_emulator.apps import MANIFEST_CODE_LIFETIME_SECONDS, ManifestCode
from paid_github_emulator.errors import not_found, validation_failed
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes import Json


def start_manifest(hub: Hub, owner: str, manifest: dict[str, Any]) -> ManifestCode:
    if not isinstance(manifest.get("url"), str):
        raise validation_failed("Integration", "url", "missing_field")
    with hub.apps.lock:
        code = ManifestCode(
            secrets.token_hex(10),
            owner,
            manifest,
            hub.store.now() + timedelta(seconds=MANIFEST_CODE_LIFETIME_SECONDS),
        )
        hub.apps.manifest_codes[code.code] = code
        return code


def convert_manifest(hub: Hub, code: str) -> Json:
    """`POST /app-manifests/{code}/conversions`: the App with its secrets; each code works once."""
    with hub.apps.lock:
        pending = hub.apps.manifest_codes.pop(code, None)
    if pending is None or pending.expires_at <= hub.store.now():
        raise not_found()
    manifest = pending.manifest
    hook = manifest.get("hook_attributes") or {}
    found, pem = create_app(
        hub,
        pending.owner,
        str(manifest.get("name") or f"{pending.owner}-app"),
        url=str(manifest["url"]),
        webhook_url=hook.get("url"),
        webhook_active=bool(hook.get("active", True)),
        permissions={str(k): str(v) for k, v in (manifest.get("default_permissions") or {}).items()},
        events=[str(event) for event in manifest.get("default_events") or []],
        description=str(manifest.get("description") or ""),
    )
    return app_json(hub, found) | {
        "client_id": found.client_id,
        "client_secret": found.client_secret,
        "webhook_secret": found.webhook_secret,
        "pem": pem,
    }
