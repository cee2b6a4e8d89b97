"""The dashboard's dialogs. Each returns its answer with ``dismiss`` (None when cancelled) and validates
what it can before anything is sent: a destination is checked with the engine's number rules.

Every string shown here may come from a user or a backend (a typed number, a caller's name): it is plain text,
never markup (``[/x]`` typed into the dial dialog crashed the app).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from cti_tui.core.model import Call, DirectoryEntry
from cti_tui.core.numbers import InvalidNumber, format_for_display, parse_destination
from cti_tui.ui import render


class _Modal(ModalScreen[object]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="modal.cancel")]
    DEFAULT_CSS = """
    _Modal { align: center middle; }
    _Modal > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    _Modal .title { text-style: bold; width: 100%; padding: 0 0 1 0; }
    _Modal .error { color: $error; width: 100%; height: auto; }
    _Modal OptionList { height: auto; max-height: 12; }
    _Modal Horizontal { height: auto; align-horizontal: right; }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)


class DestinationModal(_Modal):
    """Type a number or pick from the directory; the answer is a validated destination."""

    def __init__(
        self, title: str, directory: list[DirectoryEntry], *, default_region: str | None = None, sip_uris: bool = False
    ) -> None:
        super().__init__()
        self.title_text = title
        self.directory = [e for e in directory if e.kind.value != "callpark"]
        self.default_region = default_region
        self.sip_uris = sip_uris

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            yield Input(placeholder="+1 202 555 0143, an extension, or a name", id="destination")
            yield Label("", id="error", classes="error", markup=False)
            yield OptionList(*self._options(""), id="directory")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("OK", id="ok", variant="primary")

    def _options(self, text: str) -> list[Option]:
        needle = text.strip().lower()
        return [
            Option(Text.assemble((f"{e.number:>6}  ", "bold"), e.name, (f"  {e.node}", "dim")), id=e.number)
            for e in self.directory
            if not needle or needle in e.name.lower() or e.number.startswith(needle)
        ]

    @on(Input.Changed, "#destination")
    def _filter(self, event: Input.Changed) -> None:
        options = self.query_one("#directory", OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        self.query_one("#error", Label).update("")

    @on(OptionList.OptionSelected, "#directory")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Input.Submitted, "#destination")
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        text = self.query_one("#destination", Input).value
        try:
            self.dismiss(parse_destination(text, self.default_region, sip_uris=self.sip_uris).number)
        except InvalidNumber as exc:
            matches = self._options(text)
            if len(matches) == 1 and text.strip() and text.strip()[0] not in "+0123456789":
                self.dismiss(matches[0].id)
                return
            self.query_one("#error", Label).update(f"✕ {exc}")
            self.query_one("#destination", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)


class ChoiceModal(_Modal):
    """Pick one option (park slot, parked call, call to merge with, line to subscribe to)."""

    def __init__(self, title: str, options: list[tuple[str, Text | str]], *, empty: str = "nothing to pick") -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title", markup=False)
            if self.options:
                yield OptionList(
                    *[Option(Text(label) if isinstance(label, str) else label, id=key) for key, label in self.options],
                    id="choices",
                )
            else:
                yield Label(self.empty, classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")

    @on(OptionList.OptionSelected, "#choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)


class DigitsModal(_Modal):
    """DTMF digits: 0-9 * # A-D."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Send tones (0-9 * # A-D)", classes="title")
            yield Input(placeholder="e.g. 1234#", id="digits", restrict=r"[0-9*#A-Da-d]*", max_length=32)
            yield Label("", id="error", classes="error", markup=False)

    @on(Input.Submitted, "#digits")
    def _submit(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one("#error", Label).update("✕ type at least one digit")
            return
        self.dismiss(event.value.upper())


class ConfirmModal(_Modal):
    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, classes="title", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self.yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _no(self) -> None:
        self.dismiss(False)


def park_options(slots: int, parked: list[Call]) -> list[tuple[str, Text | str]]:
    taken = {c.park_slot: c for c in parked if c.park_slot is not None}
    options: list[tuple[str, Text | str]] = [("first", Text("first free slot", style="bold"))]
    for slot in range(1, slots + 1):
        if slot in taken:
            continue
        options.append((str(slot), f"slot {slot}"))
    return options


def parked_options(parked: list[Call]) -> list[tuple[str, Text | str]]:
    return [
        (
            str(call.park_slot),
            Text.assemble((f"slot {call.park_slot:<3} ", "bold #bb9af7"), render.party_text(call)),
        )
        for call in sorted(parked, key=lambda c: c.park_slot or 0)
        if call.park_slot is not None
    ]


def call_options(calls: list[Call]) -> list[tuple[str, Text | str]]:
    return [
        (
            call.id,
            Text.assemble(render.status_badge(call), " ", format_for_display(call.party), f"  {call.party_name}"),
        )
        for call in calls
    ]
