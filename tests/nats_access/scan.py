"""What a service's code does on NATS, read from its source, to compare with `paid_contracts.nats_access`.

Evidence, per file:
- publishes: an event class (an `Event` with a `SUBJECT`) that is called, passed to a call or mapped in a
  dict (the service builds that event to send it), and a subject given to `.publish(...)`;
- durable consumers: `durable_subscriber(service=..., name=..., subject=...)` and the `subscribe(name,
  subject)` returned by `durable_subscribers(broker, service)`;
- served subjects: `broker.subscriber(subject, ...)` without a stream (core request-reply) and a raw
  `connection.subscribe(subject)`;
- requests: a request body (a model with a `SUBJECT` that is not an event) that is built, a subject given
  to `.request(...)`.
A service also does what the library modules it imports from do (`from paid_prompt_client import
PromptClient` brings in the module that defines `PromptClient`, not the whole library), and what the
modules those import from do, transitively; `paid_contracts`
and `paid_runtime` are the wire format and the plumbing every service shares, not uses of their own.

A service's `testing.py` (like `temporalio.testing`) builds events for tests to feed the service, never
to send them: it is not scanned, and the scan fails if any other module of the service imports it.

A subject expression the scan cannot resolve is reported, so the scan never passes by not looking.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path

import paid_contracts
from paid_contracts import subjects
from paid_contracts.nats_access import ServiceAccess

TEST_SUPPORT = "testing.py"
ROOT = Path(__file__).resolve().parents[2]
SUBJECT_MODELS = {
    name: value
    for name, value in vars(paid_contracts).items()
    if inspect.isclass(value) and isinstance(getattr(value, "SUBJECT", None), str)
}
EVENT_SUBJECTS = {
    name: m.SUBJECT for name, m in SUBJECT_MODELS.items() if issubclass(m, paid_contracts.Event)
}
REQUEST_SUBJECTS = {name: m.SUBJECT for name, m in SUBJECT_MODELS.items() if name not in EVENT_SUBJECTS}
"""Request bodies (prompt resolution, run commands): building one means asking its owner."""
SHARED_PLUMBING = ("paid_contracts", "paid_runtime")
# Clients in the plumbing that make requests on a service's behalf: followed like a library's modules.
REQUEST_CLIENTS = ("paid_runtime.github_credentials", "paid_runtime.job_tokens")
NOT_A_PUBLISH = frozenset({"isinstance", "issubclass"})


@dataclass
class NatsUse:
    publishes: set[str] = field(default_factory=set)
    durables: set[tuple[str, str]] = field(default_factory=set)
    """(durable name, filter subject)"""
    serves: set[str] = field(default_factory=set)
    requests: set[str] = field(default_factory=set)
    raw_requests: set[str] = field(default_factory=set)
    """Subjects given to `.request(...)`: over NATS even when the service serves them too (another of
    its processes answers, as the executor's liveness)."""
    unresolved: list[str] = field(default_factory=list)

    def add(self, other: NatsUse) -> None:
        self.publishes |= other.publishes
        self.durables |= other.durables
        self.serves |= other.serves
        self.requests |= other.requests
        self.raw_requests |= other.raw_requests
        self.unresolved += other.unresolved


def scan_service(service: str) -> NatsUse:
    use = NatsUse()
    library_files: set[Path] = set()
    for path in sorted((ROOT / "services" / service / "src").rglob("*.py")):
        source = path.read_text()
        if path.name == TEST_SUPPORT:
            continue
        if _imports_test_support(ast.parse(source), f"paid_{service}"):
            raise AssertionError(f"{path.relative_to(ROOT)} imports the tests' support module")
        use.add(scan_source(source, str(path.relative_to(ROOT))))
        library_files |= _library_modules_used(ast.parse(source), own_package=f"paid_{service}")
    scanned: set[Path] = set()
    while library_files - scanned:
        path = min(library_files - scanned)
        scanned.add(path)
        source = path.read_text()
        use.add(scan_source(source, str(path.relative_to(ROOT))))
        # A library's own helpers count too: the translator builds events in a module its entry points
        # import. A package's __init__ only re-exports: following it would count the whole library.
        if path.name != "__init__.py":
            library_files |= _library_modules_used(ast.parse(source), own_package=None)
    return use


def _imports_test_support(tree: ast.Module, package: str) -> bool:
    support = f"{package}.{TEST_SUPPORT.removesuffix('.py')}"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            names = {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        else:
            continue
        if support in names:
            return True
    return False


def _library_modules_used(tree: ast.Module, own_package: str | None) -> set[Path]:
    """The files of the first-party library modules that define what `tree` imports by name."""
    found: set[Path] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or not node.module or not node.module.startswith("paid_"):
            continue
        package = node.module.split(".")[0]
        if package in (*SHARED_PLUMBING, own_package) and node.module not in REQUEST_CLIENTS:
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            defined_in = getattr(getattr(module, alias.name, None), "__module__", None) or node.module
            if defined_in.startswith("paid_"):
                source_file = inspect.getsourcefile(sys.modules[defined_in])
                if source_file is not None:
                    found.add(Path(source_file).resolve())
    return found


def scan_source(source: str, where: str) -> NatsUse:
    return _Scanner(ast.parse(source), where).use


def undeclared(use: NatsUse, access: ServiceAccess) -> list[str]:
    """Every use that `access` does not allow, and every grant that no use needs (least privilege)."""
    problems = [f"unresolved subject: {item}" for item in use.unresolved]
    problems += [f"publishes {s}" for s in sorted(use.publishes) if not _covered(s, access.publishes)]
    # A service builds the request model of a subject it serves to answer itself in-process (the gateway's
    # own trust checks ask its minter directly): that is no request over NATS.
    requests = {s for s in use.requests if s not in use.serves or s in use.raw_requests}
    problems += [f"requests {s}" for s in sorted(requests) if s not in access.requests]
    problems += [f"serves {s}" for s in sorted(use.serves) if not _covered(s, access.serves)]
    declared = {(durable.name, durable.subject) for durable in access.durables}
    problems += [f"consumes {subject} as durable {name}" for name, subject in sorted(use.durables - declared)]
    problems += [
        f"grants durable {name} on {subject}, unused" for name, subject in sorted(declared - use.durables)
    ]
    problems += [f"grants publish {p}, unused" for p in access.publishes if not _any_match(p, use.publishes)]
    problems += [f"grants request {s}, unused" for s in access.requests if s not in requests]
    problems += [f"grants serving {p}, unused" for p in access.serves if not _any_match(p, use.serves)]
    return problems


def matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` is one token, `>` one or more trailing tokens."""
    wanted, parts = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(parts) > index
        if index >= len(parts) or token not in ("*", parts[index]):
            return False
    return len(parts) == len(wanted)


def _covered(subject: str, patterns: tuple[str, ...]) -> bool:
    return any(matches(pattern, subject) for pattern in patterns)


def _any_match(pattern: str, used: set[str]) -> bool:
    return any(matches(pattern, subject) or pattern == subject for subject in used)


class _Scanner(ast.NodeVisitor):
    def __init__(self, tree: ast.Module, where: str) -> None:
        self.where = where
        self.use = NatsUse()
        self.constants = _string_constants(tree)
        self.subscribe_services: dict[str, str] = {}
        self.visit(tree)

    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        if name == "durable_subscribers" and len(node.args) >= 2:
            self._remember_subscribe(node)
        elif name == "durable_subscriber":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            service, durable_name = self._text(keywords["service"]), self._text(keywords["name"])
            self.use.durables.add((f"{service}-{durable_name}", self._subject(keywords["subject"])))
        elif name in self.subscribe_services and len(node.args) >= 2:
            prefix = self.subscribe_services[name]
            self.use.durables.add((f"{prefix}-{self._text(node.args[0])}", self._subject(node.args[1])))
        elif (name == "subscriber" and node.args and not any(k.arg == "stream" for k in node.keywords)) or (
            name == "subscribe" and node.args and self._names_a_subject(node.args[0])
        ):
            self.use.serves.add(self._subject(node.args[0]))
        elif name in ("publish", "request") and node.args and self._names_a_subject(node.args[0]):
            target = self.use.publishes if name == "publish" else self.use.requests
            target.add(self._subject(node.args[0]))
            if name == "request":
                self.use.raw_requests.add(self._subject(node.args[0]))
        if name not in NOT_A_PUBLISH:
            self._events_sent(node)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for value in node.values:
            if isinstance(value, ast.Name) and value.id in EVENT_SUBJECTS:
                self.use.publishes.add(EVENT_SUBJECTS[value.id])
        self.generic_visit(node)

    def _remember_subscribe(self, node: ast.Call) -> None:
        parent_target = getattr(node, "_assigned_to", None)
        if parent_target is not None:
            self.subscribe_services[parent_target] = self._text(node.args[1])

    def visit_Assign(self, node: ast.Assign) -> None:
        if (
            isinstance(node.value, ast.Call)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            node.value._assigned_to = node.targets[0].id  # type: ignore[attr-defined]
        self.generic_visit(node)

    def _events_sent(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in EVENT_SUBJECTS:
            self.use.publishes.add(EVENT_SUBJECTS[node.func.id])
        if isinstance(node.func, ast.Name) and node.func.id in REQUEST_SUBJECTS:
            self.use.requests.add(REQUEST_SUBJECTS[node.func.id])
        for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
            if isinstance(argument, ast.Name) and argument.id in EVENT_SUBJECTS:
                self.use.publishes.add(EVENT_SUBJECTS[argument.id])

    def _names_a_subject(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return True
        if isinstance(node, ast.Attribute):
            return node.attr == "SUBJECT" or (
                isinstance(node.value, ast.Name) and node.value.id == "subjects"
            )
        if isinstance(node, ast.JoinedStr):  # f"{subjects.PREFIX}.{token}": a subject per instance
            first = node.values[0] if node.values else None
            return isinstance(first, ast.FormattedValue) and self._names_a_subject(first.value)
        return isinstance(node, ast.Name) and (node.id in self.constants or hasattr(subjects, node.id))

    def _subject(self, node: ast.expr) -> str:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = node.value.id
            if node.attr == "SUBJECT" and owner in SUBJECT_MODELS:
                return str(SUBJECT_MODELS[owner].SUBJECT)
            if owner == "subjects":
                return str(getattr(subjects, node.attr))
        if isinstance(node, ast.Name) and node.id not in self.constants and hasattr(subjects, node.id):
            return str(getattr(subjects, node.id))
        if isinstance(node, ast.JoinedStr) and self._names_a_subject(node):
            return "".join(self._subject_part(value) for value in node.values)
        return self._text(node)

    def _subject_part(self, node: ast.expr) -> str:
        """A known subject as itself, any other formatted value as the one token it stands for."""
        if isinstance(node, ast.FormattedValue):
            return self._subject(node.value) if self._names_a_subject(node.value) else "*"
        return self._text(node)

    def _text(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        self.use.unresolved.append(f"{self.where}:{node.lineno}: {ast.unparse(node)}")
        return "?"


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _string_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
        if isinstance(statement.value.value, str)
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
