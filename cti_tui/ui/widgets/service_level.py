"""The queue service-level panel: one row per watched queue, coloured by thresholds.

It draws :class:`~cti_tui.core.service_level.QueueFigures` handed down by its screen (the connector's latest
figures, from the server or a local feed); it computes nothing. The same thresholds colour the wallboard
(:mod:`cti_tui.ui.screens.wall`), so both say "bad" at the same figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from cti_tui.core.service_level import QueueFigures, WindowFigures
from cti_tui.core.text import visible
from cti_tui.ui import render

GOOD, WARN, BAD, QUIET = "bold #9ece6a", "bold #ffcc00", "bold #f7768e", "#565f89"
SL_GOOD = 80.0  # service level at or above: green
SL_WARN = 60.0  # at or above (and below SL_GOOD): amber; below: red
NO_FIGURE = "–"


def level_style(level: float | None) -> str:
    if level is None:
        return QUIET
    return GOOD if level >= SL_GOOD else WARN if level >= SL_WARN else BAD


def wait_style(seconds: float, target: float) -> str:
    """A wait past the target is red, past half of it amber."""
    return BAD if seconds > target else WARN if seconds > target / 2 else GOOD


def level_text(window: WindowFigures) -> Text:
    shown = NO_FIGURE if window.service_level is None else f"{window.service_level:.0f}%"
    return Text(shown, style=level_style(window.service_level))


def seconds_text(seconds: float | None) -> str:
    return NO_FIGURE if seconds is None else render.clock_text(seconds)


def count_text(count: int | None) -> str:
    return NO_FIGURE if count is None else str(count)


def agents_text(figures: QueueFigures, *, long: bool = False) -> str:
    """The agents' states that are known (``2 on · 3 av · 1 pa``), ``–`` when none is."""
    agents = figures.agents
    words = ("on call", "available", "paused") if long else ("on", "av", "pa")
    counts = (agents.on_call, agents.available, agents.paused)
    return " · ".join(f"{count} {word}" for count, word in zip(counts, words, strict=True) if count is not None) or (
        NO_FIGURE
    )


def live_longest(figures: QueueFigures, now: datetime) -> float:
    """The longest wait now: the figure grows with the clock while someone waits (between two messages)."""
    if not figures.waiting:
        return 0.0
    return figures.longest_waiting + max(0.0, (now - figures.at).total_seconds())


def queue_label(figures: QueueFigures, names: Mapping[str, str]) -> str:
    return visible(names.get(figures.queue, figures.queue))


class ServiceLevelPanel(Static):
    """Today's and the last quarter-hour's service level of each watched queue."""

    DEFAULT_CSS = """
    ServiceLevelPanel { height: auto; }
    """

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now
        self.figures: dict[str, QueueFigures] = {}
        self.names: dict[str, str] = {}
        self.border_title = "Queues · service level"

    def show_figures(self, figures: QueueFigures) -> None:
        self.figures[figures.queue] = figures
        self.redraw()

    def keep_only(self, queues: set[str]) -> None:
        """Forget the queues no longer watched."""
        if set(self.figures) - queues:
            self.figures = {q: f for q, f in self.figures.items() if q in queues}
            self.redraw()

    def tick(self) -> None:
        """Waits grow with the clock: redrawn each second while someone waits."""
        if any(f.waiting for f in self.figures.values()):
            self.redraw()

    def redraw(self) -> None:
        self.display = bool(self.figures)
        self.update(self.table())

    def table(self) -> Table:
        table = Table(box=None, expand=True, padding=(0, 1), header_style="bold")
        for title, justify in (
            ("Queue", "left"),
            ("Wait", "right"),
            ("Longest", "right"),
            ("SL", "right"),
            ("SL 15m", "right"),
            ("Offered", "right"),
            ("Ans", "right"),
            ("Aband", "right"),
            ("Avg wait", "right"),
            ("Agents", "right"),
        ):
            table.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        now = self.now()
        for queue in sorted(self.figures):
            figures = self.figures[queue]
            longest = live_longest(figures, now)
            today = figures.window("today")
            target = figures.target_seconds
            table.add_row(
                Text(queue_label(figures, self.names), overflow="ellipsis"),
                Text(str(figures.waiting), style=WARN if figures.waiting else ""),
                Text(render.clock_text(longest), style=wait_style(longest, target)),
                level_text(today),
                level_text(figures.window("15m")),
                str(today.offered),
                str(today.answered),
                Text(str(today.abandoned), style=BAD if today.abandoned else ""),
                seconds_text(today.average_wait),
                agents_text(figures),
            )
        return table
