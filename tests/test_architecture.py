"""Services are run, never imported: no service (nor lib) may import a service."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    p.name: f"paid_{p.name}" for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists()
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _installed(relative: Path) -> bool:
    """Tools the tests install beside their code (an agent CLI's virtualenv, node_modules) are not ours."""
    return any(part in {".venv", "node_modules"} for part in relative.parts)


def _violations(package_dir: Path, own_module: str | None) -> list[str]:
    forbidden = set(SERVICES.values()) - {own_module}
    return [
        f"{path.relative_to(package_dir)} imports {sorted(bad)}"
        for path in sorted(package_dir.rglob("*.py"))
        if not _installed(path.relative_to(package_dir)) and (bad := _imported_modules(path) & forbidden)
    ]


def test_all_six_services_exist() -> None:
    assert set(SERVICES) == {"gateway", "poller", "planner", "executor", "evolution", "notifier"}


def test_no_service_imports_another_service() -> None:
    problems = [v for name, module in SERVICES.items() for v in _violations(ROOT / "services" / name, module)]
    assert not problems, "\n".join(problems)


def test_no_library_imports_a_service() -> None:
    problems = [v for lib in (ROOT / "libs").iterdir() if lib.is_dir() for v in _violations(lib, None)]
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("from paid_planner.workflows import PlanningWorkflow\n")
    assert _violations(tmp_path, "paid_executor") == ["bad.py imports ['paid_planner']"]
    assert _violations(tmp_path, "paid_planner") == []
