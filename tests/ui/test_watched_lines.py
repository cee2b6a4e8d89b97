"""Watched lines are remembered per user and backend, and watched again at the next login."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import until
from scenes import as_agent, as_supervisor, colleague, exchange_of, ring, scene_app, settle
from test_app_on_server import server_login
from textual.pilot import Pilot

from cti_tui import watched
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane


async def _pick(pilot: Pilot[None], text: str) -> None:
    await pilot.press("s")
    await settle(pilot)
    for key in text:
        await pilot.press("colon" if key == ":" else key)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def _lines(pilot: Pilot[None]) -> tuple[str, ...]:
    screen = pilot.app.screen
    assert isinstance(screen, Dashboard)
    return screen.query_one("#lines", SubscriptionsPane).nodes


async def _log_out(pilot: Pilot[None]) -> None:
    await pilot.app.run_action("logout")
    await settle(pilot)


async def test_subscribe_log_out_log_in_and_the_same_lines_are_watched(tmp_path: Path) -> None:
    app = scene_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        assert _lines(pilot) == ()
        await _pick(pilot, "queue:sales")
        await _pick(pilot, "callpark")
        await _pick(pilot, "user:1002")
        pilot.app.screen.query_one("#lines", SubscriptionsPane).focus()
        await pilot.press("down")  # callpark
        await pilot.press("delete")
        await settle(pilot)
        assert _lines(pilot) == ("queue:sales", "user:1002")
        await _log_out(pilot)

        await as_agent(pilot)  # another user on the same PBX watches nothing of the supervisor's
        assert _lines(pilot) == ()
        await _log_out(pilot)

        await as_supervisor(pilot)
        assert _lines(pilot) == ("queue:sales", "user:1002")
        bruno = await colleague(pilot.app, "bruno@demo.local")  # type: ignore[arg-type]
        assert bruno.is_connected()
        await ring(pilot, "+12025550143", "1002", "Ada Lovelace")  # and they are live, not just listed
        rows = pilot.app.screen.query_one("#lines", SubscriptionsPane).row_texts("user:1002")
        assert any("Ada Lovelace" in row for row in rows), rows
        assert exchange_of(pilot.app) is not None


async def test_the_lines_outlive_the_app(tmp_path: Path) -> None:
    async with scene_app(tmp_path).run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        await _pick(pilot, "queue:support")
        await _pick(pilot, "conf:room1")
    # the app quit with the lines saved (within the second that batches the saves): a new app, same folder
    async with scene_app(tmp_path).run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        assert _lines(pilot) == ("queue:support", "conf:room1")


async def test_a_remembered_line_refused_now_is_left_out(tmp_path: Path) -> None:
    path = tmp_path / "watched-lines.json"
    assert watched.remember("embedded PBX", "supervisor@demo.local", ["queue:sales", "queue:gone"], path) is None
    async with scene_app(tmp_path).run_test(size=(120, 36)) as pilot:
        await as_supervisor(pilot)
        assert _lines(pilot) == ("queue:sales",)
        await _pick(pilot, "ivr:main")
        await _log_out(pilot)
    assert watched.recall("embedded PBX", "supervisor@demo.local", path) == (["queue:sales", "ivr:main"], None)


def test_keyed_by_backend_and_user(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    assert watched.remember("embedded PBX", "Supervisor@demo.local", ["queue:sales"], path) is None
    assert watched.remember("CTI server http://127.0.0.1:8765", "supervisor@demo.local", ["user:1001"], path) is None
    assert watched.recall("embedded PBX", "supervisor@demo.local", path) == (["queue:sales"], None)
    assert watched.recall("CTI server http://127.0.0.1:8765", "supervisor@demo.local", path) == (["user:1001"], None)
    assert watched.recall("embedded PBX", "agent@demo.local", path) == ([], None)
    assert watched.remember("embedded PBX", "supervisor@demo.local", [], path) is None  # none: the entry goes
    assert "embedded PBX" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_broken_file_is_reported_and_replaced_a_newer_one_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text("{not json", encoding="utf-8")
    nodes, problem = watched.recall("embedded PBX", "a@b", path)
    assert nodes == [] and problem is not None and "unreadable" in problem
    assert watched.remember("embedded PBX", "a@b", ["callpark"], path) is None
    assert watched.recall("embedded PBX", "a@b", path) == (["callpark"], None)

    newer = json.dumps({"version": 2, "users": {"embedded PBX a@b": ["callpark"]}})
    path.write_text(newer, encoding="utf-8")
    nodes, problem = watched.recall("embedded PBX", "a@b", path)
    assert nodes == [] and problem is not None and "version 2" in problem
    problem = watched.remember("embedded PBX", "a@b", ["queue:sales"], path)
    assert problem is not None and "not saved" in problem
    assert path.read_text(encoding="utf-8") == newer

    path.write_text(json.dumps({"version": 1, "users": {"embedded PBX a@b": ["ok", 3, "x" * 999, None]}}))
    assert watched.recall("embedded PBX", "a@b", path) == (["ok"], None)


async def test_on_a_cti_server_the_lines_come_back_at_the_next_login_there(make_app, cti_server) -> None:
    server = await cti_server()
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await server_login(pilot, server.url, "supervisor@demo.local")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard")
        await _pick(pilot, "queue:support")
        await until(pilot, lambda: _lines(pilot) == ("queue:support",), "watching support")
        await _log_out(pilot)

        await as_supervisor(pilot)  # the same user on the embedded PBX: another world, other lines
        assert _lines(pilot) == ()
        await _log_out(pilot)

        await server_login(pilot, server.url, "supervisor@demo.local")
        await until(pilot, lambda: isinstance(app.screen, Dashboard), "the dashboard again")
        await until(pilot, lambda: _lines(pilot) == ("queue:support",), "support watched again")
        assert app.connector is not None and app.connector.subscriptions() == ["queue:support"]
        await app.connector.logout()
