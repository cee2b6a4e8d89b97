"""The whole app with strict mode on: SQLite on the event loop raises inside the app and fails these tests.

A call ends (the recorder hands it to the writer thread), the history pane reloads and searches (worker
threads).
"""

from __future__ import annotations

import pytest

from cti_tui.store.history import STRICT_OFF_LOOP_ENV
from tests.conftest import log_in
from tests.ui.test_flows_keys import SIZE, history, ring, wait_until


@pytest.fixture(autouse=True)
def strict_off_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STRICT_OFF_LOOP_ENV, "1")


async def test_recording_and_searching_keep_sqlite_off_the_loop(make_app) -> None:
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
