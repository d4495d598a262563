"""The emulator scripted over its admin API and from a YAML file, as another process would use it."""

from __future__ import annotations

from pathlib import Path

import httpx

from paid_llm_emulator import LLMEmulator
from paid_llm_emulator.main import load_rules


def test_rules_over_http_and_recorded_requests() -> None:
    with LLMEmulator() as llm:
        rule = {"match": {"api": "openai", "regex": "^plan\\b"}, "reply": {"text": "planned"}, "times": 1}
        assert httpx.post(f"{llm.url}/_emulator/rules", json=rule).status_code == 201
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "plan this"}]}
        answer = httpx.post(f"{llm.openai_base_url}/chat/completions", json=body).json()
        assert answer["choices"][0]["message"]["content"] == "planned"
        again = httpx.post(f"{llm.openai_base_url}/chat/completions", json=body)
        assert again.status_code == 400
        assert "no rule matches" in again.json()["error"]["message"]
        anthropic = httpx.post(f"{llm.url}/v1/messages", json=body)
        assert anthropic.json()["error"]["type"] == "invalid_request_error"
        recorded = httpx.get(f"{llm.url}/_emulator/requests").json()
        assert [r["api"] for r in recorded] == ["openai", "openai", "anthropic"]
        assert httpx.post(f"{llm.url}/v1/messages", content=b"not json").status_code == 400


def test_rules_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "- match: {contains: plan}\n  reply: {text: '{\"ok\": true}'}\n- reply: {status: 529}\n  times: 2\n"
    )
    rules = load_rules(path)
    assert rules[0].reply.text == '{"ok": true}'
    assert (rules[1].reply.status, rules[1].times) == (529, 2)
