"""The whole app with strict mode on: SQLite on the event loop raises inside the app and fails these tests.

A call ends (the recorder hands it to the writer thread), the history pane reloads and searches (worker
threads), the history is exported (a worker, with a notification at the end). And the export's failures come
back as notifications, never as a traceback: history switched off with ``--no-history`` (the palette's
"export"), a path that cannot be written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import OptionList

from cti_tui.store.history import STRICT_OFF_LOOP_ENV
from tests.conftest import log_in
from tests.ui.test_flows_keys import SIZE, dashboard, history, notifications, ring, wait_until


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


async def test_recording_searching_and_exporting_keep_sqlite_off_the_loop(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await ring(pilot)
        await pilot.press("r")  # rejected: the call ends, the recorder files it
        assert await wait_until(pilot, lambda: [row.id for row in history(app).rows] == [call_id])

        await pilot.press("slash", *"4420")
        assert await wait_until(pilot, lambda: history(app).search_text == "4420" and not history(app).busy)
        assert [row.id for row in history(app).rows] == [call_id]
        await pilot.press(*"99")  # no such caller
        assert await wait_until(pilot, lambda: history(app).search_text == "442099" and history(app).rows == [])

        target = tmp_path / "calls.csv"
        dashboard(app).export_history(target)
        assert await wait_until(pilot, lambda: any("exported" in m for m in notifications(app)))
        assert f"0 calls exported to {target}" in notifications(app)  # the search applies to the export
        assert target.read_text(encoding="utf-8").startswith("id,owner,")


async def test_export_with_history_off_is_a_notification(make_app, tmp_path: Path) -> None:
    """`cti-tui --no-history`, ctrl+p, "export", Enter: it used to end in a HistoryError traceback."""
    app = make_app(history=False)
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("ctrl+p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"export")
        palette = app.screen

        def export_offered() -> bool:
            options = palette.query_one(OptionList)
            return options.option_count > 0 and "Export" in str(options.get_option_at_index(0).prompt)

        assert await wait_until(pilot, export_offered)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: notifications(app) != [])
        assert notifications(app) == ["export failed: call history is off: nothing to export"]
        assert app.is_running


async def test_export_to_a_path_that_cannot_be_written_is_a_notification(make_app, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        dashboard(app).export_history(tmp_path / "missing" / "calls.csv")
        assert await wait_until(pilot, lambda: notifications(app) != [])
        (message,) = notifications(app)
        assert message.startswith("export failed: ") and "No such file or directory" in message
        assert app.is_running


async def test_damage_found_by_the_background_check_is_shown_at_once(make_app, tmp_path: Path) -> None:
    """Issue 15 #10: the app opens the history at once and checks it in the background; damage found there
    used to show only at the next search. Now it is a notification as soon as the check ends."""
    import asyncio
    import time

    from cti_tui.store.history import HistoryStore
    from tests.store.test_history import OWNER, _damage_far_from_the_schema, make_call

    path = tmp_path / "history.sqlite3"

    def damaged_history() -> None:  # off the loop, as strict mode wants
        with HistoryStore(path) as store:
            store.record_many((make_call(f"c{i:04d}", minute=i) for i in range(2000)), OWNER)
        _damage_far_from_the_schema(path)

    await asyncio.to_thread(damaged_history)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        deadline = time.monotonic() + 30  # the check starts 1 s after the form is drawn, on a thread
        while not any("damaged" in m for m in notifications(app)) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert any("damaged" in m and str(path) in m for m in notifications(app)), notifications(app)
        assert app.is_running
