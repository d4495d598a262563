"""What each service installs: its dependency closure (pyproject dependencies, followed through the
workspace's libs) holds no development tool, and its image copies exactly the libs of that closure."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT_ONLY = {"paid-devstack", "paid-github-emulator", "paid-llm-emulator"}
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def _requirement_name(requirement: str) -> str:
    """`faststream[nats]==0.7.8` -> `faststream`, normalized as PEP 503 does."""
    name = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def workspace_members(root: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each member's distribution name -> (its directory, the names it depends on)."""
    members = {}
    for pyproject in sorted([*root.glob("libs/*/pyproject.toml"), *root.glob("services/*/pyproject.toml")]):
        project = tomllib.loads(pyproject.read_text())["project"]
        depends = [_requirement_name(r) for r in project.get("dependencies", [])]
        members[_requirement_name(project["name"])] = (pyproject.parent, depends)
    return members


def workspace_closure(members: dict[str, tuple[Path, list[str]]], package: str) -> set[str]:
    """The workspace members `package` installs, itself excluded; third-party packages are not followed."""
    seen: set[str] = set()
    pending = list(members[package][1])
    while pending:
        name = pending.pop()
        if name in members and name not in seen:
            seen.add(name)
            pending.extend(members[name][1])
    return seen


def closure_problems(root: Path) -> list[str]:
    members = workspace_members(root)
    problems = []
    for directory, _ in members.values():
        if directory.parent.name != "services":
            continue
        package = f"paid-{directory.name}"
        if bad := workspace_closure(members, package) & DEVELOPMENT_ONLY:
            problems.append(f"{package} installs {sorted(bad)}")
    return problems


def test_no_service_installs_the_dev_stack_or_an_emulator() -> None:
    assert closure_problems(ROOT) == []


def test_each_service_image_copies_exactly_its_libs() -> None:
    members = workspace_members(ROOT)
    for service in SERVICES:
        dockerfile = (ROOT / "deploy" / "images" / service / "Dockerfile").read_text()
        copied = re.search(r"tar -cf - ((?:libs/\w+ )+)services/" + service, dockerfile)
        assert copied, f"deploy/images/{service}/Dockerfile: no `tar -cf - libs/... services/{service}`"
        expected = {
            members[name][0].relative_to(ROOT).as_posix()
            for name in workspace_closure(members, f"paid-{service}")
        }
        assert set(copied.group(1).split()) == expected, service


def test_the_check_follows_libs_to_a_dev_tool(tmp_path: Path) -> None:
    def member(kind: str, name: str, *depends: str) -> None:
        (tmp_path / kind / name).mkdir(parents=True)
        quoted = ", ".join(f'"{d}"' for d in depends)
        (tmp_path / kind / name / "pyproject.toml").write_text(
            f'[project]\nname = "paid-{name}"\ndependencies = [{quoted}]\n'
        )

    member("libs", "helpers", "paid-devstack", "httpx>=0.28")
    member("libs", "devstack", "paid-github-emulator")
    member("libs", "github_emulator")
    member("services", "clean", "paid-contracts", "fastapi[standard]==1.0")
    member("services", "leaky", "paid_helpers")
    assert closure_problems(tmp_path) == [
        "paid-leaky installs ['paid-devstack', 'paid-github-emulator']",
    ]


def undeclared_imports(root: Path, service: str) -> set[str]:
    """Workspace packages the service's code imports that its dependency closure does not install (the
    workspace's shared venv hides them; the service's image does not)."""
    members = workspace_members(root)
    module_of = {
        package.name: name
        for name, (directory, _) in members.items()
        for package in (directory / "src").glob("paid_*")
        if package.is_dir()
    }
    installed = workspace_closure(members, f"paid-{service}") | {f"paid-{service}"}
    imported = set()
    for path in (root / "services" / service / "src").rglob("*.py"):
        imported |= set(re.findall(r"^\s*(?:from|import) (paid_\w+)", path.read_text(), re.MULTILINE))
    return {module for module in imported if module in module_of and module_of[module] not in installed}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_declares_the_workspace_packages_it_imports(service: str) -> None:
    assert undeclared_imports(ROOT, service) == set()


def test_the_import_check_sees_an_undeclared_lib(tmp_path: Path) -> None:
    for kind, name, depends in (("libs", "helpers", ""), ("services", "app", '"paid-contracts"')):
        (tmp_path / kind / name / "src" / f"paid_{name}").mkdir(parents=True)
        (tmp_path / kind / name / "pyproject.toml").write_text(
            f'[project]\nname = "paid-{name}"\ndependencies = [{depends}]\n'
        )
    (tmp_path / "services" / "app" / "src" / "paid_app" / "main.py").write_text(
        "from paid_helpers import x\nimport paid_app.main\n"
    )
    assert undeclared_imports(tmp_path, "app") == {"paid_helpers"}
