"""The command palette (ctrl+p): dial a contact by name, watch a line, export history, log out."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from cti_tui.core import commands as cmd
from cti_tui.core.model import EntryKind
from cti_tui.ui.screens.agent_states import AGENT_KEYS
from cti_tui.ui.screens.dashboard import CALL_ACTIONS, Dashboard
from cti_tui.ui.supervisor import SPY_ACTIONS


class CtiCommands(Provider):
    def _dashboard(self) -> Dashboard | None:
        return next((s for s in reversed(self.app.screen_stack) if isinstance(s, Dashboard)), None)

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        dashboard = self._dashboard()
        if dashboard is None:
            return []
        commands: list[tuple[str, Callable[[], object], str]] = []
        call = dashboard.selected()
        for binding in dashboard.KEYS:
            action = binding.action
            on_call = action in CALL_ACTIONS or action in SPY_ACTIONS
            if on_call and call is not None and dashboard.check_action(action, ()):
                label = f"{binding.description} — the selected call ({call.party or 'anonymous'})"
                commands.append((label, getattr(dashboard, f"action_{action}"), f"key {binding.key}"))
        commands.extend(_agent_commands(dashboard))
        for entry in dashboard.directory:
            if entry.kind is not EntryKind.PARK:
                commands.append((f"Dial {entry.name} ({entry.number})", partial(dashboard.dial, entry.number), "Call"))
        watched = set(dashboard.connector.subscriptions())
        for entry in dashboard.directory:
            if entry.node not in watched and entry.node != dashboard.identity.line:
                commands.append(
                    (
                        f"Subscribe to {entry.node} — {entry.name}",
                        partial(dashboard.subscribe, entry.node),
                        "Watch",
                    )
                )
        commands.append(("Export call history to CSV", dashboard.export_history, "Write the history to a CSV file"))
        commands.append(
            ("Export call history to JSON", partial(dashboard.export_history, kind="json"), "Write it as JSON")
        )
        commands.append(("Log out", dashboard.log_out, "End the session and return to the login screen"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(Content(name), callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, _highlight(matcher, name), callback, help=help_text)


def _agent_commands(dashboard: Dashboard) -> list[tuple[str, Callable[[], object], str]]:
    """Availability from the palette: the same commands as the keys, a break per reason, a queue each."""
    agent = dashboard.own_agent()
    if agent is None:
        return []
    commands: list[tuple[str, Callable[[], object], str]] = []
    for binding in AGENT_KEYS:
        if binding.action != "take_break" and dashboard.check_action(binding.action, ()):
            commands.append((binding.description, getattr(dashboard, f"action_{binding.action}"), f"key {binding.key}"))
    if dashboard.check_action("take_break", ()):
        for reason in agent.break_reasons:
            commands.append((f"Break: {reason}", partial(dashboard.run_command, cmd.TakeBreak(reason)), "key b"))
    for label, command in dashboard.queue_commands():
        commands.append((label, partial(dashboard.run_command, command), "key Q"))
    return commands


def _highlight(matcher: Matcher, name: str) -> Content:
    """The name with the matched letters styled, as Textual's ``Matcher.highlight`` does, but as plain text:
    names come from the backend's directory, and Textual's own reads them as markup (``[/x]`` would crash)."""
    content = Content(name)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, name)
    for offset in offsets:
        if not name[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
