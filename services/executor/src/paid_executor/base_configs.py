"""`.paid.yml` of a base commit, completed by detection, kept per commit id in this process.

Reading it lists the commit's whole tree (detection looks at every path): about 0.7 s for 20,000 files
on a loaded host, on the path before every agent. A commit id names its content, so every run on the
same base reads the same configuration; only a full object id is a key (never a ref or a branch,
which move), and a configuration that failed to load is kept as its error."""

from __future__ import annotations

from collections import OrderedDict

from paid_executor.host_repository import HostRepository
from paid_executor.repo_config import RepoConfig, RepoConfigError, load_repo_config
from paid_executor.repository_cache import OBJECT_ID

MAX_KEPT = 256  # bases; a configuration is a few hundred bytes
_KEPT: OrderedDict[str, RepoConfig | str] = OrderedDict()  # a str is a RepoConfigError's message


async def base_config(host: HostRepository, base: str) -> RepoConfig:
    """The configuration at `base`, read from `host` only the first time. Raises RepoConfigError."""
    kept = _KEPT.get(base)
    if kept is None:
        try:
            kept = load_repo_config(await host.repo_files(base))
        except RepoConfigError as error:
            kept = str(error)
        if OBJECT_ID.fullmatch(base):
            _KEPT[base] = kept
            while len(_KEPT) > MAX_KEPT:
                _KEPT.popitem(last=False)
    else:
        _KEPT.move_to_end(base)
    if isinstance(kept, str):
        raise RepoConfigError(kept)
    return kept
