"""The ``queueFigures`` message: what the server sends reads back the same; anything malformed is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cti_tui.core.clock import VirtualClock
from cti_tui.core.service_level import ServiceLevelBook
from cti_tui.protocol.queue_figures import FiguresError, figures_from_wire, figures_to_wire
from tests.core.test_service_level import _shift_book


def test_figures_survive_the_wire() -> None:
    book, clock = _shift_book()
    figures = book.figures("sales", clock.now())
    assert figures_from_wire(json.loads(json.dumps(figures_to_wire(figures)))) == figures


def test_empty_figures_survive_the_wire() -> None:
    clock = VirtualClock()
    figures = ServiceLevelBook().figures("support", clock.now())
    assert figures_from_wire(figures_to_wire(figures)) == figures


def _sent() -> dict[str, Any]:
    clock = VirtualClock()
    return figures_to_wire(ServiceLevelBook().figures("sales", clock.now()))


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("queue",), "", '"queue"'),
        (("waiting",), -1, '"waiting"'),
        (("waiting",), True, '"waiting"'),
        (("longestWaiting",), float("nan"), '"longestWaiting"'),
        (("at",), "yesterday", '"at"'),
        (("at",), "2026-01-05T09:00:00", '"at"'),
        (("agents",), None, '"agents"'),
        (("windows", "15m"), None, '"15m"'),
        (("windows", "today", "serviceLevel"), 101, '"serviceLevel"'),
        (("windows", "60m", "averageWait"), "10", '"averageWait"'),
    ],
)
def test_malformed_figures_are_refused(path: tuple[str, ...], value: object, complaint: str) -> None:
    message = _sent()
    target = message
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(FiguresError, match=complaint):
        figures_from_wire(message)
