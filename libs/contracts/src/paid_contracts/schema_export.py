"""Exports each event's JSON Schema to committed files; `python -m paid_contracts.schema_export DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from paid_contracts.catalog import ALL_EVENTS

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def render_schemas() -> dict[str, str]:
    rendered: dict[str, str] = {}
    for event in ALL_EVENTS:
        schema = event.model_json_schema(mode="serialization")
        type_name = schema["properties"]["type"]["default"]
        rendered[f"{type_name}.v1.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    for path in export(target):
        print(path)


if __name__ == "__main__":
    main()
