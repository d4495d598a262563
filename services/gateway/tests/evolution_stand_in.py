"""Evolution as the gateway's tests see it: a small HTTP server with evolution's answers for one experiment
awaiting approval (services never import each other; tests/integration drives the real pair)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from serving import served

INTERNAL_TOKEN = "internal-token-shared-with-evolution"
HOSTILE_REASON = "<img src=x onerror=\"document.title='owned'\"> mutation from feedback"
DIFF = "--- coding@1\n+++ coding@2\n@@ -1,2 +1,3 @@\n Resolve the issue.\n+Run the tests before you stop.\n"


def version(number: int, parent: int | None, status: str, reason: str) -> dict[str, Any]:
    return {
        "id": f"coding@{number}",
        "category": "coding",
        "number": number,
        "template": "Resolve the issue.\n",
        "variables": [],
        "content_hash": f"{number:064x}",
        "parent_id": f"coding@{parent}" if parent else None,
        "reason": reason,
        "status": status,
        "created_at": "2026-12-01T10:00:00Z",
    }


class Evolution:
    """Evolution's answers for one experiment awaiting approval; an approval promotes its winner."""

    def __init__(self) -> None:
        self.approvals: list[bytes] = []
        self.rollbacks = 0
        self.comparisons: list[dict[str, Any]] = []
        self.active = [
            {"category": "coding", "project": "*", "version_id": "coding@1", "since": "2026-12-01T10:00:00Z"}
        ]
        self.experiment: dict[str, Any] = {
            "id": "exp-1",
            "category": "coding",
            "project": "acme/calc",
            "control_version": "coding@1",
            "status": "awaiting_approval",
            "decision": "awaiting_approval",
            "winner_version": "coding@2",
            "winner_arm": "candidate-1",
            "winner_agent": "codex",
            "winner_model": None,
            "started_at": "2026-12-02T10:00:00Z",
            "concluded_at": None,
            "settings": {},
            "arms": [
                {
                    "arm": "control",
                    "version_id": "coding@1",
                    "weight": 0.5,
                    "stopped": False,
                    "stop_reason": None,
                    "samples": 40,
                    "mean_score": 0.55,
                },
                {
                    "arm": "candidate-1",
                    "version_id": "coding@2",
                    "weight": 0.5,
                    "stopped": False,
                    "stop_reason": None,
                    "samples": 41,
                    "mean_score": 0.81,
                    "difference": 0.26,
                    "interval": [0.08, 0.44],
                    "p_value": 0.0042,
                },
            ],
        }
        self.app = FastAPI()

        @self.app.api_route("/api/{rest:path}", methods=["GET", "POST"])
        async def answer(request: Request, rest: str) -> Any:
            if request.headers.get("authorization") != f"Bearer {INTERNAL_TOKEN}":
                raise HTTPException(401, "internal token required")
            if request.method == "POST" and rest == "experiments/exp-1/approval":
                self.approvals.append(await request.body())
                self.experiment |= {"status": "concluded", "decision": "promoted"}
                self.active.append({**self.active[0], "project": "acme/calc", "version_id": "coding@2"})
                return {"experiment_id": "exp-1", "answer": "approved"}
            if request.method == "POST" and rest == "experiments":
                self.comparisons.append(await request.json())
                return JSONResponse({"experiment_id": "exp-3"}, status_code=202)
            if request.method == "POST" and rest == "prompts/coding/projects/acme/calc/rollback":
                self.rollbacks += 1
                self.active = [a for a in self.active if a["project"] != "acme/calc"]
                return {"from": "coding@2", "to": "coding@1"}
            return self.read(rest)

    def read(self, rest: str) -> Any:
        summary = {k: v for k, v in self.experiment.items() if k != "arms"}
        answers: dict[str, Any] = {
            "prompts": self.active,
            "prompts/coding/versions": [
                version(1, None, "active", "bundled default"),
                version(2, 1, "candidate", HOSTILE_REASON),
            ],
            "versions/coding@2": version(2, 1, "candidate", HOSTILE_REASON),
            "versions/coding@2/diff": {"from": "coding@1", "to": "coding@2", "diff": DIFF},
            "experiments": [summary],
            "experiments/exp-1": self.experiment,
        }
        if rest not in answers:
            raise HTTPException(404, f"no {rest}")
        return answers[rest]


@asynccontextmanager
async def serve_evolution(stand_in: Evolution | None = None) -> AsyncIterator[tuple[Evolution, str]]:
    """The stand-in (a fresh one unless given) on a real HTTP server, and its address."""
    stand_in = stand_in or Evolution()
    async with served(stand_in.app, "the stand-in evolution") as url:
        yield stand_in, url
