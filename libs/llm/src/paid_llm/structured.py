"""Answers that must match a pydantic schema: ask for JSON, validate, repair once, else fail clearly."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from paid_llm.client import LLMClient
from paid_llm.errors import StructuredOutputError
from paid_llm.types import ChatRequest, Completion, Message, Usage

T = TypeVar("T", bound=BaseModel)
FENCE = re.compile(r"```(?:json)?\s*\n(\{.*?\})\s*```", re.DOTALL)


@dataclass(frozen=True)
class Structured(Generic[T]):
    value: T
    completions: tuple[Completion, ...]

    @property
    def repaired(self) -> bool:
        return len(self.completions) > 1

    @property
    def usage(self) -> Usage:
        total = Usage()
        for completion in self.completions:
            total = total + completion.usage
        return total

    @property
    def cost_usd(self) -> float | None:
        costs = [c.cost_usd for c in self.completions]
        return None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 8)


def schema_instructions(schema: type[BaseModel]) -> str:
    return (
        "Answer with one JSON object and nothing else (no prose, no code fence), "
        "valid against this JSON Schema:\n" + json.dumps(schema.model_json_schema(), indent=1)
    )


def extract_json(text: str) -> str:
    """The JSON in a reply: the whole text, a fenced block, or from the first `{` to the last `}`."""
    stripped = text.strip()
    if stripped.startswith("{"):  # the JSON itself, whose strings may well contain fences
        return stripped
    if fenced := FENCE.search(stripped):
        return fenced.group(1).strip()
    if "{" in stripped and "}" in stripped:
        return stripped[stripped.index("{") : stripped.rindex("}") + 1]
    return stripped


def validate(schema: type[T], text: str) -> T:
    return schema.model_validate_json(extract_json(text))


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()[:20]
    )


async def complete_structured(client: LLMClient, request: ChatRequest, schema: type[T]) -> Structured[T]:
    """Calls the model; on an answer that does not validate, asks once to repair it, quoting the errors.

    Raises `StructuredOutputError` (with both answers and the errors) when the repair fails too;
    provider errors (`RateLimited`, `BadRequest`, ...) propagate unchanged.
    """
    system = f"{request.system}\n\n{schema_instructions(schema)}".strip()
    first_request = request.model_copy(update={"system": system})
    first = await client.complete(first_request)
    try:
        return Structured(value=validate(schema, first.text), completions=(first,))
    except ValidationError as error:
        problems = describe(error)
    repair = first_request.model_copy(
        update={
            "messages": (
                *request.messages,
                Message(role="assistant", content=first.text or "(empty)"),
                Message(
                    role="user",
                    content="Your answer does not match the schema: "
                    f"{problems}. Reply again with only the corrected JSON object.",
                ),
            )
        }
    )
    second = await client.complete(repair)
    try:
        return Structured(value=validate(schema, second.text), completions=(first, second))
    except ValidationError as error:
        errors = describe(error)
        raise StructuredOutputError(
            f"the model's answer did not match {schema.__name__} after one repair attempt: {errors}",
            errors=errors,
            outputs=(first.text, second.text),
            provider=client.provider.value,
        ) from error
