"""The ``queueFigures`` server message: one queue's service-level figures, camelCase on the wire.

Not an event: it carries no ``seq`` and is not replayed. It is state, and the next one replaces it; a client
that restores its session gets the current figures of the queues it watches at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cti_tui.core.service_level import WINDOWS, AgentCounts, QueueFigures, WindowFigures

MESSAGE_TYPE = "queueFigures"


class FiguresError(ValueError):
    """A ``queueFigures`` message that cannot be read."""


def _window_to_wire(window: WindowFigures) -> dict[str, Any]:
    return {
        "offered": window.offered,
        "answered": window.answered,
        "abandoned": window.abandoned,
        "answeredInTarget": window.answered_in_target,
        "serviceLevel": window.service_level,
        "averageWait": window.average_wait,
        "longestWait": window.longest_wait,
        "averageAbandon": window.average_abandon,
        "longestAbandon": window.longest_abandon,
    }


def figures_to_wire(figures: QueueFigures) -> dict[str, Any]:
    return {
        "type": MESSAGE_TYPE,
        "queue": figures.queue,
        "targetSeconds": figures.target_seconds,
        "waiting": figures.waiting,
        "longestWaiting": figures.longest_waiting,
        "at": figures.at.isoformat(),
        "agents": {
            "available": figures.agents.available,
            "onCall": figures.agents.on_call,
            "paused": figures.agents.paused,
        },
        "windows": {name: _window_to_wire(window) for name, window in figures.windows.items()},
    }


def _count(data: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FiguresError(f'"{key}" must be a count')
    return value


def _seconds(data: dict[str, Any], key: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise FiguresError(f'"{key}" must be a number of seconds')
    return float(value)


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise FiguresError(f'"{key}" must be an object')
    return value


def _window_from_wire(data: dict[str, Any]) -> WindowFigures:
    level = _seconds(data, "serviceLevel", optional=True)
    if level is not None and level > 100:
        raise FiguresError('"serviceLevel" is a percentage')
    return WindowFigures(
        offered=_count(data, "offered"),
        answered=_count(data, "answered"),
        abandoned=_count(data, "abandoned"),
        answered_in_target=_count(data, "answeredInTarget"),
        service_level=level,
        average_wait=_seconds(data, "averageWait", optional=True),
        longest_wait=_seconds(data, "longestWait"),
        average_abandon=_seconds(data, "averageAbandon", optional=True),
        longest_abandon=_seconds(data, "longestAbandon"),
    )


def figures_from_wire(data: dict[str, Any]) -> QueueFigures:
    """The figures a server sent; :class:`FiguresError` for anything malformed (nothing half-read)."""
    queue = data.get("queue")
    if not isinstance(queue, str) or not queue or len(queue) > 200:
        raise FiguresError('"queue" must be a queue id')
    at = data.get("at")
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FiguresError('"at" must be an ISO-8601 time with its zone')
    agents = _object(data, "agents")
    windows = _object(data, "windows")
    return QueueFigures(
        queue=queue,
        target_seconds=_seconds(data, "targetSeconds"),
        waiting=_count(data, "waiting"),
        longest_waiting=_seconds(data, "longestWaiting"),
        windows={name: _window_from_wire(_object(windows, name)) for name, _ in WINDOWS},
        agents=AgentCounts(
            _count(agents, "available", optional=True),
            _count(agents, "onCall", optional=True),
            _count(agents, "paused", optional=True),
        ),
        at=moment,
    )
