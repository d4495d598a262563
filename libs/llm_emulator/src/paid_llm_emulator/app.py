"""The emulator's HTTP API: `/v1/messages` (Anthropic), `/v1/chat/completions` and `/v1/responses`
(OpenAI), `/v1beta/models/{model}:generateContent` and `:streamGenerateContent` (Gemini), `/_emulator`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from paid_llm_emulator import wire
from paid_llm_emulator.gemini import gemini_response, gemini_stream, record_gemini
from paid_llm_emulator.responses import record_responses, responses_body, responses_stream
from paid_llm_emulator.rules import Api, RecordedRequest, Rule, RuleBook

RECORDED_HEADERS = ("x-api-key", "x-goog-api-key", "authorization", "anthropic-version", "content-type")


def create_app(book: RuleBook) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def answer(api: Api, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(wire.error_body(api, 400, "the body is not JSON"), status_code=400)
        turns = "input" if api == "responses" else "messages"
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get(turns), list):
            return JSONResponse(wire.error_body(api, 400, f"model and {turns} are required"), status_code=400)
        headers = {k: v for k, v in request.headers.items() if k in RECORDED_HEADERS}
        path = request.url.path
        recorded = (
            record_responses(path, body, headers)
            if api == "responses"
            else wire.record(api, path, body, headers)
        )
        return await reply_to(api, recorded)

    async def reply_to(api: Api, recorded: RecordedRequest) -> Response:
        reply = book.answer(recorded)
        if reply is None:
            last = recorded.last_user_message[:200]
            message = f"llm-emulator: no rule matches the request (last user message: {last!r})"
            return JSONResponse(wire.error_body(api, 400, message), status_code=400)
        if reply.delay_seconds:
            await asyncio.sleep(reply.delay_seconds)
        if reply.status >= 400:
            extra = {"retry-after": str(reply.retry_after)} if reply.retry_after is not None else None
            return JSONResponse(
                wire.error_body(api, reply.status, reply.error_message),
                status_code=reply.status,
                headers=extra,
            )
        streams = {
            "anthropic": wire.anthropic_stream,
            "openai": wire.openai_stream,
            "responses": responses_stream,
            "gemini": gemini_stream,
        }
        bodies = {
            "anthropic": wire.anthropic_message,
            "openai": wire.openai_completion,
            "responses": responses_body,
            "gemini": gemini_response,
        }
        if recorded.stream:
            return StreamingResponse(streams[api](reply, recorded), media_type="text/event-stream")
        return JSONResponse(bodies[api](reply, recorded))

    @app.post("/v1/messages")
    async def anthropic_messages(request: Request) -> Response:
        return await answer("anthropic", request)

    @app.post("/v1/chat/completions")
    async def openai_chat(request: Request) -> Response:
        return await answer("openai", request)

    @app.post("/v1/responses")
    async def openai_responses(request: Request) -> Response:
        return await answer("responses", request)

    @app.post("/v1beta/models/{model_action}")
    async def gemini_generate(model_action: str, request: Request) -> Response:
        model, _, action = model_action.partition(":")
        if action not in ("generateContent", "streamGenerateContent"):
            return JSONResponse(wire.error_body("gemini", 404, f"no such method {action!r}"), status_code=404)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(wire.error_body("gemini", 400, "the body is not JSON"), status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return JSONResponse(wire.error_body("gemini", 400, "contents are required"), status_code=400)
        headers = {k: v for k, v in request.headers.items() if k in RECORDED_HEADERS}
        recorded = record_gemini(request.url.path, model, action == "streamGenerateContent", body, headers)
        return await reply_to("gemini", recorded)

    @app.post("/_emulator/rules", status_code=201)
    async def add_rule(rule: Rule) -> dict[str, str]:
        book.add(rule)
        return {"status": "added"}

    @app.delete("/_emulator/rules", status_code=204)
    async def clear_rules() -> None:
        book.clear()

    @app.get("/_emulator/requests")
    async def requests() -> list[dict[str, Any]]:
        return [r.model_dump() for r in book.requests]

    return app
