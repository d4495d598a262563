"""What both providers' clients build the same way: the finished Completion and streamed tool calls."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from paid_llm.pricing import FallbackPrice, cost_usd
from paid_llm.types import Completion, Provider, ToolCall, Usage


def finished_completion(
    provider: Provider,
    fallback_price: FallbackPrice,
    model: str,
    text: str,
    calls: tuple[ToolCall, ...],
    stop_reason: str | None,
    usage: Usage,
    started: float,
    requested_at: datetime,
) -> Completion:
    return Completion(
        provider=provider,
        model=model,
        text=text,
        tool_calls=calls,
        stop_reason=stop_reason,
        usage=usage,
        cost_usd=cost_usd(
            usage, model=model, provider=provider.value, at=requested_at, fallback=fallback_price
        ),
        duration_seconds=time.monotonic() - started,
    )


def streamed_tool_calls(tools: dict[int, dict[str, Any]]) -> tuple[ToolCall, ...]:
    """Tool calls assembled from streamed fragments (by index: id, name and the JSON text of the args)."""
    return tuple(
        ToolCall(id=t["id"], name=t["name"], arguments=json.loads(t["json"] or "{}"))
        for _, t in sorted(tools.items())
    )
