"""The CLI's side of the API: a small synchronous client with errors that map to exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from paid_cli import credentials

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_UNAUTHORIZED = 0, 1, 2, 3, 4


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def exit_code(self) -> int:
        if self.status in (401, 403):
            return EXIT_UNAUTHORIZED
        if self.status == 404:
            return EXIT_NOT_FOUND
        return EXIT_ERROR


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else f"HTTP {response.status_code}"


class GatewayClient:
    def __init__(self, url: str | None, token: str | None, *, timeout: float = 30.0) -> None:
        """`url` or `token` None: from the credentials file (`paid up` writes it), else the default."""
        try:
            url, token = credentials.resolve(url, token)
        except credentials.CredentialsError as error:
            raise ApiError(0, str(error)) from None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(0, f"cannot reach the gateway at {self.http.base_url}: {error}") from None
        if response.is_error:
            raise ApiError(response.status_code, _detail(response))
        return response.json()

    def resolve_run(self, ref: str) -> dict[str, Any]:
        """A run by id, id prefix (as the dashboard shows) or `owner/repo#issue` (its latest run)."""
        if "#" in ref:
            repo, _, number = ref.partition("#")
            if not number.isdigit():
                raise ApiError(400, f"{ref!r} is not owner/repo#number")
            runs = self.call("GET", "/api/runs", params={"repo": repo, "issue": number, "limit": 1})["runs"]
            if not runs:
                raise ApiError(404, f"no run for {ref}")
            return self.call("GET", f"/api/runs/{runs[0]['run_id']}")  # type: ignore[no-any-return]
        try:
            return self.call("GET", f"/api/runs/{ref}")  # type: ignore[no-any-return]
        except ApiError as error:
            if error.status != 404 or len(ref) < 4:
                raise
        matches = [
            r
            for r in self.call("GET", "/api/runs", params={"limit": 500})["runs"]
            if r["run_id"].startswith(ref)
        ]
        if len(matches) != 1:
            raise ApiError(404, f"no run {ref!r}" if not matches else f"{ref!r} matches {len(matches)} runs")
        return self.call("GET", f"/api/runs/{matches[0]['run_id']}")  # type: ignore[no-any-return]

    def stream(self, path: str, *, params: dict[str, Any] | None = None) -> Iterator[tuple[str, Any]]:
        """Server-sent events as (event, data) until the server closes the stream."""
        try:
            with self.http.stream(
                "GET", path, params=params, timeout=httpx.Timeout(30.0, read=None)
            ) as response:
                if response.is_error:
                    response.read()
                    raise ApiError(response.status_code, _detail(response))
                event, data = "message", []
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data.append(line.removeprefix("data: "))
                    elif line == "" and data:
                        yield event, json.loads("\n".join(data))
                        event, data = "message", []
        except httpx.HTTPError as error:
            raise ApiError(0, f"the stream from the gateway broke: {error}") from None
