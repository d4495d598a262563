"""Reading a repository without cloning it: git trees and file contents."""

from __future__ import annotations

import base64

from fastapi import APIRouter

from paid_github_emulator.errors import not_found
from paid_github_emulator.rest.deps import HubDep, RepoDep
from paid_github_emulator.shapes import Json

router = APIRouter(prefix="/repos/{owner}/{repo}")


@router.get("/git/trees/{ref:path}")
def get_tree(ref: str, hub: HubDep, repo: RepoDep, recursive: str | None = None) -> Json:
    entries = hub.git.tree(repo.owner, repo.name, ref)
    if entries is None:
        raise not_found()
    api = hub.urls.repo_api(repo)
    if not recursive:
        entries = [entry for entry in entries if "/" not in entry[3]]
    return {
        "sha": ref,
        "url": f"{api}/git/trees/{ref}",
        "truncated": False,
        "tree": [
            {
                "path": path,
                "mode": mode,
                "type": kind,
                "sha": sha,
                **({"size": size} if size is not None else {}),
                "url": f"{api}/git/{'blobs' if kind == 'blob' else 'trees'}/{sha}",
            }
            for mode, kind, sha, path, size in entries
        ],
    }


@router.get("/contents/{path:path}")
def get_content(path: str, hub: HubDep, repo: RepoDep, ref: str | None = None) -> Json:
    at = ref or repo.default_branch
    text = hub.git.file_content(repo.owner, repo.name, at, path)
    if text is None:
        raise not_found()
    data = text.encode()
    api, web = hub.urls.repo_api(repo), hub.urls.repo_web(repo)
    sha = next((e[2] for e in hub.git.tree(repo.owner, repo.name, at) or [] if e[3] == path), "0" * 40)
    links = {
        "self": f"{api}/contents/{path}",
        "git": f"{api}/git/blobs/{sha}",
        "html": f"{web}/blob/{at}/{path}",
    }
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.b64encode(data).decode(),
        "sha": sha,
        "url": links["self"],
        "git_url": links["git"],
        "html_url": links["html"],
        "download_url": f"{web}/raw/{at}/{path}",
        "_links": links,
    }
