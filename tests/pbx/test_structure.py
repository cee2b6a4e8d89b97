"""Rules of the PBX's code that no behaviour test would notice being broken, checked on its source."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import cti_tui.pbx

PBX = Path(cti_tui.pbx.__file__).parent
MODULES = sorted(PBX.glob("*.py"))
# where a leg's call may be replaced: its constructor, the one move (through the machine), and revise()
CALL_MOVE = ("legs.py", "Leg.advance")
CALL_OWNERS = {("legs.py", "Leg.__init__"), CALL_MOVE, ("legs.py", "Leg.revise")}


def nodes_with_scope(path: Path) -> Iterator[tuple[ast.AST, str]]:
    """Every node of a module with the dotted name of the class/function it sits in."""

    def walk(node: ast.AST, scope: str) -> Iterator[tuple[ast.AST, str]]:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                inner = f"{scope}.{child.name}" if scope else child.name
            yield child, inner
            yield from walk(child, inner)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), "")


def assigned_attributes(node: ast.AST) -> Iterator[str]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        elif isinstance(target, ast.Attribute):
            yield target.attr


def test_the_rules_see_the_modules() -> None:
    assert {"exchange.py", "legs.py"} <= {p.name for p in MODULES}


def test_no_status_is_set_outside_the_state_machine() -> None:
    """A leg's status changes in Leg.advance only, which asks core.machine.advance first."""
    offences = []
    for path in MODULES:
        for node, scope in nodes_with_scope(path):
            where = f"{path.name}:{getattr(node, 'lineno', '?')} in {scope or 'module'}"
            for attribute in assigned_attributes(node):
                if attribute == "status":
                    offences.append(f"{where}: assigns .status")
                if attribute == "_call" and (path.name, scope) not in CALL_OWNERS:
                    offences.append(f"{where}: replaces a leg's call")
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in ("setattr", "__setattr__"):
                    offences.append(f"{where}: {name}() can set anything")
                keywords = {k.arg for k in node.keywords}
                if name in ("evolve", "replace") and "status" in keywords and (path.name, scope) != CALL_MOVE:
                    offences.append(f"{where}: {name}(status=...) outside Leg.advance")
    assert offences == []


def test_the_pbx_imports_only_the_core_and_itself() -> None:
    """The simulator sits beside the backends, not above them: no engine, protocol, backends, store, UI."""
    offences = []
    for path in MODULES:
        for node, _ in nodes_with_scope(path):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("cti_tui") and not name.startswith(("cti_tui.core", "cti_tui.pbx")):
                    offences.append(f"{path.name}:{node.lineno}: imports {name}")
    assert offences == []
