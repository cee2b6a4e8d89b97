"""core.text.visible: every control character from outside becomes a visible stand-in (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core.text import is_visible, visible


def test_the_attack_from_the_issue_is_shown_not_obeyed() -> None:
    name = "\x1b]2;PWNED\x07Eve\x1b[5;41mZ"
    assert visible(name) == "␛]2;PWNED␇Eve␛[5;41mZ"


def test_c1_bidi_and_surrogates_are_escaped() -> None:
    assert visible("a\x9b31mb") == "a\\x9b31mb"
    assert visible("\u202egnp.exe") == "\\u202egnp.exe"
    assert visible("x\ud800") == "x\\ud800"
    assert visible("tab\tnew\nline\x7f") == "tab␉new␊line␡"


def test_ordinary_text_is_returned_as_is() -> None:
    for text in ("Ada Lovelace", "Zoë Müller-Straße", "李小龍", "+1 (202) 555-0143", "José 🚀", ""):
        assert visible(text) is text


@given(st.text())
def test_anything_comes_out_visible_and_encodable(text: str) -> None:
    shown = visible(text)
    assert is_visible(shown)
    shown.encode("utf-8")  # no lone surrogate left
    assert visible(shown) == shown  # idempotent: a second boundary changes nothing
