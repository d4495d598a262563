"""Headless Chromium for the dashboard tests: Debian's `chromium` (apt-get install chromium) driven by
Playwright over CDP, with a fresh profile and no network traffic of its own."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = Path(
    os.environ.get("PAID_TEST_ARTIFACTS", Path(__file__).resolve().parents[4] / "test-artifacts")
)


def chromium_path() -> str | None:
    """The system's Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[BrowserContext]:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="paid-chromium-"))
    try:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                str(profile), executable_path=executable, headless=True, args=list(CHROMIUM_FLAGS)
            )
            try:
                yield context
            finally:
                await context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


async def accessibility_violations(page: Page) -> str:
    """axe-core's violations on the page as it is shown, one line each (empty: none). Tests fail on any."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
    )
