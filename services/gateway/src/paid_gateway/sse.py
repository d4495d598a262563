"""Server-sent events (text/event-stream), framed by hand: the format is four lines of text."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = ": keep-alive\n\n"


def frame(event: str, data: BaseModel | dict[str, Any] | list[Any], *, event_id: str | None = None) -> str:
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data, default=str)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {payload}\n\n"
