"""The web half of GitHub's App manifest flow: `/settings/apps/new` takes the manifest form post,
creates a one-time code and sends the browser back to the manifest's `redirect_url`.

The emulator has no sign-in page: the account the App is created for is the one `Emulator.sign_in`
chose (or the organization in `/organizations/{org}/settings/apps/new`)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from paid_github_emulator import app_manifest
from paid_github_emulator.errors import ApiError
from paid_github_emulator.hub import Hub

router = APIRouter()


def page(status: int, message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>GitHub</title><p>{message}</p>", status_code=status)


async def create_from_manifest(request: Request, owner: str | None) -> Response:
    hub: Hub = request.app.state.hub
    # A browser posts the form url-encoded; parsed here so no multipart library is needed.
    form = {k: v[-1] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    state = request.query_params.get("state") or str(form.get("state") or "")
    if owner is None:
        owner = hub.apps.web_login
    if owner is None or hub.store.find_user(owner) is None:
        return page(401, "Sign in to GitHub to continue.")
    try:
        manifest = json.loads(str(form.get("manifest") or ""))
    except ValueError:
        return page(422, "Invalid GitHub App manifest: it is not JSON.")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("redirect_url"), str):
        return page(422, "Invalid GitHub App manifest: redirect_url is required.")
    try:
        code = app_manifest.start_manifest(hub, owner, manifest)
    except ApiError as exc:
        return page(422, f"Invalid GitHub App manifest: {exc.message}")
    query = urlencode({"code": code.code} | ({"state": state} if state else {}))
    separator = "&" if "?" in manifest["redirect_url"] else "?"
    return RedirectResponse(f"{manifest['redirect_url']}{separator}{query}", status_code=302)


@router.post("/settings/apps/new")
async def new_app_for_user(request: Request) -> Response:
    return await create_from_manifest(request, None)


@router.post("/organizations/{org}/settings/apps/new")
async def new_app_for_organization(org: str, request: Request) -> Response:
    return await create_from_manifest(request, org)
