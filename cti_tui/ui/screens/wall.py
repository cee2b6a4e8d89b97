"""``cti-tui wall``: a read-only, full-screen wallboard of queue service levels, for a TV or a spare terminal.

One card per queue with the figures a room reads from across it in large digits — today's service level,
callers waiting, the longest wait — coloured by the panel's thresholds, and the detail in one line below.
It watches the queues it shows (all the directory's, or those named) and does nothing else: no call keys;
``q`` quits. The figures come from the connector (the server's, or the app's local feed), as in the panel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Digits, Label, Static

from cti_tui.core.model import EntryKind
from cti_tui.core.results import Refused
from cti_tui.core.service_level import QueueFigures
from cti_tui.core.text import visible
from cti_tui.engine.connector import Connector
from cti_tui.ui import render
from cti_tui.ui.widgets.service_level import (
    GOOD,
    NO_FIGURE,
    QUIET,
    WARN,
    agents_text,
    level_style,
    live_longest,
    seconds_text,
    wait_style,
)


def _colour(style: str) -> str:
    return style.split()[-1]  # the colour of a "bold #rrggbb" style, for a widget's CSS colour


def _percent(level: float | None) -> str:
    return f"{level:.0f}%" if level is not None else NO_FIGURE


class Figure(Vertical):
    """A large number with its caption underneath."""

    def __init__(self, caption: str, classes: str) -> None:
        super().__init__(classes=f"figure {classes}")
        self.caption = caption

    def compose(self) -> ComposeResult:
        yield Digits("--")
        yield Label(self.caption, classes="caption")

    def set(self, value: str, colour: str) -> None:
        digits = self.query_one(Digits)
        digits.update(value)
        digits.styles.color = colour


class QueueCard(Vertical):
    """One queue's figures."""

    def __init__(self, queue: str, name: str) -> None:
        super().__init__(classes="card", id=f"card-{queue}")
        self.queue = queue
        self.figures: QueueFigures | None = None
        self.border_title = visible(name)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="figures"):
            yield Figure("service level % today", "level")
            yield Figure("waiting", "waiting")
            yield Figure("longest wait", "longest")
        yield Static(f"{NO_FIGURE}", classes="detail")

    def show(self, figures: QueueFigures) -> None:
        self.figures = figures
        self.tick(figures.at)
        today, last15, last60 = figures.window("today"), figures.window("15m"), figures.window("60m")
        level = today.service_level
        self.query_one(".level", Figure).set(NO_FIGURE * 2 if level is None else f"{level:.0f}", _level_colour(level))
        self.query_one(".waiting", Figure).set(str(figures.waiting), _colour(WARN if figures.waiting else GOOD))
        abandon = f" (avg {seconds_text(today.average_abandon)})" if today.abandoned else ""
        self.query_one(".detail", Static).update(
            f"SL 15m {_percent(last15.service_level)} · 60m {_percent(last60.service_level)} · "
            f"target {figures.target_seconds:.0f} s\n"
            f"offered {today.offered} · answered {today.answered} · abandoned {today.abandoned}{abandon}\n"
            f"avg wait {seconds_text(today.average_wait)} · agents {agents_text(figures, long=True)}"
        )

    def tick(self, now: datetime) -> None:
        """The longest wait, grown with the clock since the figures were computed."""
        figures = self.figures
        if figures is not None:
            longest = live_longest(figures, now)
            self.query_one(".longest", Figure).set(
                render.clock_text(longest), _colour(wait_style(longest, figures.target_seconds))
            )


def _level_colour(level: float | None) -> str:
    return _colour(level_style(level)) if level is not None else _colour(QUIET)


class WallScreen(Screen[None]):
    """Every queue (or ``queues``) in large figures; read-only."""

    DEFAULT_CSS = """
    WallScreen { layout: vertical; }
    #wall-title { height: 1; background: $panel; text-style: bold; }
    #wall { height: 1fr; grid-gutter: 0 1; grid-rows: auto; }
    QueueCard {
        height: auto; border: round $primary; border-title-style: bold; border-title-align: center; padding: 0 1;
    }
    QueueCard .figures { height: auto; }
    QueueCard .figure { width: 1fr; height: auto; align-horizontal: center; }
    QueueCard .figure Digits { width: auto; }
    QueueCard .caption { color: $text-muted; width: auto; }
    QueueCard .detail { height: auto; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="cti.wall.quit")]

    def __init__(
        self, connector: Connector, *, now: Callable[[], datetime], queues: Iterable[str] = (), backend_label: str = ""
    ) -> None:
        super().__init__()
        self.connector = connector
        self.now = now
        self.wanted = tuple(queues)
        self.backend_label = backend_label
        self.cards: dict[str, QueueCard] = {}
        self.problem = ""  # why a queue shows no figures, said in the title line

    def compose(self) -> ComposeResult:
        yield Static("", id="wall-title")
        yield Grid(id="wall")

    async def on_mount(self) -> None:
        directory = await self.connector.directory()
        names = {e.node.removeprefix("queue:"): e.name for e in directory if e.kind is EntryKind.QUEUE}
        queues = list(self.wanted) or sorted(names, key=lambda q: names[q].lower())
        grid = self.query_one("#wall", Grid)
        grid.styles.grid_size_columns = 1 if len(queues) < 2 or self.size.width < 100 else 2
        for queue in queues:
            self.cards[queue] = QueueCard(queue, names.get(queue, queue))
        await grid.mount_all(self.cards.values())
        self._remove_listener = self.connector.add_figures_listener(self._figures)
        for figures in self.connector.queue_figures().values():
            self._figures(figures)
        subscribed = set(self.connector.subscriptions())
        for queue in queues:
            if f"queue:{queue}" not in subscribed:
                outcome = await self.connector.subscribe(f"queue:{queue}")
                if isinstance(outcome, Refused) and not self.problem:
                    self.problem = outcome.message  # e.g. an agent may not watch queues, or no such queue
        if not queues:
            self.problem = "no queues to show"
        self.tick()
        self.set_interval(1.0, self.tick)

    def on_unmount(self) -> None:
        remove = getattr(self, "_remove_listener", None)
        if remove:
            remove()

    def tick(self) -> None:
        """Once a second: the clock in the title, and the waits growing."""
        self._title()
        now = self.now()
        for card in self.cards.values():
            card.tick(now)

    def _title(self) -> None:
        identity = self.connector.identity
        who = identity.name if identity else ""
        clock = self.now().strftime("%H:%M:%S")
        problem = f" · {visible(self.problem)}" if self.problem else ""
        self.query_one("#wall-title", Static).update(
            f" cti-tui wall · {visible(who)} · {self.backend_label} · {clock}{problem}"
        )

    def _figures(self, figures: QueueFigures) -> None:
        card = self.cards.get(figures.queue)
        if card is not None:
            card.show(figures)

    def action_quit(self) -> None:
        self.app.exit()
