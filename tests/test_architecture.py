"""The layers of DESIGN.md, held by the code: every import in cti_tui (type-only ones too) points down.

An AST import graph, no import-linter needed: each module's package is placed in a layer; a module may import
its own package and anything in a lower layer, never a higher one, and never a sibling package of its own
layer. A few arrows that the layering alone would allow are forbidden on top (the UI renders and posts intents:
it never touches a PBX, a concrete backend or the history database).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cti_tui"

# modules that form one unit (they may import each other)
SETTINGS = frozenset({"paths", "config", "credentials", "watched", "__init__"})  # folders, TOML, keyring
# lowest first; a name is a subpackage or a top-level module of cti_tui
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"core"}),
    SETTINGS,
    frozenset({"protocol"}),
    frozenset({"engine"}),
    frozenset({"pbx", "store"}),
    frozenset({"backends"}),
    frozenset({"server", "ui", "headless"}),
    frozenset({"assembly"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
FORBIDDEN: dict[str, frozenset[str]] = {
    "ui": frozenset({"pbx", "backends", "store"}),
    "server": frozenset({"pbx", "backends"}),
    "headless": frozenset({"pbx", "backends", "store"}),
    "core": SETTINGS,  # pure: imports nothing else of cti_tui
    "protocol": SETTINGS - {"__init__"},  # sans-I/O: no files, no keyring
}


def _unit(module: str) -> str:
    """``cti_tui.ui.widgets.x`` -> ``ui``; ``cti_tui`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int:
    for index, names in enumerate(LAYERS):
        if unit in names:
            return index
    raise AssertionError(f"cti_tui.{unit} is in no layer: place it in tests/test_architecture.py's LAYERS")


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Every cti_tui module -> the cti_tui modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name.split(".")[0] == "cti_tui")
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                if target.split(".")[0] == "cti_tui":
                    imported.add(target)
        graph[name] = imported
    return graph


def violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        unit = _unit(module)
        for target in sorted(targets):
            other = _unit(target)
            if other == unit or {unit, other} <= SETTINGS:
                continue
            if other in FORBIDDEN.get(unit, frozenset()):
                found.append(f"{module} -> {target}: {unit} must not import {other}")
            elif _layer(other) > _layer(unit):
                found.append(f"{module} -> {target}: upward ({unit} is below {other})")
            elif _layer(other) == _layer(unit):
                found.append(f"{module} -> {target}: sideways ({unit} and {other} are independent)")
    return found


def test_every_import_points_down_the_layers() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the walk found too few modules"
    assert violations(graph) == []


def test_the_contract_catches_an_upward_arrow() -> None:
    """The checker itself: an engine -> ui import, a ui -> pbx one and a sideways one are all reported."""
    graph = {
        "cti_tui.engine.connector": {"cti_tui.ui.app"},
        "cti_tui.ui.app": {"cti_tui.pbx.exchange", "cti_tui.core.model"},
        "cti_tui.pbx.exchange": {"cti_tui.store.history"},
        "cti_tui.core.model": {"cti_tui.config"},
    }
    found = violations(graph)
    assert any("engine.connector -> cti_tui.ui.app: upward" in v for v in found)
    assert any("ui.app -> cti_tui.pbx.exchange: ui must not import pbx" in v for v in found)
    assert any("pbx.exchange -> cti_tui.store.history: sideways" in v for v in found)
    assert any("core.model -> cti_tui.config: core must not import config" in v for v in found)
    assert len(found) == 4


def test_every_package_is_placed() -> None:
    units = {_unit(module) for module in import_graph()}
    for unit in units:
        _layer(unit)
