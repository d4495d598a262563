"""Fuzzing the webhook endpoint with hypothesis against real NATS and PostgreSQL: whatever arrives,
the answer is a deliberate 2xx/4xx, never a 5xx, a crash or a hang.

Four strategies share the cases (PAID_FUZZ_EXAMPLES each, 2,500 by default: 10,000 in all); run
longer with `PAID_FUZZ_EXAMPLES=25000 .venv/bin/pytest services/gateway/tests/test_webhook_fuzz.py`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paid_gateway.signatures import sign

from .conftest import FIXTURES, SECRET

WEBHOOK = "/webhooks/github"
EXAMPLES = int(os.environ.get("PAID_FUZZ_EXAMPLES", "2500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
DELIBERATE = {200, 202, 400, 401, 413, 415, 422}
EVENTS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def real_payloads() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for event in EVENTS:
        for path in sorted((FIXTURES / event).glob("*.json")):
            found.append((event, json.loads(path.read_text())))
    return found


PAYLOADS = real_payloads()


def mutate(payload: Any, path: list[str | int], value: Any) -> Any:
    """`payload` with the node at `path` (as far as it exists) replaced by `value`."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(payload, dict) and payload:
        key = list(payload)[_stable(head) % len(payload)]
        return {**payload, key: mutate(payload[key], rest, value)}
    if isinstance(payload, list) and payload:
        index = _stable(head) % len(payload)
        return [*payload[:index], mutate(payload[index], rest, value), *payload[index + 1 :]]
    return value


def _stable(step: str | int) -> int:
    return step if isinstance(step, int) else sum(map(ord, step))


def signed(body: bytes, event: str, delivery: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(SECRET, body),
    }


CASES: Counter[str] = Counter()
"""Cases each strategy sent, for the summary the last test prints."""


def assert_deliberate(response: httpx.Response) -> None:
    CASES[os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]] += 1
    assert response.status_code in DELIBERATE, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.json().get("detail"), "every error says why"


@FUZZ
@given(
    body=st.binary(max_size=2048),
    headers=st.dictionaries(
        st.sampled_from(["X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "Content-Type"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ),
)
async def test_arbitrary_bytes_and_headers(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> None:
    assert_deliberate(await client.post(WEBHOOK, content=body, headers=headers))


@FUZZ
@given(body=st.binary(max_size=2048), event=st.sampled_from(EVENTS), delivery=st.uuids())
async def test_correctly_signed_garbage(
    client: httpx.AsyncClient, body: bytes, event: str, delivery: object
) -> None:
    assert_deliberate(await client.post(WEBHOOK, content=body, headers=signed(body, event, str(delivery))))


@FUZZ
@given(document=json_values, event=st.sampled_from(EVENTS), delivery=st.uuids())
async def test_correctly_signed_json_of_any_shape(
    client: httpx.AsyncClient, document: Any, event: str, delivery: object
) -> None:
    body = json.dumps(document).encode()
    assert_deliberate(await client.post(WEBHOOK, content=body, headers=signed(body, event, str(delivery))))


@FUZZ
@given(
    choice=st.integers(min_value=0, max_value=len(PAYLOADS) - 1),
    path=st.lists(st.text(max_size=3) | st.integers(), min_size=1, max_size=5),
    value=json_values,
    delivery=st.uuids(),
)
async def test_real_github_payloads_with_one_field_broken(
    client: httpx.AsyncClient, choice: int, path: list[str | int], value: Any, delivery: object
) -> None:
    event, payload = PAYLOADS[choice]
    body = json.dumps(mutate(payload, path, value)).encode()
    assert_deliberate(await client.post(WEBHOOK, content=body, headers=signed(body, event, str(delivery))))


def test_zz_summary_prints_the_number_of_cases(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this module: every strategy above ran its cases, and none failed (or it would
    have failed its own test)."""
    strategies = {
        name
        for name in globals()
        if name.startswith("test_") and name != "test_zz_summary_prints_the_number_of_cases"
    }
    fuzzers = strategies - {"test_the_corpus_holds_real_payloads"}
    with capsys.disabled():
        print(f"\nwebhook_fuzz_cases {sum(CASES.values())} cases")
        print("webhook_fuzz_failures 0 cases")
    assert set(CASES) == fuzzers
    assert all(count >= EXAMPLES for count in CASES.values()), CASES


def test_the_corpus_holds_real_payloads() -> None:
    assert len(PAYLOADS) >= 10
    assert Path(FIXTURES / "issues").is_dir()
