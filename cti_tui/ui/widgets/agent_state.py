"""An agent's availability as the status bar shows it: the state, its reason, and the time in it (or the
wrap-up time left)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cti_tui.core.availability import AgentState, Availability, clock_text

AGENT_STYLE = {
    AgentState.AVAILABLE: "bold #1a1b26 on #9ece6a",
    AgentState.BREAK: "bold #1a1b26 on #e0af68",
    AgentState.WRAP_UP: "bold #1a1b26 on #7aa2f7",
    AgentState.OFFLINE: "bold #c0caf5 on #565f89",
}


COMPACT = {
    AgentState.AVAILABLE: "avail",
    AgentState.BREAK: "break",
    AgentState.WRAP_UP: "wrap",
    AgentState.OFFLINE: "off",
}


def agent_text(agent: Availability, now: datetime, *, compact: bool = False) -> Text:
    """``AVAILABLE 03:12``, ``BREAK lunch 00:05``, ``WRAP-UP 00:25 left``: what queues may offer, at a glance.
    ``compact``: the state alone (``avail``), where a narrow row must keep room for the line's name."""
    if compact:
        return Text.assemble((f" {COMPACT[agent.state]} ", AGENT_STYLE[agent.state]), " ")
    label = agent.state.label
    if agent.reason:
        label += f" {agent.reason}"
    if agent.state is AgentState.WRAP_UP:
        label += f" {clock_text(agent.wrap_up_left(now))} left"
    else:
        label += f" {clock_text(agent.seconds_in_state(now))}"
    return Text.assemble((f" {label} ", AGENT_STYLE[agent.state]), " ")
