"""The status bar: connection state, who is logged in, the clock, and the last notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from cti_tui.core.availability import Availability
from cti_tui.core.model import Identity
from cti_tui.ui.widgets.agent_state import agent_text

STATE_STYLE = {
    "connecting": "bold #7aa2f7",
    "ready": "bold #9ece6a",
    "reconnecting": "bold #ffb000",
    "logged out": "bold #f7768e",
}


class StatusBar(Static):
    state: reactive[str] = reactive("connecting")
    notice: reactive[str] = reactive("")
    agent: reactive[Availability | None] = reactive(None)  # the agent's own availability, when the backend has one
    missed: reactive[int] = reactive(0)  # unseen missed calls: a badge until the agent looks at them

    def __init__(self, identity: Identity, backend: str, now: Callable[[], datetime], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.identity = identity
        self.backend = backend
        self._now = now

    def render(self) -> Text:
        """The state, the agent's availability, who, the clock, then the notice; at a narrow width the
        details (role, backend) go first, so the clock and the availability are never cut."""
        me = self.identity
        width = self.size.width or 10**6
        clock = Text(f"  {self._now().strftime('%H:%M:%S')}", style="dim")
        for details in (f"({me.role}) · ext {me.extension} · {self.backend}", f"ext {me.extension}", ""):
            text = Text()
            text.append(f" ● {self.state.upper()} ", style=STATE_STYLE.get(self.state, "bold"))
            if self.missed:
                text.append(f" ☎ {self.missed} missed ", style="bold #1a1b26 on #f7768e")
            if self.agent is not None:
                text.append_text(agent_text(self.agent, self._now()))
            text.append(f" {me.name} ", style="bold")
            text.append(details, style="")
            if text.cell_len + clock.cell_len <= width:
                break
        if self.notice:
            text.append(f"  │ {self.notice}", style="italic")
            if text.cell_len + clock.cell_len > width:  # the notice is cut, never the clock
                text.truncate(max(0, width - clock.cell_len), overflow="ellipsis")
        text.append_text(clock)
        return text

    def tick(self) -> None:
        self.refresh()
