"""The user's [keymap] is checked before Textual applies it: what would steal answer, hang up or quit, unknown
ids and non-keys are refused with a message naming the conflict; the rest is applied."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from cti_tui.config import AppConfig
from cti_tui.ui.keymap import check_keymap, is_key, key_name
from cti_tui.ui.screens.dashboard import Dashboard

SCOPE = list(Binding.make_bindings(Dashboard.BINDINGS))
RESERVED = [*Binding.make_bindings(App.BINDINGS), Binding("ctrl+p", "command_palette", "the command palette")]


def check(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    return check_keymap(keymap, SCOPE, RESERVED)


def test_a_remap_that_steals_answer_is_refused_and_answer_keeps_its_key() -> None:
    applied, problems = check({"cti.dial": "a"})
    assert applied == {}
    assert problems == ["keymap: cti.dial = 'a' takes cti.answer's key 'a'; ignored (cti.dial keeps 'd')"]


def test_a_remap_onto_the_apps_quit_key_is_refused() -> None:
    applied, problems = check({"cti.hangup": "ctrl+q"})
    assert applied == {} and "ctrl+q is the app's key for Quit" in problems[0]


def test_quit_moved_onto_hang_up_is_refused() -> None:
    applied, problems = check({"cti.quit": "x"})
    assert applied == {} and "takes cti.hangup's key 'x'" in problems[0]


def test_swaps_and_free_keys_are_applied() -> None:
    applied, problems = check({"cti.dial": "a", "cti.answer": "d", "cti.hangup": "ctrl+x,Z", "cti.dtmf": "#"})
    assert problems == []
    assert applied == {"cti.dial": "a", "cti.answer": "d", "cti.hangup": "ctrl+x,Z", "cti.dtmf": "#"}


def test_unknown_ids_and_non_keys_are_named() -> None:
    applied, problems = check({"cti.dail": "D", "cti.park": "ctrl+", "cti.merge": "hyperdrive+m", "cti.hold": " "})
    assert applied == {}
    assert problems[0].startswith("keymap: unknown binding id 'cti.dail'")
    assert all("is not a key" in p for p in problems[1:]) and len(problems) == 4


def test_key_names() -> None:
    assert key_name("#") == "number_sign" and key_name("/") == "slash" and key_name("D") == "D"
    assert all(is_key(k) for k in ("D", "#", "ctrl+x", "f12", "shift+f3", "delete", "alt+ctrl+a", "escape"))
    assert not any(is_key(k) for k in ("", " ", "ctrl+", "f25", "banana", "ctrl+banana", "\x1b"))


async def test_the_app_shows_the_refusal_and_answer_still_answers(make_app) -> None:
    app = make_app(config=AppConfig(keymap={"cti.dial": "a", "cti.park": "P"}, bell=False, flash=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("cti.dial = 'a' takes cti.answer's key" in m for m in messages), messages
        assert app._keymap == {"cti.park": "P"}


def test_every_single_character_is_named_as_textual_binds_it() -> None:
    """key_name asks Textual's public make_bindings rather than copying its private rules, which may change
    with a Textual upgrade: whatever Textual does, a remap names the key Textual binds."""
    characters = [c for c in map(chr, range(1, 127)) if c.strip() and c != ","] + ["é", "ü", "→", "€"]
    expected = {c: next(iter(Binding.make_bindings([Binding(c, "a")]))).key for c in characters}
    assert {c: key_name(c) for c in expected} == expected
