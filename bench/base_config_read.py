"""A base commit's configuration on the path before every agent, paired: read from the repository
(`.paid.yml` and detection, which lists the whole tree: what every run did before) against kept by
commit id (`base_configs.py`, now). On the large generated repository (`repository_cache.py`'s, cached
in --cache-dir) and the small one. Prints `name value unit` lines."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from repository_cache import generate

from paid_executor import base_configs
from paid_executor.base_configs import base_config
from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity

SHAPES = {
    "large": {"files": 20_000, "commits": 5_000, "changes": 3, "file_bytes": 6_000},
    "small": {"files": 50, "commits": 20, "changes": 3, "file_bytes": 600},
}


async def measure(url: str, label: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="paid-bench-config-") as scratch:
        cache = RepositoryCache(Path(scratch) / "cache", max_bytes=10**12)
        mirrored = await cache.refresh(url, "main")
        host = HostRepository(Path(scratch) / "run.host.git", identity=Identity("Bench", "b@localhost"))
        await host.attach_base(mirrored.mirror, mirrored.base_sha)
        read, kept = [], []
        for _ in range(rounds):
            base_configs._KEPT.clear()  # the "before": nothing kept
            started = time.perf_counter()
            await base_config(host, mirrored.base_sha)
            read.append(time.perf_counter() - started)
            started = time.perf_counter()
            await base_config(host, mirrored.base_sha)
            kept.append(time.perf_counter() - started)
    tag = f"{{repo={label}}}"
    print(f"base_config_read_p50{tag} {statistics.median(read) * 1000:.1f} ms")
    print(f"base_config_kept_p50{tag} {statistics.median(kept) * 1000:.3f} ms")
    saved = [before - after for before, after in zip(read, kept, strict=True)]
    print(f"base_config_saving_paired_p50{tag} {statistics.median(saved) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "paid-bench")
    arguments = parser.parse_args()
    for label, shape in SHAPES.items():
        origin = arguments.cache_dir / "generated-{files}f-{commits}c-{changes}x-{file_bytes}b.git".format(
            **shape
        )
        if not origin.exists():
            arguments.cache_dir.mkdir(parents=True, exist_ok=True)
            generate(origin, **shape)
        asyncio.run(measure(origin.resolve().as_uri(), label, arguments.rounds))


if __name__ == "__main__":
    main()
