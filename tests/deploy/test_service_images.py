"""Each service's Dockerfile copies exactly the workspace libraries its package depends on (directly or
through another lib), so that `uv sync --package paid-<service>` inside the image finds them all."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "poller", "planner", "executor", "evolution", "notifier")


def workspace_packages() -> dict[str, Path]:
    found = {}
    for manifest in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        found[tomllib.loads(manifest.read_text())["project"]["name"]] = manifest.parent.relative_to(ROOT)
    return found


def workspace_dependencies(package: str, packages: dict[str, Path]) -> set[str]:
    manifest = tomllib.loads((ROOT / packages[package] / "pyproject.toml").read_text())
    direct = {re.split(r"[<>=\[ ;]", dep)[0] for dep in manifest["project"].get("dependencies", [])}
    needed = set()
    for dependency in direct & packages.keys():
        needed |= {dependency} | workspace_dependencies(dependency, packages)
    return needed


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_copies_every_workspace_library_the_service_needs(service: str) -> None:
    packages = workspace_packages()
    needed = {str(packages[name]) for name in workspace_dependencies(f"paid-{service}", packages)}
    dockerfile = (ROOT / "deploy" / "images" / service / "Dockerfile").read_text()
    copied = set(re.findall(r"\blibs/[a-z_]+", dockerfile))
    assert needed == copied, f"libs needed {sorted(needed)}, Dockerfile copies {sorted(copied)}"
    assert f"services/{service}" in dockerfile


def test_the_github_emulator_image_copies_its_package_and_libraries() -> None:
    packages = workspace_packages()
    package = "paid-github-emulator"
    needed = {str(packages[name]) for name in {package} | workspace_dependencies(package, packages)}
    dockerfile = (ROOT / "deploy" / "images" / "github-emulator" / "Dockerfile").read_text()
    copied = set(re.findall(r"\blibs/[a-z_]+", dockerfile))
    assert needed == copied, f"libs needed {sorted(needed)}, Dockerfile copies {sorted(copied)}"
