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


def test_a_live_client_hands_the_figures_on_and_refuses_bad_ones() -> None:
    from test_session_client import live_client

    from cti_tui.core import commands as cmd
    from cti_tui.protocol import session as protocol

    client = live_client()
    book, clock = _shift_book()
    figures = book.figures("sales", clock.now())
    assert client.receive(protocol.encode(figures_to_wire(figures))) == [cmd.QueueFiguresUpdate(figures)]
    broken = {**figures_to_wire(figures), "waiting": "many"}
    with pytest.raises(protocol.MessageError, match="queueFigures"):
        client.receive(protocol.encode(broken))
    assert client.live and client.last_seq == 7  # state, not an event: the sequence is untouched
