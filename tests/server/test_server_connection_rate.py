"""New connections per address and second (issue 14 must-show: a logged-in client's pings during a flood of
unauthenticated connections): past the rate, a connection is dropped before a byte is read; the open ones
and the other addresses are not touched."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from limited_server import serving
from ws_helpers import open_session

from cti_tui.server.limits import ServerLimits
from cti_tui.server.transport import NewConnectionRate


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    rate = NewConnectionRate(rate=10, burst=20, clock=clock)
    assert [rate.allow("a") for _ in range(25)] == [True] * 20 + [False] * 5
    assert rate.allow("b")  # another address has its own bucket
    clock.now = 0.5  # five more have come in
    assert [rate.allow("a") for _ in range(6)] == [True] * 5 + [False]
    assert rate.dropped == 6


def test_full_buckets_are_forgotten_and_the_table_is_bounded() -> None:
    clock = Clock()
    rate = NewConnectionRate(rate=10, burst=20, max_addresses=100, clock=clock)
    for n in range(100):
        rate.allow(f"10.0.0.{n}")
    clock.now = 5.0  # every bucket is full again
    rate.allow("10.0.1.1")
    assert list(rate.buckets) == ["10.0.1.1"]
    for n in range(300):  # all busy at once: the table still keeps at most max_addresses
        rate.allow(f"10.0.2.{n}")
    assert len(rate.buckets) <= 100


@pytest.mark.parametrize("rate", [float("nan"), 0.0, -1.0])
def test_the_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="new_connections_per_second"):
        ServerLimits(new_connections_per_second=rate)


async def opened(port: int) -> bool:
    """Whether the server answers a request on a new connection (a dropped one reads EOF or a reset)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 404")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_connections_past_the_rate_are_dropped_and_a_session_goes_on() -> None:
    async with serving(ServerLimits(new_connections_per_second=5)) as server:  # bursts of 10
        port = int(server.url.rsplit(":", 1)[1])
        agent = await open_session(server.url, "agent@demo.local")  # 2 of the 10: login and socket
        try:
            answers = await asyncio.gather(*(opened(port) for _ in range(40)))
            assert 0 < answers.count(True) < 20, answers  # the burst left (8), plus a few seconds' refill at most
            assert answers.count(False) > 20
            assert server.parts.gate.rate.dropped >= answers.count(False)
            await agent.ping()  # the open session is not touched
        finally:
            await agent.close()
