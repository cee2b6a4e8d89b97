"""The subscribe picker over the big demo org (10,000 agents, 200 queues): type to filter, keys to pick."""

from __future__ import annotations

from pathlib import Path

from scenes import BIG_ORG, as_supervisor, scene_app, settle
from textual.pilot import Pilot
from textual.widgets import Label, OptionList

from cti_tui.core.model import DirectoryEntry, EntryKind
from cti_tui.ui.widgets.line_picker import SHOWN, Candidate, LinePicker, kinds_text, matches
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane


def _entry(node: str, name: str, number: str) -> DirectoryEntry:
    return DirectoryEntry(name, number, EntryKind(node.partition(":")[0]), node)


CANDIDATES = [
    Candidate.of(_entry("user:1001", "Alice Martin", "1001")),
    Candidate.of(_entry("queue:sales", "Sales", "6001")),
    Candidate.of(_entry("user:1002", "Bruno Salesman", "1002")),
    Candidate.of(_entry("queue:support", "Support", "6002")),
]


def test_every_word_must_match_and_the_node_itself_comes_first() -> None:
    assert [c.node for c in matches(CANDIDATES, "sales")] == ["queue:sales", "user:1002"]
    assert [c.node for c in matches(CANDIDATES, "queue:")] == ["queue:sales", "queue:support"]
    assert [c.node for c in matches(CANDIDATES, "SALES bruno")] == ["user:1002"]
    assert [c.node for c in matches(CANDIDATES, "600")] == ["queue:sales", "queue:support"]
    assert matches(CANDIDATES, "nobody") == []
    assert [c.node for c in matches(CANDIDATES, "  ")] == [c.node for c in CANDIDATES]
    assert kinds_text(CANDIDATES) == "user 2 · queue 2"


def test_names_from_the_backend_are_shown_as_text_not_controls() -> None:
    candidate = Candidate.of(_entry("user:1003", "Eve\x1b[2J", "1003"))
    assert "\x1b" not in candidate.name


def _picker(pilot: Pilot[None]) -> LinePicker:
    screen = pilot.app.screen
    assert isinstance(screen, LinePicker)
    return screen


def _shown(pilot: Pilot[None]) -> list[str]:
    options = _picker(pilot).query_one("#picks", OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


def _count(pilot: Pilot[None]) -> str:
    return str(_picker(pilot).query_one("#count", Label).render())


async def _type(pilot: Pilot[None], text: str) -> None:
    for key in text:
        await pilot.press("colon" if key == ":" else ("space" if key == " " else key))
    await settle(pilot)


async def test_a_supervisor_finds_and_watches_one_line_among_ten_thousand_by_keys(tmp_path: Path) -> None:
    app = scene_app(tmp_path, BIG_ORG)
    async with app.run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        dashboard = pilot.app.screen
        lines = dashboard.query_one("#lines", SubscriptionsPane)
        watchable = [e.node for e in dashboard.directory if e.node != "user:1100"]  # type: ignore[attr-defined]
        assert len(watchable) > BIG_ORG
        await pilot.press("s")
        await settle(pilot)
        assert len(_shown(pilot)) == SHOWN
        assert _count(pilot) == f"{SHOWN} of {len(watchable):,} shown — type more to narrow"
        assert "queue 20" in str(_picker(pilot).query_one("#kinds", Label).render())

        await _type(pilot, "queue:q17")
        expected = ["queue:q17", *(f"queue:q17{d}" for d in range(10))]
        assert _shown(pilot) == expected
        assert _count(pilot) == "11 lines"

        await pilot.press("down", "down")  # the filter keeps the focus; the arrows move in the list
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, LinePicker)
        assert lines.nodes == ("queue:q171",)

        await pilot.press("s")  # a watched line is not offered again
        await settle(pilot)
        await _type(pilot, "queue:q171")
        assert _shown(pilot) == []
        assert _count(pilot) == "no line matches"
        await pilot.press("enter")  # nothing to pick: stays open
        await settle(pilot)
        assert isinstance(pilot.app.screen, LinePicker)
        await pilot.press("escape")
        await settle(pilot)
        assert lines.nodes == ("queue:q171",)


async def test_a_name_and_a_kind_narrow_it_to_a_colleague(tmp_path: Path) -> None:
    app = scene_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        await pilot.press("s")
        await settle(pilot)
        await _type(pilot, "user: bruno")
        assert _shown(pilot) == ["user:1002"]
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen.query_one("#lines", SubscriptionsPane).nodes == ("user:1002",)
