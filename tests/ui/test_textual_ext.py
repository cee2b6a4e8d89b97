"""The version guard of ``cti_tui/ui/textual_ext``: the Textual it was written for, the internals it relies on.

Each failure here says what to look at before changing anything; none is fixed by editing this file alone.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import textwrap
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cti_tui.ui import textual_ext
from cti_tui.ui.textual_ext import TEXTUAL_INTERNALS, WRITTEN_FOR, Internal

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "cti_tui" / "ui"
EXT = UI / "textual_ext"

BEFORE_BUMPING = f"""
Before changing WRITTEN_FOR (cti_tui/ui/textual_ext/__init__.py), with the new Textual installed:
  1. python3 -m pytest -q tests/ui/test_driver.py tests/ui/test_compositor.py tests/ui/test_row_view.py \\
       tests/ui/test_soon.py tests/ui/test_snapshots.py tests/ui/test_textual_ext.py
  2. read what Textual changed around every name in TEXTUAL_INTERNALS (the same file), and fix the overrides;
  3. look at the app in tmux: tmux new-session -d -s tx -x 100 -y 30 'python3 -m cti_tui; sleep 5', log in
     (agent@demo.local / demo), move around, press Escape alone, quit with ctrl+q;
  4. then set WRITTEN_FOR and the pin in pyproject.toml to the new version together.
Textual's private names change without notice: these overrides were written and measured against
{WRITTEN_FOR} only."""


# --- the version ---------------------------------------------------------------------------------------


def test_installed_textual_is_the_one_the_overrides_were_written_for() -> None:
    installed = importlib.metadata.version("textual")
    if installed != WRITTEN_FOR:
        pytest.fail(
            f"Textual {installed} is installed, but cti_tui/ui/textual_ext was written for Textual {WRITTEN_FOR}.\n"
            + BEFORE_BUMPING,
            pytrace=False,
        )


def test_pyproject_pins_the_textual_the_overrides_were_written_for() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    # (Textual itself, not textual-serve: the name ends where a version or marker starts)
    textual = [d for d in dependencies if re.match(r"textual(?![\w.-])", d.replace(" ", "").lower())]
    assert textual == [f"textual=={WRITTEN_FOR}"], (
        f"pyproject.toml asks for {textual}, textual_ext was written for {WRITTEN_FOR}.\n{BEFORE_BUMPING}"
    )


# --- every internal name the overrides rely on ---------------------------------------------------------


def resolve(path: str) -> Any:
    """``module.attr.attr`` to the object: the longest prefix that imports is the module."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(path)


def class_body(cls: type) -> ast.ClassDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    return node


def walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node``, but not inside classes nested in it."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, ast.ClassDef):
            yield from walk_own(child)


@cache
def set_on_self(cls: type) -> frozenset[str]:
    """The attributes ``cls``'s own code sets on ``self`` (``self.x = ...``, ``self.x: T = ...``)."""
    names = set()
    for node in walk_own(class_body(cls)):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in [leaf for each in targets for leaf in ast.walk(each)]:  # (self.a, self.b = ...)
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                names.add(target.attr)
    return frozenset(names)


def textual_classes(cls: type) -> list[type]:
    return [base for base in cls.__mro__ if base.__module__.split(".")[0] == "textual"]


def textual_defines(cls: type, name: str) -> type | None:
    """The first Textual class in ``cls``'s MRO that has ``name``, as a class attribute or set on ``self``."""
    for base in textual_classes(cls):
        if name in vars(base) or name in set_on_self(base):
            return base
    return None


def parameter_names(function: Any) -> tuple[str, ...]:
    names = tuple(inspect.signature(function).parameters)
    return names[1:] if names[:1] == ("self",) else names


@pytest.mark.parametrize("internal", TEXTUAL_INTERNALS, ids=[internal.path for internal in TEXTUAL_INTERNALS])
def test_every_textual_internal_the_overrides_use_is_still_there(internal: Internal) -> None:
    where = f"{internal.path} (used by textual_ext/{internal.used_by})"
    if internal.instance:
        owner_path, _, name = internal.path.rpartition(".")
        try:
            owner = resolve(owner_path)
        except (ImportError, AttributeError) as error:
            pytest.fail(f"{where}: {owner_path} is gone ({error!r}).\n{BEFORE_BUMPING}", pytrace=False)
        if textual_defines(owner, name) is None:
            pytest.fail(f"{where}: Textual no longer sets {name} on its instances.\n{BEFORE_BUMPING}", pytrace=False)
        return
    try:
        found = resolve(internal.path)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"{where} is gone ({error!r}).\n{BEFORE_BUMPING}", pytrace=False)
    if internal.parameters is not None:
        got = parameter_names(found)
        if got != internal.parameters:
            pytest.fail(
                f"{where}: its parameters are now {got}, the code here was written for {internal.parameters}.\n"
                + BEFORE_BUMPING,
                pytrace=False,
            )


# --- the list is exactly what the code uses, and nothing outside textual_ext uses Textual internals -------


def modules(folder: Path) -> Iterator[tuple[Path, ModuleType]]:
    for path in sorted(folder.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        yield path, importlib.import_module(name)


def classes_of(module: ModuleType) -> Iterator[type]:
    """Classes defined in ``module``, nested ones too."""
    todo = [obj for obj in vars(module).values() if isinstance(obj, type) and obj.__module__ == module.__name__]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        todo += [obj for obj in vars(cls).values() if isinstance(obj, type) and obj.__module__ == module.__name__]


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


class Use:
    """A use of a Textual internal by our code: where, the name, and the class of ours whose Textual base has it
    (None: an import, or an attribute of something other than ``self``)."""

    def __init__(self, where: str, name: str, ours: type | None = None) -> None:
        self.where, self.name, self.ours = where, name, ours

    def __repr__(self) -> str:
        if self.ours is None:
            return f"{self.where}: {self.name}"
        owner = textual_defines(self.ours, self.name)
        assert owner is not None
        return f"{self.where}: {owner.__module__}.{owner.__qualname__}.{self.name}"


def uses_in(path: Path, module: ModuleType, *, strict: bool) -> Iterator[Use]:
    """Textual internals ``module`` uses: imports from Textual's private modules; in subclasses of Textual
    classes, private names that Textual defines too (``strict``: every method that overrides one of Textual's
    as well); private attributes of anything but ``self`` (not ``strict``: only names private to the Textual
    objects a UI module can reach, :func:`reachable_private_names`)."""
    where = str(path.relative_to(ROOT))
    reachable = reachable_private_names()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and is_textual_private_module(node.module):
            for alias in node.names:
                yield Use(f"{where}:{node.lineno}", f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if is_textual_private_module(alias.name):
                    yield Use(f"{where}:{node.lineno}", alias.name)
        elif (
            isinstance(node, ast.Attribute)
            and is_private(node.attr)
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            and (strict or node.attr in reachable)
        ):
            yield Use(f"{where}:{node.lineno}", node.attr)
    for cls in classes_of(module):
        if not textual_classes(cls):
            continue
        for node in walk_own(class_body(cls)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                name = node.attr
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = node.name
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                name = node.target.id
            else:
                continue
            overrides = strict and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            if (is_private(name) or (overrides and not name.startswith("__"))) and textual_defines(cls, name):
                yield Use(f"{where}:{cls.__qualname__}", name, cls)


@cache
def reachable_private_names() -> frozenset[str]:
    """Private names of the Textual objects UI code holds: the app, screens, widgets, the driver."""
    from textual.app import App
    from textual.drivers.linux_driver import LinuxDriver
    from textual.screen import Screen
    from textual.widget import Widget

    return frozenset(
        name
        for cls in (App, Screen, Widget, LinuxDriver)
        for base in textual_classes(cls)
        for name in {*vars(base), *set_on_self(base)}
        if is_private(name)
    )


def is_textual_private_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "textual" and any(is_private(part) for part in parts[1:])


def listed(use: Use) -> bool:
    for internal in TEXTUAL_INTERNALS:
        owner_path, _, name = internal.path.rpartition(".")
        if use.ours is None:
            if use.name in (internal.path, name):
                return True
        elif name == use.name and resolve(owner_path) in use.ours.__mro__:
            return True
    return False


def test_textual_internals_lists_every_internal_textual_ext_uses() -> None:
    unlisted = sorted(
        {repr(use) for path, module in modules(EXT) for use in uses_in(path, module, strict=True) if not listed(use)}
    )
    assert not unlisted, (
        "textual_ext uses Textual internals that TEXTUAL_INTERNALS (textual_ext/__init__.py) does not list, so the "
        "version guard does not check them: add them there\n  " + "\n  ".join(unlisted)
    )


def test_textual_internals_lists_nothing_textual_ext_does_not_use() -> None:
    source = "\n".join(path.read_text() for path in EXT.glob("*.py") if path.name != "__init__.py")
    unused = [internal.path for internal in TEXTUAL_INTERNALS if internal.path.rpartition(".")[2] not in source]
    assert not unused, f"TEXTUAL_INTERNALS lists names nothing in textual_ext uses any more: {unused}"


def test_nothing_outside_textual_ext_uses_textual_internals() -> None:
    outside = [(path, module) for path, module in modules(UI) if EXT not in path.parents]
    used = sorted({repr(use) for path, module in outside for use in uses_in(path, module, strict=False)})
    assert not used, (
        "Textual's private names are used outside cti_tui/ui/textual_ext: move the use behind a small function "
        "there and list the names in TEXTUAL_INTERNALS (issue 13), or rename an attribute of ours that has the "
        "name of one of Textual's:\n  " + "\n  ".join(used)
    )


def test_the_rest_of_cti_tui_imports_no_private_textual_module() -> None:
    found = []
    for path in sorted((ROOT / "cti_tui").rglob("*.py")):
        if EXT in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if is_textual_private_module(n)]
    assert not found, "private Textual modules imported outside cti_tui/ui/textual_ext:\n  " + "\n  ".join(found)


def test_the_package_says_why_it_exists() -> None:
    assert textual_ext.__doc__ and "WRITTEN_FOR" in textual_ext.__doc__
    for path in EXT.glob("*.py"):
        if path.name != "__init__.py":
            assert f":mod:`.{path.stem}`" in textual_ext.__doc__, f"textual_ext's docstring does not list {path.name}"
