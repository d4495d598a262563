"""A test agent: the demo agent, but when the prompt names a gate file it first announces that it has
started (`<gate>.started`, appended once per attempt) and waits until the gate file exists. Lets a test
kill the executor while the agent is running. Given a second argument, a directory, it keeps a copy of
every prompt it receives there, so tests can read what agents were told."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

GATE = re.compile(r"HOLD-UNTIL: (\S+)")
WAIT_LIMIT_SECONDS = 120.0


def main() -> int:
    prompt_file = os.environ.get("PAID_PROMPT_FILE") or sys.argv[1]
    prompt = Path(prompt_file).read_text()
    if len(sys.argv) > 2:
        received = Path(sys.argv[2])
        received.mkdir(parents=True, exist_ok=True)
        (received / f"{time.time_ns()}-{os.getpid()}.md").write_text(prompt)
    if match := GATE.search(prompt):
        gate = Path(match.group(1))
        with gate.with_suffix(".started").open("a") as started:
            started.write(f"{os.getpid()}\n")
        print(f"waiting at the gate {gate.name}", flush=True)  # for live tails of the output
        deadline = time.monotonic() + WAIT_LIMIT_SECONDS
        while not gate.exists():
            if time.monotonic() > deadline:
                print("gate never opened", file=sys.stderr)
                return 3
            time.sleep(0.05)
    demo_agent = Path(sys.executable).parent / "paid-demo-agent"
    return subprocess.run([str(demo_agent)], input=prompt, text=True, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
