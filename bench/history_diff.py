"""Two workflow histories side by side, event by event: each event's time from the start and from the
event before, its type and its activity (or marker), to see where a before/after pair of runs
(`orchestration_overhead.py --compare --histories DIR`) parts.

Usage: bench/history_diff.py BEFORE.json AFTER.json
"""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

Row = tuple[float, str, str]  # ms from the first event, event type, activity or marker


def rows(path: Path) -> list[Row]:
    events: list[dict[str, Any]] = json.loads(path.read_text())["events"]
    scheduled: dict[str, str] = {}
    found: list[Row] = []
    first: float | None = None
    for event in events:
        at = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")).timestamp() * 1000
        first = at if first is None else first
        name = ""
        for key, attributes in event.items():
            if not key.endswith("EventAttributes"):
                continue
            if "activityType" in attributes:
                name = scheduled[event["eventId"]] = attributes["activityType"]["name"]
            elif attributes.get("scheduledEventId") in scheduled:
                name = scheduled[attributes["scheduledEventId"]]
            elif "markerName" in attributes:
                name = attributes["markerName"]
        found.append((at - first, event["eventType"].removeprefix("EVENT_TYPE_"), name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    previous = [0.0, 0.0]
    empty: Row = (0.0, "", "")
    pairs = itertools.zip_longest(rows(args.before), rows(args.after), fillvalue=empty)
    for number, pair in enumerate(pairs, start=1):
        cells = []
        for side, (at, kind, name) in enumerate(pair):
            cells.append(f"{at:7.0f} {at - previous[side]:+6.0f} {kind[:34]:34} {name[:20]:20}")
            previous[side] = at
        print(f"{number:3d} " + " | ".join(cells))


if __name__ == "__main__":
    main()
