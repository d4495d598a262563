"""`paid-github-emulator`: run the emulator as a standalone server (for the demo and integration tests)."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from paid_github_emulator.emulator import Emulator
from paid_github_emulator.server import create_app
from paid_github_emulator.shapes import Urls


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paid-github-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data-dir", type=Path, default=None, help="bare repositories live here")
    parser.add_argument(
        "--public-url", default=None, help="base URL for html_url/clone_url, if not host:port"
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="LOGIN:TOKEN",
        help="create a user with a token at start (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    emulator = Emulator(args.data_dir)
    emulator.hub.urls = Urls(args.public_url or f"http://{args.host}:{args.port}")
    for spec in args.user:
        login, _, token = spec.partition(":")
        emulator.add_user(login, token or None)
    emulator.hub.webhooks.start()
    try:
        uvicorn.run(create_app(emulator), host=args.host, port=args.port, log_level="info")
    finally:
        emulator.hub.webhooks.stop()
        emulator.close_data_dir()


if __name__ == "__main__":
    main()
