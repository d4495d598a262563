"""`/paid <command>` in a comment: the one parser the gateway and the poller share (through the
translator), so both paths read a comment alike.

Only a line of its own that starts with the command counts: text quoted (`> /paid retry`), inside a
code block, or in the middle of a sentence is someone talking about a command, not giving one. Where
a command may come from (comments only, never a pull request's body or a commit, which the agent
writes; never Paid's own or a bot's comments) is decided by the translator's callers; whether its
author may give it is decided where it is acted on."""

from __future__ import annotations

import re
from dataclasses import dataclass

COMMANDS = frozenset({"build", "plan", "retry", "review", "cancel", "stop", "fix-ci", "rebase"})
DEFAULT_HANDLE = "paid"
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class PaidCommand:
    name: str  # lower-cased; not necessarily one of COMMANDS
    argument: str = ""

    @property
    def known(self) -> bool:
        return self.name in COMMANDS


def parse_command(body: str | None, *, handle: str = DEFAULT_HANDLE) -> PaidCommand | None:
    """The first command in `body`, or None. `/paid` alone is an unknown (empty) command: it gets the help."""
    prefix = re.compile(rf"^/{re.escape(handle)}(?:\s+(\S+)(?:\s+(.*))?)?\s*$", re.IGNORECASE)
    in_code = False
    for line in (body or "").splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code or line.startswith(("    ", "\t")):
            continue
        found = prefix.match(line.strip())
        if found is not None:
            return PaidCommand(name=(found.group(1) or "").lower(), argument=(found.group(2) or "").strip())
    return None


def help_text(handle: str = DEFAULT_HANDLE) -> str:
    names = ", ".join(f"`/{handle} {name}`" for name in sorted(COMMANDS))
    return f"Paid did not recognise that command. It understands {names}, from users with write access."
