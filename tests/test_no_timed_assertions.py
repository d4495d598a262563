"""No test asserts on elapsed wall time: on a shared CI machine such an assertion fails for reasons
unrelated to the code (one failed at 2.47 s against a 2 s limit under normal load). Speed belongs in
bench/; a test checks what happened, and waits with a deadline (`assert time.monotonic() < deadline`
inside a polling loop is a wait's timeout, not a timed assertion, and stays allowed).

The scan is static: in each function, a name bound to a clock reading is a timestamp; the difference
of two timestamps is a duration, and so is a name bound to one or named `elapsed...`; an assert that
orders (<, <=, >, >=) a duration against anything is refused."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCKS = frozenset({"time", "monotonic", "perf_counter", "monotonic_ns", "perf_counter_ns", "now", "utcnow"})
DURATION_NAME = re.compile(r"^(elapsed|took)(_|$)")
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _is_clock_call(node: ast.expr) -> bool:
    """time.monotonic(), loop.time(), datetime.now(), perf_counter() imported bare."""
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name in CLOCKS and not node.args


class _Clocks:
    def __init__(self, function: ast.AST) -> None:
        self.timestamps: set[str] = set()
        self.durations: set[str] = set()
        assignments = [node for node in ast.walk(function) if isinstance(node, ast.Assign | ast.AnnAssign)]
        for _ in range(3):  # a name may be bound from another bound later in the walk's order
            for node in assignments:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is None:
                    continue
                names = {target.id for target in targets if isinstance(target, ast.Name)}
                if self.is_duration(node.value):
                    self.durations |= names
                elif self.is_timestamp(node.value):
                    self.timestamps |= names

    def is_timestamp(self, node: ast.expr) -> bool:
        if _is_clock_call(node) or (isinstance(node, ast.Name) and node.id in self.timestamps):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            return self.is_timestamp(node.left) != self.is_timestamp(node.right)  # reading +- an interval
        return False

    def is_duration(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.durations or bool(DURATION_NAME.match(node.id))
        if isinstance(node, ast.BinOp):
            if (
                isinstance(node.op, ast.Sub)
                and self.is_timestamp(node.left)
                and self.is_timestamp(node.right)
            ):
                return True
            return self.is_duration(node.left) or self.is_duration(node.right)
        if isinstance(node, ast.Call):  # abs(elapsed), round(took, 1), (now() - began).total_seconds()
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            receiver_is_duration = receiver is not None and self.is_duration(receiver)
            return receiver_is_duration or any(self.is_duration(argument) for argument in node.args)
        return False


def timed_assertions(source: str, filename: str = "<test>") -> list[str]:
    """`file:line` of every assert on elapsed wall time in `source`."""
    tree = ast.parse(source, filename=filename)
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        clocks = _Clocks(function)
        for node in ast.walk(function):
            if not isinstance(node, ast.Assert):
                continue
            for compare in (c for c in ast.walk(node.test) if isinstance(c, ast.Compare)):
                operands = [compare.left, *compare.comparators]
                if any(isinstance(op, ORDERING) for op in compare.ops) and any(
                    clocks.is_duration(operand) for operand in operands
                ):
                    found.append(f"{filename}:{node.lineno}")
    return sorted(set(found))


def _test_files() -> list[Path]:
    candidates = [*ROOT.glob("libs/*/tests/**/*.py"), *ROOT.glob("services/*/tests/**/*.py")]
    candidates += ROOT.glob("tests/**/*.py")
    installed = {".venv", "node_modules"}
    return sorted(path for path in candidates if not installed & set(path.relative_to(ROOT).parts))


def test_no_test_asserts_on_elapsed_wall_time() -> None:
    files = _test_files()
    assert len(files) > 50, "the scan found too few test files to be looking in the right place"
    found = [hit for path in files for hit in timed_assertions(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], "move these figures to bench/ and assert on what happened instead"


def function(*lines: str) -> str:
    return "async def t():\n" + "".join(f"    {line}\n" for line in lines)


def test_the_scan_finds_the_patterns_it_refuses_and_spares_deadlines() -> None:
    refused = {
        "difference": function("start = time.monotonic()", "work()", "assert time.monotonic() - start < 2"),
        "bound": function("s = perf_counter()", "elapsed = perf_counter() - s", "assert elapsed < 2.0"),
        "named": function("elapsed = measure()", "assert elapsed <= 1, 'slow'"),
        "scaled": function("a = loop.time()", "took = loop.time() - a", "assert 0.1 < took * 1000"),
        "timedelta": function("b = datetime.now()", "assert (datetime.now() - b).total_seconds() < 5"),
    }
    allowed = {
        "deadline": function(
            "deadline = time.monotonic() + 5", "while x():", "    assert time.monotonic() < deadline"
        ),
        "clock moved": function("reset_at = time.time() + w", "assert time.time() >= reset_at - w"),
        "printed": function("s = time.monotonic()", "took = time.monotonic() - s", "print(took)"),
        "durable timer": function("assert 10 <= result.elapsed_days <= 11"),
    }
    assert [name for name, code in refused.items() if not timed_assertions(code)] == []
    assert [name for name, code in allowed.items() if timed_assertions(code)] == []
