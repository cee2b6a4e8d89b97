"""The dashboard: active calls, lines watched, history, status — live from engine events, keyboard first.

Data flows one way: engine events arrive as :class:`EngineEvent` messages and update the panes; keys
become intents that run on the connector in workers. A key shows in the key bar only while it can act on
the selected call — ``check_action`` asks the engine which operations the call's state allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Select

from cti_tui.core import commands as cmd
from cti_tui.core.history import CallHistory, Outcome
from cti_tui.core.model import (
    ActivityEvent,
    ActivityName,
    AgentEvent,
    Call,
    CallEvent,
    CallStatus,
    Direction,
    DirectoryEntry,
    ErrorCode,
    Event,
    Operation,
    Role,
)
from cti_tui.core.numbers import format_for_display
from cti_tui.core.service_level import QueueFigures
from cti_tui.core.verbs import call_intents
from cti_tui.engine.connector import Connector
from cti_tui.ui.call_focus import answer_target, consult_pair, hold_current, swap
from cti_tui.ui.missed import MissedCalls
from cti_tui.ui.screens.agent_states import AGENT_ACTIONS, AGENT_KEYS, AgentStateKeys
from cti_tui.ui.screens.modals import (
    ChoiceModal,
    ConfirmModal,
    DestinationModal,
    DigitsModal,
    call_options,
    park_options,
    parked_options,
)
from cti_tui.ui.supervisor import SPY_ACTIONS, hangup_question, spied_extension
from cti_tui.ui.textual_ext.compositor import use_dirty_rows_compositor
from cti_tui.ui.textual_ext.memory import settle_long_lived
from cti_tui.ui.textual_ext.soon import soon
from cti_tui.ui.widgets.active_calls import ActiveCalls
from cti_tui.ui.widgets.history_pane import HistoryPane
from cti_tui.ui.widgets.key_bar import KeyBar
from cti_tui.ui.widgets.line_picker import LinePicker
from cti_tui.ui.widgets.row_view import RowView
from cti_tui.ui.widgets.screen_pop import PopSettings, ScreenPop
from cti_tui.ui.widgets.service_level import ServiceLevelPanel
from cti_tui.ui.widgets.status_bar import StatusBar
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane
from cti_tui.ui.widgets.watched_calls import WatchedCalls, is_own

# action -> the engine operations on the selected call, one of which must be available for the key to show
CALL_ACTIONS: dict[str, tuple[Operation, ...]] = call_intents()


LINES_SAVE_DELAY = 1.0  # seconds: the watched lines are written once a second at most (and at logout)
KEYS_INTERVAL = 0.2  # seconds between two key-bar checks at most: keys shown lag a busy wall by ≤ this


# the causes that tell a user why a call never connected (docs/events.md), as they read in a notice
FAILURE_REASONS = {
    "busy": "busy",
    "no_answer": "no answer",
    "unreachable": "unreachable",
    "rejected": "rejected",
}


class Dashboard(AgentStateKeys, Screen[None]):
    class SessionLost(Message):
        """The backend's session is gone for good (the server restarted without it, the phone died): the app
        takes the user back to the login form."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    # Priority: a key runs its action where it arrives, before the keys behind it are handed to whoever has
    # the focus. Otherwise, on a busy wall (keys queue up behind a frame), "/" then "ax" would hand "a" and "x"
    # to the calls pane before the search box had the focus — answer, hang up — and "d" then a number would
    # lose the number. While a text field has the focus, check_action turns them all off: they are its text.
    # As Bindings (what BINDINGS holds may also be tuples) for whoever reads their actions: KEY_ACTIONS, the
    # key bar's check, the command palette.
    KEYS: ClassVar[tuple[Binding, ...]] = (
        Binding("d", "dial", "Dial", id="cti.dial", priority=True),
        Binding("a", "answer", "Answer", id="cti.answer", priority=True),
        Binding("r", "reject", "Reject", id="cti.reject", priority=True),
        Binding("x", "hangup", "Hang up", id="cti.hangup", priority=True),
        Binding("h", "hold", "Hold/Resume", id="cti.hold", priority=True),
        Binding("v", "mute", "Mute/Unmute", id="cti.mute", priority=True),
        Binding("t", "transfer", "Transfer", id="cti.transfer", priority=True),
        Binding("T", "supervised_transfer", "Sup. transfer", id="cti.supervised_transfer", priority=True),
        Binding("p", "park", "Park", id="cti.park", priority=True),
        Binding("u", "unpark", "Unpark", id="cti.unpark", priority=True),
        Binding("C", "complete_transfer", "Complete transfer", id="cti.complete_transfer", priority=True),
        Binding("X", "cancel_transfer", "Cancel transfer", id="cti.cancel_transfer", priority=True),
        Binding("S", "swap", "Swap", id="cti.swap", priority=True),
        Binding("m", "merge", "Merge", id="cti.merge", priority=True),
        Binding("number_sign", "dtmf", "DTMF", key_display="#", id="cti.dtmf", priority=True),
        Binding("c", "call_back", "Call back", id="cti.call_back", priority=True),
        Binding("M", "missed", "Missed calls", id="cti.missed", priority=True),
        Binding("g", "pickup", "Pick up", id="cti.pickup", priority=True),
        Binding("l", "listen", "Listen", id="cti.listen", priority=True),
        Binding("W", "whisper", "Whisper", id="cti.whisper", priority=True),
        Binding("B", "barge", "Barge", id="cti.barge", priority=True),
        Binding("s", "subscribe", "Subscribe", id="cti.subscribe", priority=True),
        Binding("slash", "search", "Search", key_display="/", id="cti.search", priority=True),
        *AGENT_KEYS,
        Binding("question_mark", "help", "Help", key_display="?", id="cti.help", priority=True),
        Binding("q", "quit", "Quit", id="cti.quit", priority=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = list(KEYS)
    KEY_ACTIONS: ClassVar[frozenset[str]] = frozenset(binding.action for binding in KEYS)

    def __init__(
        self,
        connector: Connector,
        *,
        now: Callable[[], datetime],
        history: CallHistory | None,
        backend_label: str,
        bell: bool = True,
        flash: bool = True,
        recall_lines: Callable[[], tuple[list[str], str | None]] = lambda: ([], None),
        remember_lines: Callable[[list[str]], str | None] = lambda nodes: None,
        hold_first: bool = True,
        screen_pop: PopSettings | None = None,
    ) -> None:
        super().__init__()
        self.recall_lines = recall_lines
        self.remember_lines = remember_lines
        self._lines_changed = False
        self._lines_to_save: list[str] | None = None
        self._save_due: Timer | None = None
        self.connector = connector
        self.now = now
        self.history = history
        self.backend_label = backend_label
        self.bell = bell
        self.flash = flash
        self.hold_first = hold_first
        self.pop_settings = screen_pop or PopSettings()
        self._select_when_shown: str | None = None
        self.missed = MissedCalls()
        self._select_consult_of: str | None = None  # a consult call is selected once shown (it has no id yet)
        self.directory: list[DirectoryEntry] = []
        self._pending: list[Event] = []
        self._available: tuple[bool | None, ...] = ()
        self._keys_checked = 0.0
        self._keys_due: Timer | None = None
        assert connector.identity is not None
        self.identity = connector.identity
        self.calls = ActiveCalls(now, id="calls")
        # a supervisor's own calls apart from its watched lines' (kept here: the key bar asks before they mount)
        self.watched = WatchedCalls(now, id="watched") if self.identity.role is Role.SUPERVISOR else None
        self._pane: ActiveCalls = self.calls  # the calls pane focused last
        use_dirty_rows_compositor(self)  # rows repainted, not whole widgets: see textual_ext/compositor.py

    # --- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(self.identity, self.backend_label, self.now, id="status")
        if self.identity.role is Role.SUPERVISOR:
            self.add_class("-supervisor")
        with Grid(id="main"):
            with Vertical(id="call-panes"):
                yield self.calls
                if self.watched is not None:
                    yield self.watched
            yield SubscriptionsPane([], self.now, id="lines")
            yield HistoryPane(self.history, self.identity.line, id="history")
        yield ServiceLevelPanel(self.now, id="service-level")
        yield KeyBar(id="keys")
        yield ScreenPop(self.pop_settings, self.history, self.identity.line, id="screen-pop")

    async def on_mount(self) -> None:
        self.directory = await self.connector.directory()
        self.lines.directory = self.directory
        self.service_level.names = {e.node.removeprefix("queue:"): e.name for e in self.directory}
        self._remove_figures = self.connector.add_figures_listener(self._figures_arrived)
        for figures in self.connector.queue_figures().values():
            self._figures_arrived(figures)
        self.status.state = "ready" if self.connector.is_connected() else "connecting"
        self.status.agent = self.own_agent()
        self._show_engine_view()
        self._remove_listener = self.connector.add_listener(self._arrived)
        self._restore_lines()
        self.set_interval(1.0, self.tick)
        self.calls.focus()
        self.refresh_bindings()
        self.call_after_refresh(settle_long_lived)

    def on_unmount(self) -> None:
        for name in ("_remove_listener", "_remove_figures"):
            remove = getattr(self, name, None)
            if remove:
                remove()
        if self._save_due is not None:  # logging out or quitting within the second: saved now
            self._save_due.stop()
            self._save_lines()

    def _figures_arrived(self, figures: QueueFigures) -> None:
        """A watched queue's service level (from the server or the local feed): the panel shows it."""
        if f"queue:{figures.queue}" in self.connector.subscriptions():
            self.service_level.show_figures(figures)

    @cached_property
    def service_level(self) -> ServiceLevelPanel:
        return self.query_one("#service-level", ServiceLevelPanel)

    def _panes(self) -> list[ActiveCalls]:
        return [self.calls] if self.watched is None else [self.calls, self.watched]

    def _pane_for(self, call: Call) -> ActiveCalls:
        return self.calls if self.watched is None or is_own(call, self.identity) else self.watched

    def _show_calls(self, calls: list[Call]) -> None:
        for pane in self._panes():
            pane.replace(c for c in calls if self._pane_for(c) is pane)

    @cached_property
    def lines(self) -> SubscriptionsPane:
        return self.query_one("#lines", SubscriptionsPane)

    @cached_property
    def history_pane(self) -> HistoryPane:
        return self.query_one("#history", HistoryPane)

    @cached_property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    def tick(self) -> None:
        """Redraw what time changes: durations and the clock (every second, and after virtual time moves)."""
        for pane in self._panes():
            pane.tick()
        self.lines.tick()
        self.status.tick()
        self.service_level.tick()

    # --- engine events --------------------------------------------------------------------------------

    def _arrived(self, event: Event) -> None:
        """Engine listener: queue the event; one drain per turn of the loop applies everything that came.

        A busy wall gets hundreds of events between two frames. Applying them in one go costs one bindings
        check and one history reload, and the panes only mark rows dirty: Textual repaints them at its next
        frame, once, however many events touched them.
        """
        self._pending.append(event)
        if len(self._pending) == 1:
            soon(self, self._drain)

    def _drain(self) -> None:
        events, self._pending = self._pending, []
        own_call_ended = False
        for event in events:
            if isinstance(event, CallEvent):
                self._on_call(event.call)
                own_call_ended |= event.call.ended and event.call.line == self.identity.line
            elif isinstance(event, AgentEvent):
                self.agent_changed(event.agent)
                own_call_ended |= bool(event.agent.disposition) and event.agent.extension == self.identity.extension
            else:
                self._on_activity(event)
        if own_call_ended:  # once per drain, however many ended
            self.history_pane.reload()
        if self._lines_changed:  # taken now: a logout empties the engine's list before the save runs
            self._lines_changed = False
            self._lines_to_save = self.connector.subscriptions()
            if self._save_due is None:  # a wall subscribes thousands: written once a second at most
                self._save_due = self.set_timer(LINES_SAVE_DELAY, self._save_lines)
        self.query_one(ScreenPop).follow(self.calls.calls())
        self._refresh_bindings_if_changed()

    def _show_engine_view(self) -> None:
        """Show exactly the engine's view: its live calls and the lines it watches (on mount, and when a
        reconnect makes it the truth again)."""
        calls = self.connector.active_calls()
        self._show_calls(calls)
        self.lines.set_nodes(self.connector.subscriptions())
        self.lines.replace(calls)
        for agent in self.connector.agents():
            self.agent_changed(agent)
        self.query_one(ScreenPop).follow(self.calls.calls())

    def _on_call(self, call: Call) -> None:
        was_shown = call.id in self.calls
        pane = self._pane_for(call)
        if not call.ended and call.seen_on(self.connector.visible_lines()):
            pane.show(call)
            if call.id == self._select_when_shown or (call.consult_for and call.consult_for == self._select_consult_of):
                self._select_when_shown = self._select_consult_of = None
                self._pane = pane  # the keys act on the new call whichever pane was focused
                pane.move_to(call.id)
            if call.status is CallStatus.RINGING and not was_shown and call.line == self.identity.line:
                self._alert()  # the user's own phone rings; a wall does not bleep for every watched line
        else:
            if was_shown and call.ended and call.line == self.identity.line:
                self._say_why_it_failed(call)
            if self.missed.saw_call(call, self.identity.line):
                self.status.missed = self.missed.count
            pane.drop(call.id)
        for other in self._panes():
            if other is not pane:
                other.drop(call.id)  # it moved (a picked-up call: from the watched pane to one's own)
        self.lines.show(call)

    def _say_why_it_failed(self, call: Call) -> None:
        """A call the user placed that ends without a conversation says why (it used to just vanish)."""
        reason = FAILURE_REASONS.get(call.cause)
        if reason is None or call.connect_at is not None or call.direction is not Direction.OUTBOUND:
            return
        party = call.party_name or format_for_display(call.party)
        self.notify(f"{party}: {reason}", title="Call failed", severity="warning", timeout=8, markup=False)

    def _refresh_bindings_if_changed(self) -> None:
        """The key bar is redrawn only when what the keys can do changed, and on a busy wall (where the
        selected call may change many times a second) checked at most every KEYS_INTERVAL: each check asks
        the engine about every key. A key always acts on what is true when it is pressed — Textual asks
        check_action then."""
        if self._keys_due is not None:
            return  # a check is already scheduled
        wait = self._keys_checked + KEYS_INTERVAL - time.monotonic()
        if wait > 0:
            self._keys_due = self.set_timer(wait, self._check_keys)
            return
        self._check_keys()

    def _check_keys(self) -> None:
        self._keys_due = None
        self._keys_checked = time.monotonic()
        available = tuple(self.check_action(binding.action, ()) for binding in self.KEYS)
        if available != self._available:
            self._available = available
            self.refresh_bindings()

    def _on_activity(self, event: ActivityEvent) -> None:
        match event.name:
            case ActivityName.INFO if event.code is ErrorCode.RECONNECTING:
                self.status.state = "reconnecting"  # the calls stay visible until the present is resent
                self.status.notice = event.message
            case ActivityName.INFO:
                self.status.notice = event.message
                self.notify(event.message, title="Info", severity="warning", timeout=4, markup=False)
            case ActivityName.ERROR if event.code is ErrorCode.SESSION_LOST:  # nothing here can act any more
                self.status.state = "session lost"
                self.app.notify(
                    f"{event.message}. Calls in progress were interrupted; log in again.",
                    title="Session lost",
                    severity="error",
                    timeout=20,
                    markup=False,
                )
                self.post_message(self.SessionLost())
            case ActivityName.ERROR:
                self.status.notice = event.message
                self.notify(event.message, title="Error", severity="error", timeout=6, markup=False)
            case ActivityName.READY:  # (re)connected: the engine's view is the truth, show exactly it
                self.status.state = "ready"
                self._show_engine_view()
            case ActivityName.LOGGED_OUT:
                self.status.state = "logged out"
            case ActivityName.SUBSCRIBED if event.node:  # the line's present calls follow as call events
                self.lines.add_line(event.node)
                self.status.notice = event.message
                self._lines_changed = True
            case ActivityName.UNSUBSCRIBED if event.node:  # its calls left the engine's view silently
                self.lines.discard_line(event.node)
                self._lines_changed = True
                self.service_level.keep_only(
                    {
                        node.removeprefix("queue:")
                        for node in self.connector.subscriptions()
                        if node.startswith("queue:")
                    }
                )
                self._show_calls(self.connector.active_calls())
                self.status.notice = event.message

    def _save_lines(self) -> None:
        """Remember the lines watched now, for this user's next login on this backend."""
        self._save_due = None
        if self._lines_to_save is None:
            return
        nodes, self._lines_to_save = self._lines_to_save, None
        problem = self.remember_lines(nodes)
        if problem:
            self.notify(problem, title="Lines", severity="warning", markup=False)

    @work(group="restore")
    async def _restore_lines(self) -> None:
        """Watch again, in their order, the lines this user watched last time on this backend (a restored
        server session may watch them already). One refused now (gone, not permitted) says why and is left."""
        nodes, problem = self.recall_lines()
        if problem:
            self.notify(problem, title="Lines", severity="warning", markup=False)
        for node in nodes:
            if node not in self.connector.subscriptions():
                await self.connector.perform(cmd.Subscribe(node))

    def _alert(self) -> None:
        """A new call rings: the terminal bell and a short flash of the calls pane (configurable)."""
        if self.bell:
            self.app.bell()
        if self.flash:
            self.calls.add_class("-flash")
            self.set_timer(0.6, lambda: self.calls.remove_class("-flash"))

    # --- what the keys can do now ----------------------------------------------------------------------

    def selected(self) -> Call | None:
        """The selected row of the calls pane focused last (one's own calls, or the watched ones): the palette
        or a dialog taking the focus does not change which call the keys act on."""
        call_id = self._pane.selected_call_id
        return self.connector.get_call(call_id) if call_id else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.KEY_ACTIONS and self._typing():
            return False
        if action == "answer":
            return self._answer_target() is not None
        if action == "mute":
            call = self.selected()
            return (
                call is not None
                and self.connector.backend.capabilities.mute
                and call.line == self.identity.line
                and call.status in (CallStatus.CONNECTED, CallStatus.ON_HOLD)
            )
        if action in ("call_back", "missed"):
            return self.missed.count > 0
        if action in ("complete_transfer", "cancel_transfer", "swap"):
            return self._consult_action_available(action)
        if action in CALL_ACTIONS:
            call = self.selected()
            if call is None:
                return False
            allowed = self.connector.operations(call.id)
            if not any(op in allowed for op in CALL_ACTIONS[action]):
                return False
            if action == "merge":
                return len(self._merge_partners(call)) > 0
            return True
        if action in SPY_ACTIONS:  # a supervisor on a watched agent's call
            call = self.selected()
            return call is not None and self._spied(call) is not None
        capabilities = self.connector.backend.capabilities
        if action == "unpark":  # only while a parked call is in view (yours, or the park lot's if watched)
            return capabilities.supports(Operation.UNPARK) and bool(self._parked())
        if action == "subscribe":
            return capabilities.subscribe
        if action in AGENT_ACTIONS:
            return self.agent_action_available(action)
        return True

    def _typing(self) -> bool:
        """A text field has the focus (the history search), or a drop-down list is open: keys are its."""
        focused = self.focused
        return isinstance(focused, Input) or (isinstance(focused, Select) and focused.expanded)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, ActiveCalls) and event.widget is not self._pane:
            self._pane = event.widget
            self._refresh_bindings_if_changed()

    @on(RowView.Highlighted, "#calls, #watched")
    def _selection_moved(self, message: RowView.Highlighted) -> None:
        message.stop()  # nothing above wants it (on a wall the selected call changes ~50 times a second)
        self._refresh_bindings_if_changed()

    def _parked(self) -> list[Call]:
        return [call for pane in self._panes() for call in pane.parked()]

    def _merge_partners(self, call: Call) -> list[Call]:
        return [
            other
            for other in self.calls.calls()
            if other.id != call.id
            and other.line == self.identity.line
            and Operation.MERGE in self.connector.operations(other.id)
        ]

    # --- actions ----------------------------------------------------------------------------------------

    @work(group="intents")
    async def _run(self, command: cmd.Command) -> None:
        """Run one command on the connector; its outcome arrives as events (INFO/ERROR become notifications)."""
        await self.connector.perform(command)

    def run_command(self, command: cmd.Command) -> None:
        """Run a command of the palette's (its outcome arrives as events, as a key's does)."""
        self._run(command)

    @work(group="intents")
    async def _start_call(self, command: cmd.Dial | cmd.Answer) -> None:
        """Dial or answer as the one conversation: the connected call is held first (unless configured
        otherwise), and the new call is selected, so the next key acts on it."""
        keep = command.call_id if isinstance(command, cmd.Answer) else None
        if self.hold_first and not await hold_current(self.connector, keep=keep):
            return
        outcome = await self.connector.perform(command)
        new_id = keep if isinstance(command, cmd.Answer) else outcome.value
        if outcome and isinstance(new_id, str):
            self._select_when_shown = new_id
            if new_id in self.calls:
                self._select_when_shown = None
                self._pane = self.calls
                self.calls.move_to(new_id)

    def _consult_action_available(self, action: str) -> bool:
        pair = consult_pair(self.connector, self.selected())
        if pair is None or not self.connector.backend.capabilities.consult_transfer:
            return False
        original, consult = pair
        if action == "cancel_transfer":
            return True
        if consult.connect_at is None:  # the target has not answered: nothing to complete or swap to yet
            return False
        return action == "complete_transfer" or {original.status, consult.status} == {
            CallStatus.CONNECTED,
            CallStatus.ON_HOLD,
        }

    def _answer_target(self) -> Call | None:
        return answer_target(self.connector, self.selected(), self.calls.calls())

    def _with_selected(self, command: Callable[[str], cmd.Command]) -> None:
        call = self.selected()
        if call is not None:
            self._run(command(call.id))

    def action_dial(self) -> None:
        self._ask_destination("Dial", self.dial)

    def dial(self, number: str) -> None:
        self._start_call(cmd.Dial(number))

    def action_answer(self) -> None:
        call = self._answer_target()
        if call is not None:
            self._start_call(cmd.Answer(call.id))

    def action_reject(self) -> None:
        self._with_selected(cmd.Reject)

    def action_hangup(self) -> None:
        call = self.selected()
        question = None if call is None else hangup_question(call, self.identity)
        if call is None or question is None:
            self._with_selected(cmd.Hangup)
            return

        def chosen(answer: object) -> None:
            if answer:
                self._run(cmd.Hangup(call.id))

        self.app.push_screen(ConfirmModal(question, yes="Hang up"), chosen)

    def action_pickup(self) -> None:
        self._with_selected(cmd.Pickup)

    def _spied(self, call: Call) -> str | None:
        return spied_extension(call, self.identity, self.connector.subscriptions())

    def _spy(self, action: str) -> None:
        call = self.selected()
        extension = None if call is None else self._spied(call)
        if extension is not None:
            self._run(cmd.Spy(extension, SPY_ACTIONS[action]))

    def action_listen(self) -> None:
        self._spy("listen")

    def action_whisper(self) -> None:
        self._spy("whisper")

    def action_barge(self) -> None:
        self._spy("barge")

    def action_hold(self) -> None:
        call = self.selected()
        if call is not None:
            self._run(cmd.Resume(call.id) if call.status is CallStatus.ON_HOLD else cmd.Hold(call.id))

    def action_transfer(self) -> None:
        call = self.selected()
        if call is not None:
            self._ask_destination(
                f"Transfer {format_for_display(call.party)} to",
                lambda number: self._run(cmd.Transfer(call.id, number)),
            )

    def action_supervised_transfer(self) -> None:
        call = self.selected()
        if call is None:
            return
        consult = self.connector.backend.capabilities.consult_transfer

        def chosen(number: str) -> None:
            self._select_consult_of = call.id if consult else None  # the agent talks to the target next
            self._run(cmd.SupervisedTransfer(call.id, number, consult=consult))

        self._ask_destination(f"Supervised transfer of {format_for_display(call.party)} to", chosen)

    def action_mute(self) -> None:
        call = self.selected()
        if call is not None:
            self._run(cmd.Mute(call.id, not call.muted))

    def action_complete_transfer(self) -> None:
        self._with_selected(cmd.CompleteSupervisedTransfer)

    def action_cancel_transfer(self) -> None:
        self._with_selected(cmd.CancelSupervisedTransfer)

    @work(group="intents")
    async def action_swap(self) -> None:
        pair = consult_pair(self.connector, self.selected())
        if pair is not None and (now_talking := await swap(self.connector, pair)) is not None:
            self._pane = self.calls
            self.calls.move_to(now_talking)

    def action_help(self) -> None:
        from cti_tui.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_park(self) -> None:
        call = self.selected()
        if call is None:
            return
        parked = self._parked()
        slots = self.connector.backend.capabilities.park_slots

        def chosen(answer: object) -> None:
            if answer is not None:
                self._run(cmd.Park(call.id, None if answer == "first" else int(str(answer))))

        self.app.push_screen(ChoiceModal("Park in", park_options(slots, parked)), chosen)

    def action_unpark(self) -> None:
        parked = self._parked()

        def chosen(answer: object) -> None:
            if answer is not None:
                self._run(cmd.Unpark(int(str(answer))))

        self.app.push_screen(
            ChoiceModal(
                "Pick up a parked call",
                parked_options(parked),
                empty="no parked calls known — watch callpark (s)",
            ),
            chosen,
        )

    def action_merge(self) -> None:
        call = self.selected()
        if call is None:
            return

        def chosen(answer: object) -> None:
            if answer is not None:
                self._run(cmd.Merge(call.id, str(answer)))

        self.app.push_screen(ChoiceModal("Merge with", call_options(self._merge_partners(call))), chosen)

    def action_dtmf(self) -> None:
        call = self.selected()
        if call is None:
            return

        def chosen(answer: object) -> None:
            if answer:
                self._run(cmd.SendDtmf(call.id, str(answer)))

        self.app.push_screen(DigitsModal(), chosen)

    def action_subscribe(self) -> None:
        watched = set(self.connector.subscriptions()) | {self.identity.line}

        def chosen(answer: str | None) -> None:
            if answer:
                self._run(cmd.Subscribe(answer))

        self.app.push_screen(LinePicker(e for e in self.directory if e.node not in watched), chosen)

    def subscribe(self, node: str) -> None:
        self._run(cmd.Subscribe(node))

    @on(SubscriptionsPane.Unsubscribe)
    def _unsubscribe(self, message: SubscriptionsPane.Unsubscribe) -> None:
        self._run(cmd.Unsubscribe(message.node))

    @on(HistoryPane.CallBack)
    def _call_back(self, message: HistoryPane.CallBack) -> None:
        self.dial(message.number)

    def action_call_back(self) -> None:
        """Call the newest unseen missed caller back (that caller's missed calls are then dealt with)."""
        newest = self.missed.newest()
        if newest is not None:
            self.missed.called_back(newest.number)
            self.status.missed = self.missed.count
            self.dial(newest.number)
            self._refresh_bindings_if_changed()

    def action_missed(self) -> None:
        """The history's missed calls, the list focused (enter calls one back): seen, so the badge goes."""
        self.missed.seen()
        self.status.missed = 0
        self.history_pane.show_outcome(Outcome.MISSED)
        self._refresh_bindings_if_changed()

    def action_search(self) -> None:
        self.history_pane.focus_search()

    def export_history(self, path: Path | None = None, kind: str = "csv") -> None:
        """Export the history pane's rows (its search and filter) to CSV (or JSON) on a worker: the app stays
        usable, the pane shows the progress, and the outcome comes back as a notification (never a traceback)."""
        target = path or Path.cwd() / f"cti-tui-history-{self.now():%Y%m%d-%H%M%S}.{kind}"
        if not self.history_pane.export_csv(target):
            self.notify("an export is already running", title="History", severity="warning")

    @on(HistoryPane.Exported)
    def _exported(self, message: HistoryPane.Exported) -> None:
        self.notify(f"{message.rows} calls exported to {message.path}", title="History", markup=False)

    @on(HistoryPane.ExportFailed)
    def _export_failed(self, message: HistoryPane.ExportFailed) -> None:
        self.notify(f"export failed: {message.reason}", title="History", severity="error", timeout=10, markup=False)

    def action_quit(self) -> None:
        self._unless_calls_are_live("Quit", self.app.exit)

    def log_out(self) -> None:
        """The palette's Log out: asks first while calls are live, as quitting does."""
        self._unless_calls_are_live("Log out", lambda: self.app.call_later(self.app.run_action, "logout"))

    def _unless_calls_are_live(self, verb: str, then: Callable[[], object]) -> None:
        live = [c for c in self.calls.calls() if c.line == self.identity.line]
        if not live:
            then()
            return

        def chosen(answer: object) -> None:
            if answer:
                then()

        count = len(live)
        self.app.push_screen(
            ConfirmModal(f"{count} call{'s' if count > 1 else ''} still active. {verb} anyway?", yes=verb),
            chosen,
        )

    def _ask_destination(self, title: str, then: Callable[[str], object]) -> None:
        def chosen(answer: object) -> None:
            if answer:
                then(str(answer))

        self.app.push_screen(
            DestinationModal(
                title,
                self.directory,
                default_region=self.connector.default_region,
                sip_uris=self.connector.backend.capabilities.sip_uris,
            ),
            chosen,
        )
