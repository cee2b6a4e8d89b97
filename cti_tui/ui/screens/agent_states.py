"""The dashboard's agent-state keys: ready, break (with a reason), offline, queue login/logout, wrap-up.

A mixin of :class:`~cti_tui.ui.screens.dashboard.Dashboard`, kept apart so the call keys and these grow
without touching each other. Each key runs a command of the one table (:mod:`cti_tui.core.verbs`); the
PBX's answer comes back as an agent event, which moves the status bar and the wrap-up form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from rich.text import Text
from textual.app import App
from textual.binding import Binding

from cti_tui.core import commands as cmd
from cti_tui.core.availability import AgentState, Availability
from cti_tui.core.model import Identity, Role
from cti_tui.core.numbers import format_for_display
from cti_tui.engine.connector import Connector
from cti_tui.ui.screens.modals import ChoiceModal
from cti_tui.ui.widgets.status_bar import StatusBar
from cti_tui.ui.widgets.subscriptions_pane import SubscriptionsPane
from cti_tui.ui.widgets.wrap_up import WrapUpModal


class _Dashboard(Protocol):
    """What these keys use of the dashboard."""

    connector: Connector
    identity: Identity
    now: Callable[[], datetime]

    @property
    def app(self) -> App[Any]: ...

    @property
    def status(self) -> StatusBar: ...

    @property
    def lines(self) -> SubscriptionsPane: ...

    def _run(self, command: cmd.Command) -> object: ...

    def own_agent(self) -> Availability | None: ...


AGENT_KEYS: tuple[Binding, ...] = (
    Binding("R", "ready", "Ready", id="cti.ready", priority=True),
    Binding("b", "take_break", "Break", id="cti.take_break", priority=True),
    Binding("O", "go_offline", "Offline", id="cti.go_offline", priority=True),
    Binding("Q", "queues", "Queues", id="cti.queues", priority=True),
    Binding("w", "dispose", "Wrap-up", id="cti.dispose", priority=True),
)
AGENT_ACTIONS = frozenset(binding.action for binding in AGENT_KEYS)


class AgentStateKeys:
    """What the agent-state keys do, and when they can act (``agent_action_available``)."""

    def own_agent(self: _Dashboard) -> Availability | None:
        """The own availability, when it means something: an agent's, or a supervisor's who is in a queue."""
        agent = self.connector.availability()
        if agent is None or not self.connector.backend.capabilities.agent_states:
            return None
        return agent if agent.member_of or self.identity.role is Role.AGENT else None

    def agent_action_available(self: _Dashboard, action: str) -> bool:
        agent = self.own_agent()
        if agent is None:
            return False
        match action:
            case "ready":
                return agent.state is not AgentState.AVAILABLE
            case "take_break":
                return agent.state is not AgentState.BREAK
            case "go_offline":
                return agent.state is not AgentState.OFFLINE
            case "queues":
                return bool(agent.member_of)
            case "dispose":
                return bool(agent.call_id) and bool(agent.dispositions)
        return False

    def action_ready(self: _Dashboard) -> None:
        self._run(cmd.SetReady())

    def action_go_offline(self: _Dashboard) -> None:
        self._run(cmd.GoOffline())

    def action_take_break(self: _Dashboard) -> None:
        agent = self.connector.availability()
        if agent is None:
            return

        def chosen(answer: object) -> None:
            if answer:
                self._run(cmd.TakeBreak(str(answer)))

        options: list[tuple[str, Text | str]] = [(reason, reason) for reason in agent.break_reasons]
        self.app.push_screen(ChoiceModal("Break: why?", options, empty="no break reasons"), chosen)

    def action_queues(self: _Dashboard) -> None:
        agent = self.connector.availability()
        if agent is None:
            return

        def chosen(answer: object) -> None:
            if answer:
                queue = str(answer)
                self._run(cmd.QueueLogout(queue) if queue in agent.queues else cmd.QueueLogin(queue))

        options: list[tuple[str, Text | str]] = [
            (queue, Text.assemble(("● in  " if queue in agent.queues else "○ out ", "bold"), queue))
            for queue in agent.member_of
        ]
        self.app.push_screen(ChoiceModal("Log in to / out of a queue", options, empty="you are in no queue"), chosen)

    def action_dispose(self: _Dashboard) -> None:
        agent = self.connector.availability()
        if agent is None or not agent.call_id:
            return
        call_id = agent.call_id
        call = self.connector.get_call(call_id)
        label = (call.party_name or format_for_display(call.party)) if call is not None else call_id

        def chosen(answer: object) -> None:
            if isinstance(answer, tuple):
                code, note = answer
                self._run(cmd.Dispose(call_id, str(code), str(note)))

        self.app.push_screen(WrapUpModal(agent, label or "anonymous", self.now), chosen)

    def queue_commands(self: _Dashboard) -> list[tuple[str, cmd.Command]]:
        """The palette's per-queue login/logout commands, for the agent's queues as they stand."""
        agent = self.connector.availability()
        if agent is None:
            return []
        return [
            (f"Log out of queue {q}", cmd.QueueLogout(q))
            if q in agent.queues
            else (f"Log in to queue {q}", cmd.QueueLogin(q))
            for q in agent.member_of
        ]

    def agent_changed(self: _Dashboard, agent: Availability) -> None:
        """An agent event: the status bar shows the own state; an open wrap-up form follows it."""
        if agent.extension != self.identity.extension:
            self.lines.set_agent(agent)  # a watched agent: its line's lamp row shows the state
            return
        self.status.agent = self.own_agent()
        for screen in self.app.screen_stack:
            if isinstance(screen, WrapUpModal) and screen.agent.call_id == agent.call_id:
                screen.agent_changed(agent)
