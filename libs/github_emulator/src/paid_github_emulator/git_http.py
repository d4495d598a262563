"""Git smart HTTP at /{owner}/{repo}.git/..., served by `git http-backend` as a CGI program."""

from __future__ import annotations

import asyncio
import base64
import binascii

from fastapi import APIRouter, Request, Response

from paid_github_emulator import app_tokens, push_events
from paid_github_emulator.apps import InstallationToken
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.git_repos import git_env
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import User

router = APIRouter()

UNAUTHORIZED = {"WWW-Authenticate": 'Basic realm="GitHub"'}


# Run by `git receive-pack` before any ref moves: a GitHub App without the `workflows` permission
# may not create or change files under .github/workflows (GitHub refuses such a push the same way).
WORKFLOW_GUARD = r"""#!/bin/sh
[ "$EMULATOR_TOKEN_MAY_CHANGE_WORKFLOWS" = "0" ] || exit 0
zero=0000000000000000000000000000000000000000
while read -r old new ref; do
  [ "$new" = "$zero" ] && continue
  if [ "$old" = "$zero" ]; then range="$new --not --all"; else range="$old..$new"; fi
  file=$(git log --format= --name-only $range -- .github/workflows | head -n 1)
  if [ -n "$file" ]; then
    printf 'refusing to allow a GitHub App to create or update workflow `%s` ' "$file" >&2
    echo 'without `workflows` permission' >&2
    exit 1
  fi
done
exit 0
"""


def basic_password(request: Request) -> str | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return None


def basic_credentials(hub: Hub, request: Request) -> tuple[User, InstallationToken | None] | None:
    """Any username works with a valid token as password (`x-access-token:TOKEN`, `login:TOKEN`);
    an installation token acts as its App's bot, within the token's scope."""
    password = basic_password(request)
    if password is None:
        return None
    user = hub.store.user_for_token(password)
    if user is not None:
        return user, None
    holder = app_tokens.holder(hub, password)
    return (holder.user, holder.token) if holder is not None else None


def workflow_guard_dir(hub: Hub) -> str:
    hooks = hub.git.root.parent / "app-hooks"
    script = hooks / "pre-receive"
    if not script.exists():
        hooks.mkdir(parents=True, exist_ok=True)
        script.write_text(WORKFLOW_GUARD)
        script.chmod(0o755)
    return str(hooks)


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
    response = await serve_git(hub, owner, name, path, request)
    hub.log_access(request.method, request.url.path, response.status_code, basic_password(request))
    return response


async def serve_git(hub: Hub, owner: str, name: str, path: str, request: Request) -> Response:
    repo = hub.store.find_repo(owner, name)
    credentials = basic_credentials(hub, request)
    user, token = credentials if credentials is not None else (None, None)
    pushing = request.query_params.get("service") == "git-receive-pack" or path.endswith("git-receive-pack")
    if (pushing or repo is None or repo.private) and user is None:
        return Response("Authentication required\n", status_code=401, headers=UNAUTHORIZED)
    if repo is None or (repo.private and user is not None and not repo.can(user.login, "read")):
        return Response("Repository not found.\n", status_code=404)
    if token is not None and not app_tokens.reaches(hub, token, repo):
        return Response("Repository not found.\n", status_code=404)
    may_push = token is None or app_tokens.has(token, "contents", "write")
    if pushing and user is not None and not (may_push and repo.can(user.login, "write")):
        return Response(f"Permission to {repo.full_name}.git denied to {user.login}.\n", status_code=403)
    guard: dict[str, str] = {}
    if token is not None:
        may_change_workflows = app_tokens.has(token, "workflows", "write")
        guard = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath",
            "GIT_CONFIG_VALUE_0": workflow_guard_dir(hub),
            "EMULATOR_TOKEN_MAY_CHANGE_WORKFLOWS": "1" if may_change_workflows else "0",
        }

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
        | guard
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
