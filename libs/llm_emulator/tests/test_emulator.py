"""The emulator scripted over its admin API and from a YAML file, as another process would use it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from paid_llm_emulator import LLMEmulator
from paid_llm_emulator.main import load_rules
from paid_llm_emulator.rules import EmulatedToolCall

RESPONSES_USAGE = {"input_tokens": 900, "output_tokens": 40, "cache_read_tokens": 300, "reasoning_tokens": 10}


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


def _sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]


def test_responses_api_answers_and_streams_function_calls_with_usage() -> None:
    with LLMEmulator() as llm:
        call = EmulatedToolCall(name="exec_command", arguments={"cmd": "ls"}, id="call_1")
        llm.reply(tool_calls=(call,), api="responses", tool="exec_command", times=1, **RESPONSES_USAGE)
        llm.reply("All done.", api="responses", **RESPONSES_USAGE)
        body = {
            "model": "gpt-5",
            "instructions": "You are Codex.",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}],
            "tools": [{"type": "function", "name": "exec_command", "parameters": {}}],
            "stream": True,
        }
        streamed = _sse_events(httpx.post(f"{llm.openai_base_url}/responses", json=body).text)
        answer = httpx.post(f"{llm.openai_base_url}/responses", json=body | {"stream": False}).json()
        recorded = llm.requests
        missing = httpx.post(f"{llm.openai_base_url}/responses", json={"model": "gpt-5"})

    assert streamed[0]["type"] == "response.created"
    arguments = "".join(e["delta"] for e in streamed if e["type"] == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"cmd": "ls"}
    done = [e["item"] for e in streamed if e["type"] == "response.output_item.done"]
    assert done == [dict(done[0], type="function_call", call_id="call_1", name="exec_command")]
    completed = streamed[-1]
    assert completed["type"] == "response.completed"
    assert completed["response"]["usage"] == {
        "input_tokens": 900,
        "input_tokens_details": {"cached_tokens": 300},
        "output_tokens": 40,
        "output_tokens_details": {"reasoning_tokens": 10},
        "total_tokens": 940,
    }
    assert [e["sequence_number"] for e in streamed] == list(range(len(streamed)))
    assert answer["output"][0]["content"][0] == {
        "type": "output_text",
        "text": "All done.",
        "annotations": [],
    }
    assert answer["usage"]["total_tokens"] == 940
    assert [(r.api, r.system, r.last_user_message, r.tools) for r in recorded] == [
        ("responses", "You are Codex.", "go", ("exec_command",))
    ] * 2
    assert missing.status_code == 400
    assert "input" in missing.json()["error"]["message"]


def test_gemini_api_answers_and_streams_function_calls_with_usage() -> None:
    with LLMEmulator() as llm:
        call = EmulatedToolCall(name="run_shell_command", arguments={"command": "ls"})
        llm.reply(tool_calls=(call,), api="gemini", tool="run_shell_command", times=1, **RESPONSES_USAGE)
        llm.reply("All done.", api="gemini", **RESPONSES_USAGE)
        body = {
            "contents": [{"role": "user", "parts": [{"text": "go"}]}],
            "systemInstruction": {"parts": [{"text": "You are Gemini CLI."}]},
            "tools": [{"functionDeclarations": [{"name": "run_shell_command"}]}],
        }
        models = f"{llm.url}/v1beta/models"
        streamed = _sse_events(
            httpx.post(f"{models}/gemini-2.5-pro:streamGenerateContent?alt=sse", json=body).text
        )
        answer = httpx.post(f"{models}/gemini-2.5-pro:generateContent", json=body).json()
        recorded = llm.requests
        unknown = httpx.post(f"{models}/gemini-2.5-pro:embedContent", json=body)

    parts = [part for chunk in streamed for part in chunk["candidates"][0]["content"]["parts"]]
    assert parts == [{"functionCall": {"name": "run_shell_command", "args": {"command": "ls"}}}]
    assert streamed[-1]["candidates"][0]["finishReason"] == "STOP"
    assert streamed[-1]["usageMetadata"] == {
        "promptTokenCount": 900,
        "candidatesTokenCount": 30,
        "cachedContentTokenCount": 300,
        "thoughtsTokenCount": 10,
        "totalTokenCount": 940,
    }
    assert answer["candidates"][0]["content"]["parts"] == [{"text": "All done."}]
    assert [(r.api, r.model, r.system, r.last_user_message, r.tools, r.stream) for r in recorded] == [
        ("gemini", "gemini-2.5-pro", "You are Gemini CLI.", "go", ("run_shell_command",), True),
        ("gemini", "gemini-2.5-pro", "You are Gemini CLI.", "go", ("run_shell_command",), False),
    ]
    assert unknown.status_code == 404
