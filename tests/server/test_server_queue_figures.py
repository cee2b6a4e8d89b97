"""``cti-tui serve`` computes queue figures once per change and sends them to every session watching the
queue (docs/events.md, ``queueFigures``); sessions that do not watch it get none. Real server on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from cti_tui.assembly import queue_figures_feed
from cti_tui.engine.queue_figures import load_outcomes
from tests.server.ws_helpers import TIMEOUT, Wire, login_token

SALES = "+12025550120"
WATCHERS = 4


class FiguresWire(Wire):
    """A raw session that also keeps the ``queueFigures`` messages read while waiting for a reply."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.figures: list[dict[str, Any]] = []

    def _keep(self, message: dict[str, Any]) -> None:
        if message.get("type") == "queueFigures":
            self.figures.append(message)
        super()._keep(message)


async def open_session(base: str, email: str) -> FiguresWire:
    wire = await FiguresWire.open(base)
    await wire.start(await login_token(base, email))
    assert isinstance(wire, FiguresWire)
    return wire


async def next_figures(wire: FiguresWire, queue: str = "sales") -> dict[str, Any]:
    """The next ``queueFigures`` message for ``queue``, keeping the events read on the way."""
    while not any(m.get("queue") == queue for m in wire.figures):
        wire._keep(await wire.recv(TIMEOUT))
    found = next(m for m in wire.figures if m.get("queue") == queue)
    wire.figures.remove(found)
    return found


async def test_one_computation_reaches_every_watcher(cti_server) -> None:
    server = await cti_server(speed=1.0)  # real time: the 1-s publishing pause is short, the 15-s refresh far
    publisher = server.parts.hub.figures
    assert publisher is not None
    watchers = [await open_session(server.url, "supervisor@demo.local") for _ in range(WATCHERS)]
    bystander = await open_session(server.url, "supervisor@demo.local")
    for wire in watchers:
        reply = await wire.request("subscribe", node="queue:sales")
        assert reply["ok"], reply
        first = await next_figures(wire)  # on subscribing: the figures as they are
        assert (first["waiting"], first["windows"]["today"]["offered"]) == (0, 0)
        assert first["targetSeconds"] == 20.0  # the demo org's sales target

    computed, sent = publisher.feed.computations, publisher.sent
    leg = server.parts.provider.exchange.inbound_call("+12025551234", SALES, "Impatient Caller")
    assert leg is not None
    joined = await asyncio.gather(*(next_figures(wire) for wire in watchers))
    assert all(m == joined[0] for m in joined)
    assert (joined[0]["waiting"], joined[0]["windows"]["today"]["offered"]) == (1, 1)
    assert publisher.feed.computations - computed == 1  # once, not once per watcher
    assert publisher.sent - sent == WATCHERS

    assert server.parts.provider.exchange.remote_hangup(leg.id)
    left = await asyncio.gather(*(next_figures(wire) for wire in watchers))
    today = left[0]["windows"]["today"]
    assert (left[0]["waiting"], today["abandoned"], today["answered"], today["serviceLevel"]) == (0, 1, 0, 0.0)
    assert publisher.feed.computations - computed == 2

    await bystander.ping()  # everything the bystander was sent came before this reply: no figures among it
    assert bystander.figures == []

    def filed() -> list[object]:
        assert server.history.wait_written(TIMEOUT)
        return list(load_outcomes(server.history, ["sales"], server.clock.now().replace(hour=0, minute=0)))

    outcomes = await asyncio.to_thread(filed)
    assert [(o.call_id, o.answered) for o in outcomes] == [(leg.id, False)]
    # a server started now on the same history counts that caller before anyone asks
    rebuilt = queue_figures_feed({"sales": 20.0}, server.clock, server.history)
    assert rebuilt.figures("sales").window("today").abandoned == 1
    for wire in [*watchers, bystander]:
        await wire.close()
