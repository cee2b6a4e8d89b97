"""The user's ``[keymap]``, checked before Textual sees it: unknown ids, keys that are not keys, and remaps
that steal another binding's key are refused with a message naming the conflict.

Unchecked, ``"cti.dial" = "a"`` left a ringing call unanswerable from the keyboard and ``"cti.hangup" =
"ctrl+q"`` showed "^q Hang up" but opened the quit dialog. A refused entry keeps that binding's default key,
so answer, hang up and quit are never left without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import Keys

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED = frozenset(key.value.rpartition("+")[2] for key in Keys) | {"space", "tab", "enter", "backspace"}


def key_name(key: str) -> str:
    """One key as Textual names it: ``#`` -> ``number_sign``, ``D`` stays ``D``, ``ctrl+x`` stays.

    Asked of Textual's public ``Binding.make_bindings`` (how it expands ``BINDINGS``), so the name is the one
    Textual binds whatever its private ``_character_to_key`` does in a later version.
    """
    if "," in key or not key.strip():  # not one key: make_bindings would split or refuse it
        return key
    return next(iter(Binding.make_bindings([Binding(key, "")]))).key


def is_key(key: str) -> bool:
    """Whether Textual can bind ``key`` (a printable character, or modifiers + a key name)."""
    if len(key) == 1:
        return key.isprintable() and not key.isspace()
    *modifiers, base = key.split("+")
    if any(m not in MODIFIERS for m in modifiers) or not base:
        return False
    if len(base) == 1:
        return base.isprintable() and not base.isspace()
    return base in _NAMED or (base.startswith("f") and base[1:].isdigit() and 1 <= int(base[1:]) <= 24)


def check_keymap(
    keymap: Mapping[str, str], remappable: Iterable[Binding], reserved: Iterable[Binding]
) -> tuple[dict[str, str], list[str]]:
    """The entries of ``keymap`` that can be applied, and a problem line for each one that cannot.

    ``remappable``: the bindings a user may move (each with an id), sharing one scope, so no two may end up
    on one key; ``reserved``: keys the app keeps whatever the keymap says (quit, the palette, focus moves).
    """
    bindings = {b.id: b for b in remappable if b.id}
    taken_by_app = {key_name(k.strip()): b.description or b.action for b in reserved for k in b.key.split(",")}
    problems: list[str] = []
    accepted: dict[str, list[str]] = {}
    for binding_id, keys in keymap.items():
        if binding_id not in bindings:
            problems.append(f"keymap: unknown binding id {binding_id!r}; known: {', '.join(sorted(bindings))}")
            continue
        parts = [part.strip() for part in keys.split(",")]
        bad = [part for part in parts if not is_key(part)]
        if bad:
            problems.append(f"keymap: {binding_id} = {keys!r}: {', '.join(map(repr, bad))} is not a key")
            continue
        stolen = [part for part in parts if key_name(part) in taken_by_app]
        if stolen:
            what = taken_by_app[key_name(stolen[0])]
            problems.append(f"keymap: {binding_id} = {keys!r}: {stolen[0]} is the app's key for {what}; ignored")
            continue
        accepted[binding_id] = [key_name(part) for part in parts]
    while True:  # drop remaps until no key belongs to two bindings (defaults never clash with each other)
        owners: dict[str, list[str]] = {}
        for binding_id, binding in bindings.items():
            for key in accepted.get(binding_id, [key_name(k.strip()) for k in binding.key.split(",")]):
                owners.setdefault(key, []).append(binding_id)
        clash = next(((key, ids) for key, ids in owners.items() if len(ids) > 1), None)
        if clash is None:
            break
        key, ids = clash
        remapped = [i for i in ids if i in accepted and key in accepted[i]]
        loser = remapped[0]
        others = ", ".join(i for i in ids if i != loser)
        problems.append(
            f"keymap: {loser} = {keymap[loser]!r} takes {others}'s key {key!r}; "
            f"ignored ({loser} keeps {bindings[loser].key!r})"
        )
        del accepted[loser]
    return {binding_id: keymap[binding_id] for binding_id in accepted}, problems


# --- every key, for the help screen ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """One row of the help screen: the keys as shown, what they do, where, and the id to remap them by."""

    keys: str
    description: str
    where: str
    binding_id: str


def remappable() -> tuple[tuple[str, list[Binding]], ...]:
    """The bindings a ``[keymap]`` may move, by where they act (imported late: the login form needs none)."""
    from cti_tui.ui.screens.dashboard import Dashboard
    from cti_tui.ui.widgets.history_pane import HistoryPane, HistorySearch
    from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane

    return (
        ("dashboard", list(Binding.make_bindings(Dashboard.BINDINGS))),
        ("lines pane", list(Binding.make_bindings(SubscriptionsPane.BINDINGS))),
        (
            "history pane",
            [*Binding.make_bindings(HistoryPane.BINDINGS), *Binding.make_bindings(HistorySearch.BINDINGS)],
        ),
    )


# keys no keymap moves, shown on the help screen as they are (the app's own, Textual's, the lists')
FIXED_KEYS: tuple[KeyHelp, ...] = (
    KeyHelp("^p", "Command palette: dial by name, watch a line, export, log out", "always", "(fixed)"),
    KeyHelp("^q", "Quit (asks first while calls are live)", "always", "(fixed)"),
    KeyHelp("tab", "Next pane (shift+tab: the one before)", "always", "(fixed)"),
    KeyHelp("↑ ↓", "Move the selection (also pgup pgdn home end)", "always", "(fixed)"),
    KeyHelp("enter", "Call back the selected history row", "always", "(fixed)"),
    KeyHelp("esc", "Close a dialog or this screen", "always", "(fixed)"),
)


def key_help(keymap: Mapping[str, str], display: Callable[[Binding], str]) -> list[KeyHelp]:
    """Every remappable key as it is bound now (``keymap``: the applied remaps), then the fixed ones."""
    rows: list[KeyHelp] = []
    for where, bindings in remappable():
        for binding in bindings:
            if not binding.id:
                continue
            keys = keymap.get(binding.id, binding.key)
            shown = ", ".join(
                display(Binding(key_name(k.strip()), binding.action, key_display=binding.key_display))
                if k.strip() == binding.key
                else display(Binding(key_name(k.strip()), binding.action))
                for k in keys.split(",")
            )
            rows.append(KeyHelp(shown, binding.description, where, binding.id))
    return [*rows, *FIXED_KEYS]
