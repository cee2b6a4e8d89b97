"""Who is calling ("screen pop"): while a call rings on the agent's line, a panel over the lower panes with
the caller's contact (CSV and vCard files from config.toml), a link to the caller's CRM page, and the last
calls with that number from history.

Contacts are read once, on a worker thread; the history is asked through the typed query service, on a
worker thread too (a search of a large history takes a while, and the loop carries the calls). Everything
shown from a file or a caller is plain text, never markup.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from rich.style import Style
from rich.text import Text
from textual import work
from textual.widgets import Static

from cti_tui.config import read_contacts
from cti_tui.core.contacts import Contact, ContactBook, normalise
from cti_tui.core.history import CallHistory, HistoryError, HistoryRow
from cti_tui.core.model import Call, CallStatus, Direction
from cti_tui.core.numbers import format_for_display
from cti_tui.core.text import visible
from cti_tui.ui import render

LAST_CALLS = 3
WRITE_WAIT = 2.0  # seconds the lookup waits for the history writer at most


@dataclass(frozen=True, slots=True)
class PopSettings:
    contacts: tuple[str, ...] = ()  # CSV and vCard files
    crm_url: str | None = None  # "{number}" becomes the caller's E.164 number
    region: str | None = None  # for numbers written without their country code in the files


def crm_link(template: str | None, number: str, region: str | None = None) -> str | None:
    if not template or not number:
        return None
    return template.replace("{number}", quote(normalise(number, region) or number, safe=""))


def pop_text(
    call: Call, contact: Contact | None, link: str | None, last: list[HistoryRow] | None, loading: bool
) -> Text:
    """The panel: who (the contact, or what the network says), the CRM link, the last calls."""
    text = Text()
    if contact is not None:
        text.append(visible(contact.name) + "\n", style="bold")
        about = " · ".join(visible(part) for part in (contact.company, contact.note) if part)
        if about:
            text.append(about + "\n")
    else:
        text.append((call.party_name or "Unknown caller") + "\n", style="bold")
        text.append("not in your contacts\n", style="dim")
    text.append(format_for_display(call.party) or "anonymous", style="#7dcfff")
    if call.via:
        text.append(f"  via {call.via}", style="bold #7dcfff")
    text.append("\n")
    if link:
        text.append("CRM page\n", style="dim")  # the link on a line of its own: it folds, never wraps at a space
        text.append(link + "\n", style=Style(link=link, underline=True))
    text.append("Last calls\n", style="bold")
    if last is None:
        text.append("looking…\n" if loading else "no history\n", style="dim")
    elif not last:
        text.append("none before\n", style="dim")
    for row in last or []:
        when = row.setup_at.strftime("%d %b %H:%M") if row.setup_at else "?"
        talk = render.clock_text(row.talk_seconds) if row.talk_seconds else ""
        text.append(f" {when}  ", style="dim")
        text.append(f"{row.outcome.value:<11}", style="")
        text.append(f" {talk}\n", style="dim")
    text.rstrip()
    return text


class ScreenPop(Static):
    """Shown while a call rings on ``owner``'s line (the newest one), hidden otherwise."""

    DEFAULT_CSS = """
    ScreenPop {
        layer: pop; dock: right; display: none;
        width: 44; max-width: 60%; height: auto; max-height: 100%;
        border: round #ffcc00; border-title-color: #ffcc00; border-title-style: bold;
        background: $surface; padding: 0 1;
    }
    ScreenPop.-shown { display: block; }
    """

    def __init__(
        self, settings: PopSettings, history: CallHistory | None, owner: str, *, id: str | None = None
    ) -> None:
        super().__init__("", id=id, markup=False)
        self.settings = settings
        self.history = history
        self.owner = owner
        self.book = ContactBook()
        self.call: Call | None = None
        self._last: list[HistoryRow] | None = None

    def on_mount(self) -> None:
        self.border_title = "☎ Who is calling"
        if self.settings.contacts:
            self._load_contacts()

    @work(thread=True, group="contacts")
    def _load_contacts(self) -> None:
        book, problems = read_contacts(list(self.settings.contacts), self.settings.region)
        self.app.call_from_thread(self._contacts_loaded, book, problems)

    def _contacts_loaded(self, book: ContactBook, problems: list[str]) -> None:
        self.book = book
        for problem in problems:
            self.notify(problem, title="Contacts", severity="warning", timeout=10, markup=False)
        self._draw()

    def follow(self, calls: list[Call]) -> None:
        """Show the newest call ringing in on the owner's line, or hide when none does."""
        ringing = [
            c
            for c in calls
            if c.line == self.owner and c.status is CallStatus.RINGING and c.direction is Direction.INBOUND
        ]
        call = ringing[-1] if ringing else None
        if call is None:
            self.call = None
            self.remove_class("-shown")
            return
        new_caller = self.call is None or self.call.id != call.id
        self.call = call
        if new_caller:
            self._last = None
            self._place()
            self.add_class("-shown")
            if self.history is not None and call.party:
                self._look_up(call.id, call.party)
        self._draw()

    def _place(self) -> None:
        """Over the panes below the calls: the ringing row itself stays in view."""
        calls = self.screen.query("#calls")
        top = calls.first().region.bottom if calls else 1
        self.styles.margin = (max(1, top), 0, 0, 0)

    @work(group="screen-pop", exclusive=True)
    async def _look_up(self, call_id: str, number: str) -> None:
        history = self.history
        assert history is not None

        def ask() -> list[HistoryRow]:
            history.wait_written(WRITE_WAIT)  # a call that ended just before this one rang is in the answer
            return history.query(self.owner, search=number, limit=LAST_CALLS + 1).rows

        try:
            rows = await asyncio.to_thread(ask)
        except HistoryError:
            return
        if self.call is not None and self.call.id == call_id:
            self._last = [row for row in rows if row.id != call_id][:LAST_CALLS]
            self._draw()

    def _draw(self) -> None:
        call = self.call
        if call is None:
            return
        contact = self.book.find(call.party) if call.party else None
        link = crm_link(self.settings.crm_url, call.party, self.settings.region)
        self.update(pop_text(call, contact, link, self._last, loading=self.history is not None))
