"""`paid-llm-emulator [--port N] [--rules rules.yaml]`: the emulator as a process (demo, manual tests)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import yaml
from pydantic import TypeAdapter

from paid_llm_emulator.rules import Rule
from paid_llm_emulator.server import LLMEmulator

RULES = TypeAdapter(list[Rule])


def load_rules(path: Path) -> list[Rule]:
    """A YAML list of rules: `- match: {contains: plan}\n  reply: {text: '{...}'}`."""
    return RULES.validate_python(yaml.safe_load(path.read_text()) or [])


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Anthropic/OpenAI API answering from scripted rules")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--rules", type=Path, help="YAML file with a list of rules")
    args = parser.parse_args()
    emulator = LLMEmulator(host=args.host, port=args.port)
    for rule in load_rules(args.rules) if args.rules else []:
        emulator.add_rule(rule)
    emulator.start()
    print(f"LLM emulator at {emulator.url} (OpenAI base URL: {emulator.openai_base_url})")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()
