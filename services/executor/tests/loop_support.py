"""Helpers for the fix-forward loop's tests: a worker with chosen settings, a run started and awaited,
scripted agents, a scripted Anthropic-style endpoint."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from paid_contracts import IssueRef, RepoRef
from paid_executor.activities import make_deps
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput, ExecutionResult
from paid_executor.subscribers import start_execution
from paid_executor.worker import ExecutorWorker, make_worker
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.database import session_factory

from .conftest import TOKEN


@asynccontextmanager
async def loop_worker(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    workspaces: Path,
    **overrides: Any,
) -> AsyncIterator[ExecutorWorker]:
    defaults: dict[str, Any] = {
        "github_api_url": emulator.api_url,
        "github_token": TOKEN,
        "github_credentials": "global",  # no gateway here unless a test brings a minter
        "workspace_root": workspaces,
        "task_queue": f"executor-loop-{uuid.uuid4()}",
    }
    settings = ExecutorSettings(**(defaults | overrides))
    deps = make_deps(settings, broker, session_factory(engine))
    async with make_worker(env.client, deps) as running:
        yield running


def loop_request(repo_ref: RepoRef, number: int = 1, **overrides: Any) -> ExecutionInput:
    fields: dict[str, Any] = {
        "issue": IssueRef(repo=repo_ref, number=number),
        "source": "webhook",
        "source_id": str(uuid.uuid4()),
        "agent": "command",
        "sandbox": "none",
        "agent_timeout_seconds": 120,
    }
    return ExecutionInput(**(fields | overrides))


def execution_of(
    client: Client, issue: IssueRef, run_id: str | None, attempt: int = 1
) -> WorkflowHandle[AgentExecutionWorkflow, ExecutionResult]:
    """The started attempt's handle; `run_id` is start_execution's answer (None: nothing started)."""
    assert run_id is not None, f"attempt {attempt} did not start"
    return client.get_workflow_handle_for(
        AgentExecutionWorkflow.run, workflow_id_for(issue, attempt), run_id=run_id
    )


async def start_run(
    client: Client, request: ExecutionInput, task_queue: str
) -> WorkflowHandle[AgentExecutionWorkflow, ExecutionResult]:
    run_id = await start_execution(client, request, task_queue=task_queue)
    return execution_of(client, request.issue, run_id)


async def run_to_end(client: Client, request: ExecutionInput, task_queue: str) -> ExecutionResult:
    return await (await start_run(client, request, task_queue)).result()


async def run_fails(client: Client, request: ExecutionInput, task_queue: str) -> WorkflowFailureError:
    """The run's failure: how a run refused before (or stopped after) its agent ends."""
    handle = await start_run(client, request, task_queue)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    return failed.value


def script_agent(path: Path, body: str) -> str:
    """A Python agent script; returns the command line for PAID_EXECUTOR_AGENT_COMMAND."""
    path.write_text(
        "import json, os, pathlib, sys\n"
        "prompt = pathlib.Path(os.environ['PAID_PROMPT_FILE']).read_text()\n" + body + "\n"
        "print(json.dumps({'type': 'result', 'subtype': 'success', 'is_error': False, "
        "'result': 'scripted agent done'}))\n"
    )
    return f"{sys.executable} {path}"


class ScriptedAnthropic:
    """An Anthropic-style /v1/messages endpoint answering every call with a fixed usage, streamed
    when asked; counts the calls it served."""

    def __init__(
        self,
        *,
        input_tokens: int = 1000,
        output_tokens: int = 500,
        text: str = "ok",
        respond: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.calls = 0
        self.input_tokens, self.output_tokens, self.text = input_tokens, output_tokens, text
        self.respond = respond or (lambda request: [{"type": "text", "text": text}])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count"):
                    self._json(200, {"input_tokens": 10})
                    return
                outer.calls += 1
                if request.get("stream"):
                    self._stream(request)
                else:
                    self._json(200, outer.message(request))

            def _json(self, status: int, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, request: dict[str, Any]) -> None:
                message = outer.message(request)
                usage = {"input_tokens": outer.input_tokens, "output_tokens": 1}
                events: list[tuple[str, dict[str, Any]]] = [
                    (
                        "message_start",
                        {"type": "message_start", "message": dict(message, content=[], usage=usage)},
                    )
                ]
                for index, block in enumerate(message["content"]):
                    if block["type"] == "tool_use":
                        start = dict(block, input={})
                        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                    else:
                        start = {"type": "text", "text": ""}
                        delta = {"type": "text_delta", "text": block["text"]}
                    events += [
                        (
                            "content_block_start",
                            {"type": "content_block_start", "index": index, "content_block": start},
                        ),
                        (
                            "content_block_delta",
                            {"type": "content_block_delta", "index": index, "delta": delta},
                        ),
                        ("content_block_stop", {"type": "content_block_stop", "index": index}),
                    ]
                events += [
                    (
                        "message_delta",
                        {
                            "type": "message_delta",
                            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                            "usage": {"output_tokens": outer.output_tokens},
                        },
                    ),
                    ("message_stop", {"type": "message_stop"}),
                ]
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.end_headers()
                for name, data in events:
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def message(self, request: dict[str, Any]) -> dict[str, Any]:
        content = self.respond(request)
        tools = any(block["type"] == "tool_use" for block in content)
        return {
            "id": f"msg_{uuid.uuid4().hex[:12]}",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "claude-sonnet-4-5"),
            "content": content,
            "stop_reason": "tool_use" if tools else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
        }

    def __enter__(self) -> ScriptedAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
