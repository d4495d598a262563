"""Where a sandboxed launch's time goes: the same trivial command (`true`) launched as the executor
launches an agent (the sandbox's prepare, which applies the limits, the process, then release),
the variants in turn within each round so that the machine's drift hits them alike:

- `none`: a plain process (the unsandboxed launch, the floor);
- `before`: bwrap binding every editable source on sys.path, with the Python bridge to the proxy's
  socket (the launch before this benchmark was written);
- `bwrap`: bwrap's namespaces and mounts as now (only the executor's own sources), without the proxy;
- `bwrap_python_bridge`: that bwrap with the Python bridge (where socat is not installed);
- `bwrap_socat`: that bwrap with socat as the relay: how the executor launches an agent now.

Prints `name value unit` lines: each variant's p50, each sandbox's paired p50 over `none` (the median
of the per-round differences), each relay's paired cost over bwrap alone, and now against before.
Usage: bench/sandbox_start.py [--rounds N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from paid_executor.agents.base import Invocation
from paid_executor.sandbox import bwrap
from paid_executor.sandbox.base import Sandbox, SandboxRequest
from paid_executor.sandbox.bwrap import BubblewrapSandbox
from paid_executor.sandbox.editable_sources import unneeded_editable_sources
from paid_executor.sandbox.local import LocalSandbox

TRUE = Invocation(argv=["true"], stdin=None, env={})


def launch_seconds(sandbox: Sandbox, request: SandboxRequest, *, all_sources: bool = False) -> float:
    """Wall seconds (the processes' CPU time is no figure: bwrap's children are not counted as ours)."""
    # all_sources: as before editable_sources.py, every editable source on sys.path bound.
    setattr(bwrap, "unneeded_editable_sources", frozenset if all_sources else unneeded_editable_sources)  # noqa: B010
    started = time.perf_counter()
    prepared = sandbox.prepare(TRUE, request)
    try:
        subprocess.run(prepared.invocation.argv, env=prepared.invocation.env or None, check=True)
    finally:
        sandbox.release(prepared)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sandbox-start-") as scratch:
        root = Path(scratch)
        worktree = root / "worktree"
        worktree.mkdir()
        proxy_socket = root / "proxy.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(proxy_socket))
        listener.listen()
        env = {"PATH": "/usr/bin:/bin"}

        def request(key: str, *, proxy: bool) -> SandboxRequest:
            return SandboxRequest(
                run_key=f"bench-{key}",
                worktree=worktree,
                env=env,
                proxy_socket=proxy_socket if proxy else None,
                proxy_port=8765 if proxy else None,
            )

        socat = BubblewrapSandbox()
        if socat.socat is None:
            raise SystemExit("socat is not installed where the sandbox sees it (apt-get install socat)")
        python_bridge = BubblewrapSandbox(prefer_socat=False)
        variants: dict[str, Callable[[], float]] = {
            "none": lambda: launch_seconds(LocalSandbox(), request("none", proxy=True)),
            "before": lambda: launch_seconds(python_bridge, request("before", proxy=True), all_sources=True),
            "bwrap": lambda: launch_seconds(socat, request("bwrap", proxy=False)),
            "bwrap_python_bridge": lambda: launch_seconds(python_bridge, request("python", proxy=True)),
            "bwrap_socat": lambda: launch_seconds(socat, request("socat", proxy=True)),
        }
        for measure in variants.values():  # warm-up: caches, the first cgroup
            measure()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, measure in variants.items():
                times[name].append(measure())
        listener.close()

    def paired(name: str, base: str) -> float:
        return statistics.median(a - b for a, b in zip(times[name], times[base], strict=True)) * 1000

    for name, values in times.items():
        print(f"sandbox_start_p50{{variant={name}}} {statistics.median(values) * 1000:.1f} ms")
    for name in ("before", "bwrap", "bwrap_python_bridge", "bwrap_socat"):
        print(f"sandbox_start_added_paired_p50{{variant={name}}} {paired(name, 'none'):.1f} ms")
    for name in ("bwrap_python_bridge", "bwrap_socat"):
        print(f"sandbox_relay_added_paired_p50{{variant={name}}} {paired(name, 'bwrap'):.1f} ms")
    print(f"sandbox_start_now_vs_before_paired_p50 {paired('bwrap_socat', 'before'):.1f} ms")
    print(f"sandbox_start_rounds {args.rounds} rounds")


if __name__ == "__main__":
    main()
