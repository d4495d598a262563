"""A CLI launched through `sh -c` when its configuration needs a value only the sandbox knows (the
proxy's URL) or a throw-away file. The script refers to the CLI as "$0" and to everything else as
"$1", "$2", ...: they travel as arguments, so the shell never parses the prompt or a setting."""

from __future__ import annotations


def shell_argv(script: str, executable: str, *arguments: str) -> tuple[str, ...]:
    return ("sh", "-c", script, executable, *arguments)
