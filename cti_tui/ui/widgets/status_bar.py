"""The status bar: connection state, who is logged in, the clock, and the last notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from cti_tui.core.model import Identity

STATE_STYLE = {
    "connecting": "bold #7aa2f7",
    "ready": "bold #9ece6a",
    "reconnecting": "bold #ffb000",
    "logged out": "bold #f7768e",
}


class StatusBar(Static):
    state: reactive[str] = reactive("connecting")
    notice: reactive[str] = reactive("")
    missed: reactive[int] = reactive(0)  # unseen missed calls: a badge until the agent looks at them

    def __init__(self, identity: Identity, backend: str, now: Callable[[], datetime], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.identity = identity
        self.backend = backend
        self._now = now

    def render(self) -> Text:
        me = self.identity
        text = Text()
        text.append(f" ● {self.state.upper()} ", style=STATE_STYLE.get(self.state, "bold"))
        if self.missed:
            text.append(f" ☎ {self.missed} missed ", style="bold #1a1b26 on #f7768e")
        text.append(f" {me.name} ", style="bold")
        text.append(f"({me.role}) · ext {me.extension} · {self.backend}", style="")
        if self.notice:
            text.append(f"  │ {self.notice}", style="italic")
        text.append(f"  {self._now().strftime('%H:%M:%S')}", style="dim")
        return text

    def tick(self) -> None:
        self.refresh()
