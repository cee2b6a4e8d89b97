"""After-call work: the form where the agent picks a disposition and writes a note while wrap-up counts down.

Codes come from the organisation (through the agent's :class:`Availability`); the note is free text, kept as
typed (plain text, never markup). The answer is ``(code, note)``, or None when the agent closes the form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from cti_tui.core.availability import MAX_NOTE_CHARS, AgentState, Availability, clock_text


class WrapUpModal(ModalScreen[object]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="wrap_up.cancel")]
    DEFAULT_CSS = """
    WrapUpModal { align: center middle; }
    WrapUpModal > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    WrapUpModal .title { text-style: bold; }
    WrapUpModal #countdown { color: $warning; padding: 0 0 1 0; }
    WrapUpModal .error { color: $error; height: auto; }
    WrapUpModal OptionList { height: auto; max-height: 8; }
    WrapUpModal Horizontal { height: auto; align-horizontal: right; }
    """

    def __init__(self, agent: Availability, call_label: str, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.agent = agent
        self.call_label = call_label
        self._now = now

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Wrap-up: {self.call_label}", classes="title", markup=False)
            yield Label(self._countdown(), id="countdown", markup=False)
            yield OptionList(
                *(Option(code, id=code) for code in self.agent.dispositions),
                id="dispositions",
            )
            yield Input(value=self.agent.note, placeholder="note (optional)", max_length=MAX_NOTE_CHARS, id="note")
            yield Label("", id="error", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        options = self.query_one("#dispositions", OptionList)
        if self.agent.disposition in self.agent.dispositions:
            options.highlighted = self.agent.dispositions.index(self.agent.disposition)
        options.focus()
        self.set_interval(1.0, self.tick)

    def _countdown(self) -> str:
        if self.agent.state is AgentState.WRAP_UP:
            return f"{clock_text(self.agent.wrap_up_left(self._now()))} left · R: ready now"
        return "wrap-up is over: the disposition is still saved with the call"

    def tick(self) -> None:
        self.query_one("#countdown", Label).update(self._countdown())

    def agent_changed(self, agent: Availability) -> None:
        """The agent's state moved on (countdown over, or ready): the form stays, its countdown follows."""
        self.agent = agent
        self.tick()

    @on(OptionList.OptionSelected, "#dispositions")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted, "#note")
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        options = self.query_one("#dispositions", OptionList)
        index = options.highlighted
        if index is None:
            self.query_one("#error", Label).update("pick a disposition")
            options.focus()
            return
        code = self.agent.dispositions[index]
        self.dismiss((code, self.query_one("#note", Input).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
