"""Git smart HTTP at /{owner}/{repo}.git/..., served by `git http-backend` as a CGI program."""

from __future__ import annotations

import asyncio
import base64
import binascii

from fastapi import APIRouter, Request, Response

from paid_github_emulator import push_events
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.git_repos import git_env
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import User

router = APIRouter()

UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="GitHub"'}


def basic_user(hub: Hub, request: Request) -> User | None:
    """Any username works with a valid token as password (`x-access-token:TOKEN`, `login:TOKEN`)."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        _, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return hub.store.user_for_token(password)


def parse_cgi(output: bytes) -> tuple[int, dict[str, str], bytes]:
    head, separator, body = output.partition(b"\r\n\r\n")
    if not separator:
        head, _, body = output.partition(b"\n\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, body


@router.api_route("/{owner}/{name}.git/{path:path}", methods=["GET", "POST"])
async def smart_http(owner: str, name: str, path: str, request: Request) -> Response:
    hub: Hub = request.app.state.hub
    repo = hub.store.find_repo(owner, name)
    user = basic_user(hub, request)
    pushing = request.query_params.get("service") == "git-receive-pack" or path.endswith("git-receive-pack")
    if (pushing or repo is None or repo.private) and user is None:
        return Response("Authentication required\n", status_code=401, headers=UNAUTHORIZED)
    if repo is None or (repo.private and user is not None and not repo.can(user.login, "read")):
        return Response("Repository not found.\n", status_code=404)
    if pushing and user is not None and not repo.can(user.login, "write"):
        return Response(f"Permission to {repo.full_name}.git denied to {user.login}.\n", status_code=403)

    body = await request.body()
    receiving = pushing and request.method == "POST"
    history = GitHistory(hub.git, repo.owner, repo.name)
    refs_before = history.refs() if receiving else {}
    env = git_env(
        {
            "GIT_PROJECT_ROOT": str(hub.git.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.owner}/{repo.name}.git/{path}",
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.url.query,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user.login if user else "",
            "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
            # http-backend inflates gzip'd request bodies itself when told about the encoding.
            "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
            "HTTP_GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        }
    )
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate(body)
    if process.returncode != 0 and not output:
        return Response(errors, status_code=500, media_type="text/plain")
    status, headers, content = parse_cgi(output)
    if receiving and status == 200 and user is not None:
        with hub.store.lock:
            repo.pushed_at = hub.store.now()
            refs_after = history.refs()
            for ref in sorted(refs_before.keys() | refs_after.keys()):
                before, after = refs_before.get(ref), refs_after.get(ref)
                if before != after:
                    forced = (
                        before is not None and after is not None and not history.is_ancestor(before, after)
                    )
                    push_events.ref_moved(hub, repo, user, ref, before=before, after=after, forced=forced)
    return Response(content, status_code=status, headers=headers)
