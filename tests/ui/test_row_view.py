"""The lean row view under the calls and lines panes: order, a cursor that follows its item, scrolling, and
a wall of 10,000 lines that draws what changed — checked on the rows the terminal is sent, never on timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult

from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.ui.widgets.row_view import RowView
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)


class Tall(RowView):
    """Items named "name:height"; each row says which item and row it is."""

    header_rows = 1

    def item_height(self, key: str) -> int:
        return int(key.split(":")[1])

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        return Text(f"{key}/{row}", style=base)

    def render_header_row(self, row: int, width: int, base: Style) -> Text:
        return Text("HEADER", style=base)


class ViewApp(App[None]):
    def __init__(self, view: RowView) -> None:
        super().__init__()
        self.view = view
        self.moves: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield self.view

    def on_row_view_highlighted(self, message: RowView.Highlighted) -> None:
        self.moves.append(message.key)


def screen(view: RowView) -> list[str]:
    return [view.render_line(y).text.strip() for y in range(view.size.height)]


async def test_items_of_several_rows_under_a_fixed_header() -> None:
    view = Tall()
    async with ViewApp(view).run_test(size=(40, 8)) as pilot:
        view.set_keys(["a:1", "b:3", "c:2"])
        await pilot.pause()
        assert screen(view)[:7] == ["HEADER", "a:1/0", "b:3/0", "b:3/1", "b:3/2", "c:2/0", "c:2/1"]
        assert view.cursor_key == "a:1"


async def test_the_cursor_follows_its_item_when_rows_come_and_go_above_it() -> None:
    view = Tall()
    app = ViewApp(view)
    async with app.run_test(size=(40, 8)) as pilot:
        view.set_keys(["a:1", "b:1", "c:1"])
        view.focus()
        await pilot.press("down", "down")
        assert view.cursor_key == "c:1"
        view.discard("a:1")
        await pilot.pause()
        assert (view.cursor_key, view.cursor_row) == ("c:1", 1)
        view.set_keys(["z:2", "b:1", "c:1"])
        await pilot.pause()
        assert view.cursor_key == "c:1"
        view.discard("c:1")  # the cursor's own item leaves: the item now at its place (or the last) takes it
        await pilot.pause()
        assert view.cursor_key == "b:1"
        view.set_keys([])
        await pilot.pause()
        assert view.cursor_key is None and view.cursor_row == -1
        assert app.moves[-1] is None


async def test_keys_scroll_the_cursor_into_view() -> None:
    view = Tall()
    async with ViewApp(view).run_test(size=(40, 6)) as pilot:
        view.set_keys([f"k{i}:1" for i in range(100)])
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.cursor_key == "k99:1"
        assert screen(view)[0] == "HEADER" and screen(view)[-1] == "k99:1/0"
        await pilot.press("pageup")
        await pilot.pause()
        assert view.cursor_key in {row.split("/")[0] for row in screen(view)[1:]}
        await pilot.press("home")
        await pilot.pause()
        assert screen(view)[1] == "k0:1/0"


def ringing(call_id: str, line: str, caller: str) -> Call:
    return Call(
        id=call_id,
        cid=f"c-{call_id}",
        direction=Direction.INBOUND,
        status=CallStatus.RINGING,
        line=line,
        source=caller,
        destination=line.split(":")[1],
        setup_at=T0,
    )


class WallApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SubscriptionsPane([], lambda: T0 + timedelta(seconds=5), id="lines")


async def test_a_wall_of_ten_thousand_lines_shows_changes_where_they_happen() -> None:
    app = WallApp()
    async with app.run_test(size=(80, 12)) as pilot:
        pane = app.query_one(SubscriptionsPane)
        for index in range(10_000):
            pane.add_line(f"user:{100000 + index}")
        await pilot.pause()
        assert pane.border_title == "Lines (10000)"
        top = ringing("top", "user:100001", "+12025550143")
        pane.show(top)
        pane.show(ringing("far", "user:109000", "+12025550199"))  # off screen: nothing to draw yet
        await pilot.pause()
        rows = screen(pane)
        assert rows[0].startswith("● user:100000") and rows[0].endswith("idle")
        assert rows[1].startswith("● user:100001") and rows[1].endswith("1 call")
        assert "RINGING" in rows[2] and "+1 202-555-0143" in rows[2] and rows[2].endswith("00:05")
        assert rows[3].startswith("● user:100002")
        pane.show(top.evolve(status=CallStatus.HANGUP, release_at=T0))
        await pilot.pause()
        assert screen(pane)[1].endswith("idle") and screen(pane)[2].startswith("● user:100002")
        pane.focus()
        await pilot.press("end")
        await pilot.pause()
        assert screen(pane)[-1].startswith("● user:109999")
        pane.discard_line("user:109999")
        await pilot.pause()
        assert pane.border_title == "Lines (9999)" and pane.highlighted_node == "user:109998"
        assert pane.summary("user:109000").waiting == 0 and len(pane.summary("user:109000").calls) == 1


class Heights(RowView):
    """Items whose heights change, in a bordered pane with a scroll bar: every row goes through Textual's
    styles (border, colours) and the scroll bar is drawn beside them."""

    DEFAULT_CSS = "Heights { border: round red; height: 12; } Heights:focus { border: round green; }"

    def __init__(self, heights: dict[str, int]) -> None:
        super().__init__()
        self.heights = heights

    def item_height(self, key: str) -> int:
        return self.heights[key]

    def render_item_row(self, key: str, row: int, width: int, base: Style) -> Text:
        return Text(f"{key}.{row}", style=base)


def painted(app: App[None]) -> list[list[tuple[str, Style | None]]]:
    """The whole screen as the terminal would get it, cell by cell: character and style."""
    return [
        [(char, segment.style) for segment in strip for char in segment.text]
        for strip in app.screen._compositor.render_strips()
    ]


async def fresh_paint(heights: dict[str, int], keys: list[str], cursor: str | None, top: float, focused: bool) -> list:
    view = Heights(dict(heights))
    app = ViewApp(view)
    async with app.run_test(size=(30, 14)) as pilot:
        view.set_keys(keys)
        if focused:
            view.focus()
        else:
            app.screen.set_focus(None)  # (a screen focuses its first focusable widget when it starts)
        await pilot.pause()
        if cursor is not None:
            view.move_to(cursor)
        await pilot.pause()
        view.scroll_to(y=top, animate=False, immediate=True)
        await pilot.pause()
        return painted(app)


async def test_rows_moved_restyled_and_a_scroll_bar_kept_quiet_paint_what_a_fresh_view_paints() -> None:
    """The row view reuses styled rows that only moved and leaves its scroll bar alone when its thumb does
    not change: after every kind of change the screen must be exactly what a view built from scratch in
    that state shows."""
    heights = {f"k{i}": 1 for i in range(60)}
    view = Heights(heights)
    app = ViewApp(view)
    seen: list[tuple[list, list[str], str | None, float, dict[str, int], bool]] = []

    async def checkpoint(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.pause()
        await pilot.pause()
        state = (list(view.keys), view.cursor_key, view.scroll_y, dict(view.heights), view.has_focus)
        seen.append((painted(app), *state))

    async with app.run_test(size=(30, 14)) as pilot:
        view.set_keys(list(heights))
        view.focus()
        await checkpoint(pilot)
        for step in range(3):  # rows grow above the viewport's bottom: everything below moves down
            view.heights[f"k{step + 1}"] = 3
            view.changed(f"k{step + 1}")
            await checkpoint(pilot)
        await pilot.press("down", "down", "down", "down")
        await checkpoint(pilot)
        for index in range(60, 90):  # many rows added below: the thumb shrinks only now and then
            view.heights[f"k{index}"] = 1
            view.add(f"k{index}")
            if index % 7 == 0:
                await checkpoint(pilot)
        view.discard("k0")  # a row above the cursor leaves
        await checkpoint(pilot)
        view.scroll_to(y=40, animate=False, immediate=True)
        await checkpoint(pilot)
        view.heights["k45"] = 4
        view.changed("k45")
        await checkpoint(pilot)
        view.set_keys(list(view.keys)[:3])  # blank rows below the last item (Textual hands out one blank strip)
        await checkpoint(pilot)
        view.blur()  # the border and the cursor row change colour with focus
        await checkpoint(pilot)
    assert not seen[-1][-1] and any(scroll for *_, scroll, _, _ in seen)
    for screen_now, keys, cursor, top, heights_then, focused in seen:
        assert screen_now == await fresh_paint(heights_then, keys, cursor, top, focused)


async def test_rows_are_as_wide_as_the_room_the_scroll_bar_leaves() -> None:
    """With its scroll bar showing, a pane's rows end before the bar: the durations at their right end stay
    on screen (they were drawn under the bar)."""
    app = WallApp()
    async with app.run_test(size=(48, 12)) as pilot:
        pane = app.query_one(SubscriptionsPane)
        for index in range(3):
            pane.add_line(f"user:{100000 + index}")
        for index in range(12):
            pane.show(ringing(f"c{index}", "user:100001", "+12025550143"))
        await pilot.pause()
        await pilot.pause()
        assert pane.show_vertical_scrollbar
        shown = [strip.text for strip in app.screen._compositor.render_strips()]
        assert shown[1].rstrip().endswith("12 calls")
        assert shown[2].rstrip().endswith("00:05") and "RINGING" in shown[2]
