"""Every key flow of the dashboard, end to end: the real app on the embedded PBX, on virtual time.

Each test does what an agent (or a supervisor) does at the keyboard and checks both what they see — rows in
the active-calls table, the footer's keys, modals, notifications, history, the lines pane — and what the
engine now holds (``app.connector.get_call(id).status``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from textual import events
from textual.widgets import Input, Label, OptionList

from cti_tui.assembly import wiring_of
from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.config import AppConfig
from cti_tui.core.model import CallStatus, Direction
from cti_tui.engine.connector import Connector
from cti_tui.pbx.exchange import Exchange
from cti_tui.store.history import Outcome
from cti_tui.ui.app import CtiApp
from cti_tui.ui.lamps import Lamp
from cti_tui.ui.screens.dashboard import Dashboard
from cti_tui.ui.screens.modals import ChoiceModal, ConfirmModal, DestinationModal, DigitsModal
from cti_tui.ui.widgets.active_calls import ActiveCalls
from cti_tui.ui.widgets.history_pane import HistoryPane, HistoryTable
from cti_tui.ui.widgets.key_bar import KeyBar
from cti_tui.ui.widgets.line_picker import LinePicker
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane
from tests.conftest import log_in, settle

SIZE = (120, 40)
CALLER = "+442079460000"
CALLER_NAME = "Carol Caller"
ANSWERS = "+12025550101"  # answers after 3 rings (6 s after RINGING)
BUSY = "+12025550102"  # busy after 1 s
NO_ANSWER = "+12025550103"  # never answers: CANCEL no_answer at 30 s
UNREACHABLE = "+12025550104"
SALES_NUMBER = "+12025550120"
S = CallStatus


# --- helpers -------------------------------------------------------------------------------------------------------


def exchange_of(app: CtiApp) -> Exchange:
    exchange = wiring_of(app).exchange  # built once the form is drawn, or when first asked for
    assert isinstance(exchange, Exchange)
    return exchange


def dashboard(app: CtiApp) -> Dashboard:
    """The dashboard, even while a modal is on top of it."""
    return next(s for s in reversed(app.screen_stack) if isinstance(s, Dashboard))


def calls_table(app: CtiApp) -> ActiveCalls:
    return dashboard(app).query_one("#calls", ActiveCalls)


def rows(app: CtiApp) -> dict[str, S]:
    """What the calls tables show (one's own, and a supervisor's watched calls): call id -> status."""
    watched = dashboard(app).watched
    panes = [calls_table(app)] if watched is None else [calls_table(app), watched]
    return {call.id: call.status for pane in panes for call in pane.calls()}


def status(app: CtiApp, call_id: str) -> S:
    assert app.connector is not None
    call = app.connector.get_call(call_id)
    assert call is not None, f"the engine does not know call {call_id}"
    return call.status


def history(app: CtiApp) -> HistoryPane:
    return dashboard(app).query_one("#history", HistoryPane)


def outcomes(app: CtiApp) -> list[Outcome]:
    return [row.outcome for row in history(app).rows]


def active_keys(app: CtiApp) -> set[str]:
    return set(app.screen.active_bindings)


def can(app: CtiApp, action: str) -> bool:
    return bool(dashboard(app).check_action(action, ()))


def notifications(app: CtiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def wait_until(pilot, predicate: Callable[[], object], rounds: int = 40) -> bool:
    """Let the app work until ``predicate()`` holds (bounded); True if it did."""
    for _ in range(rounds):
        if predicate():
            return True
        await settle(pilot, rounds=1)
    return bool(predicate())


async def advance(pilot, seconds: float) -> None:
    pilot.app.services.clock.advance(seconds)
    await settle(pilot)


async def ring(pilot, to: str = "1001", number: str = CALLER, name: str = CALLER_NAME) -> str:
    """An outside caller rings ``to``; returns the ringing leg's id once the table shows it."""
    leg = exchange_of(pilot.app).inbound_call(number, to, name)
    assert leg is not None
    assert await wait_until(pilot, lambda: leg.id in rows(pilot.app))
    return leg.id


async def select_row(pilot, call_id: str) -> None:
    """Move the active-calls cursor to ``call_id`` with the arrow keys, as a user does."""
    table = calls_table(pilot.app)
    assert table.has_focus
    target = table.position(call_id)
    for _ in range(table.row_count + 1):
        if table.cursor_row == target:
            break
        await pilot.press("down" if table.cursor_row < target else "up")
    await settle(pilot, rounds=1)
    assert table.selected_call_id == call_id


async def connected_call(pilot, number: str = CALLER) -> str:
    """A ringing inbound call, selected and answered with ``a``."""
    call_id = await ring(pilot, number=number)
    await select_row(pilot, call_id)
    await pilot.press("a")
    assert await wait_until(pilot, lambda: status(pilot.app, call_id) is S.CONNECTED)
    return call_id


async def open_modal(pilot, key: str, kind: type) -> object:
    await pilot.press(key)
    assert await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind)), (
        f"{key!r} did not open {kind.__name__}; screen is {pilot.app.screen!r}"
    )
    return pilot.app.screen


async def submit_destination(pilot, text: str) -> None:
    """Type into the destination modal's input and press Enter."""
    modal = pilot.app.screen
    assert isinstance(modal, DestinationModal)
    field = modal.query_one("#destination", Input)
    assert field.has_focus
    await pilot.press(*text)
    assert field.value == text
    await pilot.press("enter")
    await settle(pilot)


async def choose(pilot, option_id: str) -> None:
    """In an open ChoiceModal (or the line picker, whose filter keeps the focus and whose arrows move in its
    list), move the highlight down to ``option_id`` and press Enter."""
    modal = pilot.app.screen
    assert isinstance(modal, ChoiceModal | LinePicker)
    options = modal.query_one("#choices" if isinstance(modal, ChoiceModal) else "#picks", OptionList)
    assert options.has_focus or isinstance(modal, LinePicker)
    target = options.get_option_index(option_id)
    for _ in range(options.option_count + 1):
        if options.highlighted == target:
            break
        await pilot.press("down")
    assert options.highlighted == target
    await pilot.press("enter")
    await settle(pilot)


def option_ids(modal: object) -> list[str]:
    assert isinstance(modal, ChoiceModal | LinePicker)
    found = modal.query("#choices" if isinstance(modal, ChoiceModal) else "#picks")
    if not found:
        return []
    options = found.only_one(OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


def new_call_ids(app: CtiApp, before: set[str]) -> list[str]:
    return [cid for cid in rows(app) if cid not in before]


async def second_agent(app: CtiApp, email: str = "bruno@demo.local") -> tuple[Connector, list]:
    connector = Connector(EmbeddedBackend(exchange_of(app)))
    events: list = []
    connector.add_listener(events.append)
    assert await connector.login(email, "demo"), events
    return connector, events


# --- inbound: answer, hold, resume, blind transfer -----------------------------------------------------------------


async def test_inbound_answer_hold_resume_transfer(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert isinstance(app.screen, Dashboard)
        assert rows(app) == {}

        call_id = await ring(pilot)
        assert rows(app) == {call_id: S.RINGING}
        assert calls_table(app).selected_call_id == call_id  # a new ringing call is selected
        assert status(app, call_id) is S.RINGING

        await pilot.press("a")
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.CONNECTED)
        assert status(app, call_id) is S.CONNECTED

        await pilot.press("h")
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.ON_HOLD)
        assert status(app, call_id) is S.ON_HOLD

        await pilot.press("h")
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.CONNECTED)
        assert status(app, call_id) is S.CONNECTED

        modal = await open_modal(pilot, "t", DestinationModal)
        assert "Transfer" in modal.title_text
        await submit_destination(pilot, "1002")
        assert await wait_until(pilot, lambda: call_id not in rows(app))
        assert isinstance(app.screen, Dashboard)
        ended = app.connector.get_call(call_id)
        assert ended is not None and ended.status is S.HANGUP and ended.cause == "transferred"
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.TRANSFERRED])
        assert history(app).rows[0].id == call_id
        # the caller now rings Bruno's phone
        assert any(leg.line == "user:1002" and leg.status is S.RINGING for leg in exchange_of(app).legs.values())


async def test_a_second_ringing_call_does_not_steal_the_selection(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        first = await ring(pilot)
        second = await ring(pilot, number="+442079460001", name="Dan Dialler")
        assert rows(app) == {first: S.RINGING, second: S.RINGING}
        assert calls_table(app).selected_call_id == first
        await pilot.press("down")
        await settle(pilot)
        assert calls_table(app).selected_call_id == second
        await pilot.press("a")
        assert await wait_until(pilot, lambda: status(app, second) is S.CONNECTED)
        assert status(app, first) is S.RINGING


async def test_the_selection_stays_on_its_call_when_a_call_above_it_ends(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        first = await ring(pilot)
        second = await ring(pilot, number="+442079460001", name="Dan Dialler")
        third = await ring(pilot, number="+442079460002", name="Eve Early")
        await select_row(pilot, second)

        assert exchange_of(app).remote_hangup(first)  # the first caller gives up
        assert await wait_until(pilot, lambda: first not in rows(app))
        assert calls_table(app).selected_call_id == second  # not the call that moved up under the cursor
        await pilot.press("r")
        assert await wait_until(pilot, lambda: second not in rows(app))
        assert status(app, second) is S.CANCEL
        assert status(app, third) is S.RINGING
        assert await wait_until(pilot, lambda: [o.value for o in outcomes(app)] == ["rejected", "missed"])


async def test_a_caller_who_gives_up_while_ringing_is_a_missed_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await ring(pilot)
        assert exchange_of(app).remote_hangup(call_id)
        assert await wait_until(pilot, lambda: rows(app) == {})
        assert status(app, call_id) is S.CANCEL
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.MISSED])
        assert "a" not in active_keys(app)


# --- outbound: dial ------------------------------------------------------------------------------------------------


async def test_dial_answered_number_goes_initial_accepted_ringing_connected(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        seen: list[S] = []
        app.connector.add_listener(lambda e: seen.append(e.call.status) if hasattr(e, "call") else None)

        await open_modal(pilot, "d", DestinationModal)
        await submit_destination(pilot, "+1 202 555 0101")
        assert isinstance(app.screen, Dashboard)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        call = app.connector.get_call(call_id)
        assert call is not None and call.direction is Direction.OUTBOUND and call.destination == ANSWERS
        assert rows(app)[call_id] is S.INITIAL and status(app, call_id) is S.INITIAL

        await advance(pilot, 1)  # the agent's phone picks up; the far end starts ringing
        assert status(app, call_id) is S.RINGING
        assert rows(app)[call_id] is S.RINGING
        assert seen[:3] == [S.INITIAL, S.ACCEPTED, S.RINGING]

        await advance(pilot, 5.9)
        assert status(app, call_id) is S.RINGING
        await advance(pilot, 0.1)  # 3 rings = 6 s after RINGING
        assert status(app, call_id) is S.CONNECTED
        assert rows(app)[call_id] is S.CONNECTED
        assert seen == [S.INITIAL, S.ACCEPTED, S.RINGING, S.CONNECTED]


async def test_dial_with_auto_answer_skips_the_pickup_wait(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        assert await app.connector.set_auto_answer(True)
        await open_modal(pilot, "d", DestinationModal)
        await submit_destination(pilot, ANSWERS)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        assert status(app, call_id) is S.RINGING  # ACCEPTED at once, then the far end rings
        await advance(pilot, 6)
        assert status(app, call_id) is S.CONNECTED


async def test_dial_busy_number_is_cancelled(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await open_modal(pilot, "d", DestinationModal)
        await submit_destination(pilot, BUSY)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        await advance(pilot, 1)
        assert status(app, call_id) is S.ACCEPTED  # picked up; a busy line never rings
        await advance(pilot, 1)
        call = app.connector.get_call(call_id)
        assert call is not None and call.status is S.CANCEL and call.cause == "busy"
        assert await wait_until(pilot, lambda: rows(app) == {})
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.CANCELLED])
        assert "Busy Bee Ltd: busy" in notifications(app)  # issue 17 #4: the row no longer just vanishes


async def test_dial_unanswered_number_gives_up_after_30_seconds(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await open_modal(pilot, "d", DestinationModal)
        await submit_destination(pilot, NO_ANSWER)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        await advance(pilot, 1)
        assert rows(app)[call_id] is S.RINGING
        await advance(pilot, 29.9)
        assert status(app, call_id) is S.RINGING
        assert call_id in rows(app)
        await advance(pilot, 0.1)
        call = app.connector.get_call(call_id)
        assert call is not None and call.status is S.CANCEL and call.cause == "no_answer"
        assert await wait_until(pilot, lambda: rows(app) == {})
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.CANCELLED])


async def test_invalid_numbers_keep_the_modal_open_and_dial_nothing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        exchange = exchange_of(app)
        legs_before = set(exchange.legs)
        modal = await open_modal(pilot, "d", DestinationModal)
        for text in ("12ab", "+0"):
            field = modal.query_one("#destination", Input)
            field.value = ""
            await settle(pilot)
            await submit_destination(pilot, text)
            assert app.screen is modal, f"{text!r} closed the modal"
            error = str(modal.query_one("#error", Label).render())
            assert error.startswith("✕"), f"no error shown for {text!r}: {error!r}"
            assert modal.query_one("#destination", Input).has_focus
            assert set(exchange.legs) == legs_before
            assert rows(app) == {}
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
        assert set(exchange.legs) == legs_before
        assert app.connector.calls() == []


# --- hang up, reject -----------------------------------------------------------------------------------------------


async def test_hang_up_a_connected_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)
        await advance(pilot, 42)
        await pilot.press("x")
        assert await wait_until(pilot, lambda: rows(app) == {})
        call = app.connector.get_call(call_id)
        assert call is not None and call.status is S.HANGUP and call.cause == "normal"
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.ANSWERED])
        assert history(app).rows[0].talk_seconds == 42


async def test_hang_up_a_ringing_outbound_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await open_modal(pilot, "d", DestinationModal)
        await submit_destination(pilot, NO_ANSWER)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        await advance(pilot, 1)
        assert "x" in active_keys(app)
        await pilot.press("x")
        assert await wait_until(pilot, lambda: rows(app) == {})
        assert status(app, call_id) is S.HANGUP


async def test_reject_a_ringing_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await ring(pilot)
        await pilot.press("r")
        assert await wait_until(pilot, lambda: rows(app) == {})
        call = app.connector.get_call(call_id)
        assert call is not None and call.status is S.CANCEL and call.cause == "rejected"
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.REJECTED])


# --- park, unpark --------------------------------------------------------------------------------------------------


async def test_park_in_slot_3_then_pick_it_up_again(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)

        modal = await open_modal(pilot, "p", ChoiceModal)
        ids = option_ids(modal)
        assert ids[0] == "first"
        assert ids[1:] == [str(n) for n in range(1, 11)]
        labels = [str(modal.query_one("#choices", OptionList).get_option_at_index(i).prompt) for i in range(3)]
        assert labels[0] == "first free slot"
        assert labels[1:] == ["slot 1", "slot 2"]
        await choose(pilot, "3")

        assert isinstance(app.screen, Dashboard)
        # the parked call stays in the agent's table, marked PARKED, until someone picks it up
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.PARKED)
        parked = app.connector.get_call(call_id)
        assert parked is not None and parked.status is S.PARKED and parked.park_slot == 3
        assert exchange_of(app).slots[3].id == call_id
        assert "u" in active_keys(app)

        modal = await open_modal(pilot, "u", ChoiceModal)
        assert option_ids(modal) == ["3"]
        assert CALLER in str(modal.query_one("#choices", OptionList).get_option_at_index(0).prompt).replace(" ", "")
        await choose(pilot, "3")
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.CONNECTED)
        call = app.connector.get_call(call_id)
        assert call is not None and call.status is S.CONNECTED and call.line == "user:1001"
        assert call.park_slot is None
        assert 3 not in exchange_of(app).slots


async def test_park_first_free_slot_skips_taken_slots(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        first = await connected_call(pilot)
        await open_modal(pilot, "p", ChoiceModal)
        await choose(pilot, "first")
        assert await wait_until(pilot, lambda: status(app, first) is S.PARKED)
        assert app.connector.get_call(first).park_slot == 1

        second = await connected_call(pilot, number="+442079460001")
        modal = await open_modal(pilot, "p", ChoiceModal)
        assert "1" not in option_ids(modal)  # slot 1 is taken: not offered
        await choose(pilot, "first")
        assert await wait_until(pilot, lambda: status(app, second) is S.PARKED)
        assert app.connector.get_call(second).park_slot == 2
        assert rows(app) == {first: S.PARKED, second: S.PARKED}  # both wait in the lot, in the agent's view


async def test_a_colleague_watching_callpark_picks_up_the_parked_call(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        bruno, _ = await second_agent(app)
        assert await bruno.subscribe("callpark")
        call_id = await connected_call(pilot)
        await open_modal(pilot, "p", ChoiceModal)
        await choose(pilot, "3")
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.PARKED)
        assert bruno.get_call(call_id).status is S.PARKED

        assert await bruno.unpark(3)
        await settle(pilot)
        picked = bruno.get_call(call_id)
        assert picked is not None and picked.status is S.CONNECTED and picked.line == "user:1002"
        assert await wait_until(pilot, lambda: call_id not in rows(app))  # picked up: gone from the parker's view
        await bruno.logout()


async def test_u_no_longer_offers_a_call_a_colleague_picked_up(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        bruno, _ = await second_agent(app)
        assert await bruno.subscribe("callpark")
        call_id = await connected_call(pilot)
        await open_modal(pilot, "p", ChoiceModal)
        await choose(pilot, "3")
        assert await wait_until(pilot, lambda: status(app, call_id) is S.PARKED)
        assert "u" in active_keys(app)
        assert await bruno.unpark(3)
        await settle(pilot)
        # the parker hears that it was picked up: the row goes and u (nothing parked in view) hides
        assert await wait_until(pilot, lambda: call_id not in rows(app))
        assert "u" not in active_keys(app)


async def test_supervisor_watching_callpark_unparks_with_u(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        agent, _ = await second_agent(app, "agent@demo.local")
        leg = exchange_of(app).inbound_call(CALLER, "1001", CALLER_NAME)
        assert leg is not None
        assert await agent.answer(leg.id)
        assert await agent.park(leg.id, 3)
        await settle(pilot)

        assert "u" not in active_keys(app)  # nothing parked is in view until callpark is watched

        modal = await open_modal(pilot, "s", LinePicker)
        await choose(pilot, "callpark")
        assert await wait_until(pilot, lambda: "callpark" in app.connector.subscriptions())
        assert await wait_until(pilot, lambda: rows(app).get(leg.id) is S.PARKED)

        modal = await open_modal(pilot, "u", ChoiceModal)
        assert option_ids(modal) == ["3"]
        await choose(pilot, "3")
        assert await wait_until(pilot, lambda: rows(app).get(leg.id) is S.CONNECTED)
        call = app.connector.get_call(leg.id)
        assert call is not None and call.line == "user:1100"
        await agent.logout()


# --- supervised transfer -------------------------------------------------------------------------------------------


async def test_supervised_transfer_completes_with_c_once_the_colleague_answered(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        bruno, _ = await second_agent(app)
        call_id = await connected_call(pilot)

        modal = await open_modal(pilot, "T", DestinationModal)
        assert "Supervised transfer" in modal.title_text
        await submit_destination(pilot, "1002")
        assert await wait_until(pilot, lambda: len(rows(app)) == 2)
        assert rows(app)[call_id] is S.ON_HOLD
        (consult_id,) = new_call_ids(app, {call_id})
        assert status(app, consult_id) is S.RINGING
        assert app.connector.get_call(consult_id).direction is Direction.OUTBOUND

        ringing = [c for c in bruno.active_calls() if c.status is S.RINGING]
        assert len(ringing) == 1
        assert await bruno.answer(ringing[0].id)
        assert await wait_until(pilot, lambda: rows(app).get(consult_id) is S.CONNECTED)  # the consult stage
        assert rows(app)[call_id] is S.ON_HOLD
        await pilot.press("C")
        assert await wait_until(pilot, lambda: rows(app) == {})
        for leg_id in (call_id, consult_id):
            call = app.connector.get_call(leg_id)
            assert call is not None and call.status is S.HANGUP and call.cause == "transferred"
        assert await wait_until(pilot, lambda: outcomes(app) == [Outcome.TRANSFERRED, Outcome.TRANSFERRED])
        # Bruno now talks to the caller
        (bruno_call,) = bruno.active_calls()
        assert bruno_call.status is S.CONNECTED and bruno_call.party == CALLER
        await bruno.logout()


async def test_supervised_transfer_to_a_busy_number_brings_the_call_back(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)
        await open_modal(pilot, "T", DestinationModal)
        await submit_destination(pilot, BUSY)
        assert await wait_until(pilot, lambda: rows(app).get(call_id) is S.ON_HOLD)
        await advance(pilot, 1)
        assert await wait_until(pilot, lambda: rows(app) == {call_id: S.CONNECTED})
        assert status(app, call_id) is S.CONNECTED
        messages = notifications(app)
        assert any("did not complete" in m and "busy" in m for m in messages), messages
        info = [n for n in app._notifications if "did not complete" in n.message]
        assert info[0].title == "Info"


# --- merge ---------------------------------------------------------------------------------------------------------


async def test_merge_a_held_call_into_the_connected_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        first = await connected_call(pilot)
        assert not can(app, "merge")  # nothing to merge with yet
        await pilot.press("h")
        assert await wait_until(pilot, lambda: status(app, first) is S.ON_HOLD)

        second = await connected_call(pilot, number="+442079460001")
        assert calls_table(app).selected_call_id == second
        assert "m" in active_keys(app)
        modal = await open_modal(pilot, "m", ChoiceModal)
        assert option_ids(modal) == [first]
        await choose(pilot, first)

        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        assert rows(app) == {second: S.CONNECTED}
        assert status(app, second) is S.CONNECTED
        assert status(app, first) is S.HANGUP
        assert app.connector.get_call(first).cause == "merged"
        assert " & " in app.connector.get_call(second).party_name


# --- DTMF ----------------------------------------------------------------------------------------------------------


async def test_dtmf_sends_tones_and_refuses_other_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)
        modal = await open_modal(pilot, "#", DigitsModal)
        field = modal.query_one("#digits", Input)
        assert field.has_focus
        await pilot.press("x", "!", "e", "space")
        assert field.value == ""  # not tones: refused by the input
        await pilot.press("1", "2", "#")
        assert field.value == "12#"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
        assert exchange_of(app).legs[call_id].dtmf == "12#"
        assert notifications(app) == []
        assert status(app, call_id) is S.CONNECTED


async def test_dtmf_empty_input_shows_an_error(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await connected_call(pilot)
        modal = await open_modal(pilot, "#", DigitsModal)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is modal
        assert str(modal.query_one("#error", Label).render()).startswith("✕")


# --- subscriptions -------------------------------------------------------------------------------------------------


async def test_supervisor_subscribes_to_sales_sees_a_waiting_caller_and_unsubscribes(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "supervisor@demo.local")
        lines = dashboard(app).query_one("#lines", SubscriptionsPane)
        assert lines.nodes == ()

        modal = await open_modal(pilot, "s", LinePicker)
        ids = option_ids(modal)
        assert "queue:sales" in ids and "user:1001" in ids and "callpark" in ids
        assert "user:1100" not in ids  # the supervisor's own line is always shown
        await choose(pilot, "queue:sales")
        assert await wait_until(pilot, lambda: lines.nodes == ("queue:sales",))
        assert app.connector.subscriptions() == ["queue:sales"]

        modal = await open_modal(pilot, "s", LinePicker)
        assert "queue:sales" not in option_ids(modal)  # already watched: not offered again
        await pilot.press("escape")
        await settle(pilot)

        leg = exchange_of(app).inbound_call(CALLER, SALES_NUMBER, CALLER_NAME)
        assert leg is not None
        assert await wait_until(pilot, lambda: lines.summary("queue:sales").waiting == 1)
        summary = lines.summary("queue:sales")
        assert summary.lamp is Lamp.RINGING
        heading, *calls = (re.sub(r" {2,}", "  ", row.strip()) for row in lines.row_texts("queue:sales"))
        assert heading.startswith("● queue:sales  Sales  1 waiting")
        assert len(calls) == 1 and "WAITING" in calls[0] and "#1" in calls[0] and CALLER_NAME in calls[0]
        assert rows(app).get(leg.id) is S.RINGING
        assert status(app, leg.id) is S.RINGING
        # the supervisor watches the queue but may not answer or reject its calls: no such keys
        watched = dashboard(app).watched
        assert watched is not None and leg.id in watched and leg.id not in calls_table(app)
        watched.focus()
        await settle(pilot)
        assert watched.selected_call_id == leg.id
        assert dashboard(app).selected() == app.connector.get_call(leg.id)
        assert "a" not in active_keys(app) and "r" not in active_keys(app)
        assert exchange_of(app).legs[leg.id].owner is None  # waiting in the queue, offered to nobody

        lines.focus()
        lines.highlighted = 0
        await settle(pilot)
        assert "delete" in active_keys(app)
        await pilot.press("delete")
        assert await wait_until(pilot, lambda: lines.nodes == ())
        assert app.connector.subscriptions() == []
        assert leg.id not in rows(app)


# --- history: search and call back ---------------------------------------------------------------------------------


def queue_keys(app: CtiApp, *keys: str) -> None:
    """Hand the app several keys at once, as a busy loop does: all are queued before the first is handled."""
    for key in keys:
        character = {"slash": "/", "number_sign": "#"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))


async def test_keys_queued_behind_a_key_that_moves_the_focus_go_where_it_moved(make_app) -> None:
    """On a busy wall keys queue up behind a frame. "/" then "ax" must search for "ax", not answer and hang
    up the selected call; "d" then a number must dial that number, not lose it."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await ring(pilot)
        assert calls_table(app).has_focus and calls_table(app).selected_call_id == call_id

        queue_keys(app, "slash", "a", "x")
        await settle(pilot)
        assert history(app).query_one("#history-search", Input).value == "ax"
        assert status(app, call_id) is S.RINGING  # neither answered nor hung up
        await pilot.press("escape")
        await settle(pilot)

        calls_table(app).focus()
        await settle(pilot)
        queue_keys(app, "d", *"1002")
        assert await wait_until(pilot, lambda: isinstance(app.screen, DestinationModal))
        assert app.screen.query_one("#destination", Input).value == "1002"


async def test_history_search_narrows_and_enter_calls_back(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        # three ended calls: busy, unreachable, a rejected inbound
        for number in (BUSY, UNREACHABLE):
            await open_modal(pilot, "d", DestinationModal)
            await submit_destination(pilot, number)
            await advance(pilot, 3)
            assert await wait_until(pilot, lambda: rows(app) == {})
        await ring(pilot)
        await pilot.press("r")
        assert await wait_until(pilot, lambda: len(history(app).rows) == 3)

        await pilot.press("slash")
        search = history(app).query_one("#history-search", Input)
        assert search.has_focus
        await pilot.press(*"0104")
        assert await wait_until(pilot, lambda: len(history(app).rows) == 1)
        assert history(app).rows[0].party == UNREACHABLE

        await pilot.press("enter")  # back to the list
        await settle(pilot)
        table = history(app).query_one(HistoryTable)
        assert table.has_focus
        before = set(exchange_of(app).legs)
        await pilot.press("enter")  # call back
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        (call_id,) = rows(app)
        call = app.connector.get_call(call_id)
        assert call is not None and call.direction is Direction.OUTBOUND and call.destination == UNREACHABLE
        assert call.status is S.INITIAL
        assert set(exchange_of(app).legs) - before == {call_id}


# --- keys shown only when they can act -----------------------------------------------------------------------------


async def test_keys_follow_the_selected_calls_state(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        keys = active_keys(app)
        for key in ("a", "x", "h", "r", "t", "T", "p", "m", "number_sign", "u"):  # u: nothing parked in view
            assert key not in keys, f"{key} shown with no call"
        for key in ("d", "s", "slash", "q"):
            assert key in keys, f"{key} missing with no call"
        assert not can(app, "answer") and not can(app, "hangup") and not can(app, "hold")

        call_id = await ring(pilot)
        keys = active_keys(app)
        assert "a" in keys and "r" in keys
        assert "h" not in keys and "t" not in keys and "p" not in keys and "number_sign" not in keys
        assert can(app, "answer") and can(app, "reject") and not can(app, "hold")

        await pilot.press("a")
        assert await wait_until(pilot, lambda: status(app, call_id) is S.CONNECTED)
        keys = active_keys(app)
        for key in ("h", "x", "t", "T", "p", "number_sign"):
            assert key in keys, f"{key} missing on a connected call"
        assert "a" not in keys and "r" not in keys
        assert not can(app, "answer")

        await pilot.press("h")
        assert await wait_until(pilot, lambda: status(app, call_id) is S.ON_HOLD)
        keys = active_keys(app)
        assert "h" in keys and "x" in keys and "t" in keys and "p" in keys
        assert "number_sign" not in keys and "a" not in keys

        await pilot.press("x")
        assert await wait_until(pilot, lambda: rows(app) == {})
        keys = active_keys(app)
        assert "x" not in keys and "h" not in keys and "a" not in keys


async def test_the_key_bar_shows_what_the_keys_can_do_and_a_click_presses_one(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        bar = dashboard(app).query_one(KeyBar)
        agent_keys = ["b Break", "O Offline", "Q Queues"]  # available: ready and wrap-up have nothing to do
        assert bar.shown == ["d Dial", "s Subscribe", "/ Search", *agent_keys, "? Help", "q Quit"]
        call_id = await ring(pilot)
        assert await wait_until(pilot, lambda: "a Answer" in bar.shown)
        assert "r Reject" in bar.shown and "h Hold/Resume" not in bar.shown
        await settle(pilot)  # (drawn once the keys changed)
        line, start = next((y, start) for y, start, _end, entry in bar._spans if entry.key == "a")
        await pilot.click(KeyBar, offset=(start + 1, line))
        assert await wait_until(pilot, lambda: status(app, call_id) is S.CONNECTED)
        assert await wait_until(pilot, lambda: "h Hold/Resume" in bar.shown)
        assert "a Answer" not in bar.shown and "x Hang up" in bar.shown


async def test_keys_with_no_call_do_nothing(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("a", "x", "h", "t", "p", "m", "r")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
        assert exchange_of(app).legs == {}
        assert notifications(app) == []


# --- quit ----------------------------------------------------------------------------------------------------------


async def test_quit_with_an_active_call_asks_first(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)
        modal = await open_modal(pilot, "q", ConfirmModal)
        assert "1 call still active" in modal.question
        await pilot.press("enter")  # Cancel has the focus
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
        assert app.is_running and not app._exit
        assert status(app, call_id) is S.CONNECTED

        modal = await open_modal(pilot, "q", ConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)
        assert not app._exit


async def test_quit_with_an_active_call_and_confirm_exits(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await connected_call(pilot)
        await open_modal(pilot, "q", ConfirmModal)
        await pilot.click("#yes")
        await pilot.pause()
        assert app._exit


async def test_quit_with_no_call_exits_at_once(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app._exit
        assert not any(isinstance(s, ConfirmModal) for s in app.screen_stack)


async def test_ctrl_q_asks_too_while_a_call_is_live(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        call_id = await connected_call(pilot)
        modal = await open_modal(pilot, "ctrl+q", ConfirmModal)
        assert "still active" in modal.question
        assert not app._exit
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard) and not app._exit
        assert status(app, call_id) is S.CONNECTED

        await pilot.press("x")
        assert await wait_until(pilot, lambda: rows(app) == {})
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app._exit


# --- command palette, keymap ---------------------------------------------------------------------------------------


async def test_command_palette_dials_a_colleague_by_name(make_app) -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("ctrl+p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Dial Bruno")
        palette = app.screen

        def bruno_offered() -> bool:
            options = palette.query_one(OptionList)
            return options.option_count > 0 and "Bruno" in str(options.get_option_at_index(0).prompt)

        assert await wait_until(pilot, bruno_offered)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
        assert isinstance(app.screen, Dashboard)
        (call_id,) = rows(app)
        call = app.connector.get_call(call_id)
        assert call is not None and call.direction is Direction.OUTBOUND and call.destination == "1002"
        await advance(pilot, 1)
        assert status(app, call_id) is S.RINGING  # Bruno's phone rings


async def test_log_out_from_the_palette_asks_while_a_call_is_live(make_app) -> None:
    """Issue 17 #9: the palette's Log out dropped a live call without a word; q asked."""
    from textual.command import CommandPalette

    from cti_tui.ui.screens.login import LoginScreen
    from cti_tui.ui.screens.modals import ConfirmModal

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await connected_call(pilot)
        await pilot.press("ctrl+p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Log out")
        palette = app.screen
        assert await wait_until(pilot, lambda: palette.query_one(OptionList).option_count > 0)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "Log out anyway?" in str(app.screen.query_one(Label).render())
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: isinstance(app.screen, Dashboard))
        assert app.connector is not None and app.connector.active_calls()
        dashboard(app).log_out()
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal) and app.screen.query("#yes"))
        await pilot.click("#yes")
        assert await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen))


async def test_a_directory_name_with_markup_is_plain_text_in_the_palette(make_app) -> None:
    from textual.command import CommandPalette

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        dashboard(app).directory[0] = dataclasses.replace(dashboard(app).directory[0], name="[/x]Bruno[b")
        await pilot.press("ctrl+p")
        assert await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Bruno")
        palette = app.screen
        assert await wait_until(pilot, lambda: palette.query_one(OptionList).option_count > 0)
        prompts = [str(palette.query_one(OptionList).get_option_at_index(i).prompt) for i in range(2)]
        assert any("[/x]Bruno[b" in p for p in prompts), prompts


async def test_keymap_moves_dial_to_another_key(make_app) -> None:
    app = make_app(config=AppConfig(keymap={"cti.dial": "D"}, bell=False, flash=False))
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, Dashboard)  # d no longer dials
        assert "D" in active_keys(app)
        await open_modal(pilot, "D", DestinationModal)
        await submit_destination(pilot, ANSWERS)
        assert await wait_until(pilot, lambda: len(rows(app)) == 1)
