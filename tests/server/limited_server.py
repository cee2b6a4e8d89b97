"""``cti-tui serve`` in-process on 127.0.0.1 with the limits and hub options a test gives (``cti_server`` takes
neither): ``async with serving(limits=ServerLimits(max_connections=4)) as server: ...``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from conftest import RunningServer, quiet_demo

from cti_tui.assembly import make_server, open_pbx
from cti_tui.backends.registry import BackendOptions
from cti_tui.core.clock import RealClock
from cti_tui.pbx.org import Organisation
from cti_tui.server.limits import ServerLimits
from cti_tui.server.run import bound_socket


@contextlib.asynccontextmanager
async def serving(
    limits: ServerLimits | None = None,
    *,
    org: Organisation | None = None,
    speed: float = 1.0,
    **hub_options: Any,
) -> AsyncIterator[RunningServer]:
    clock = RealClock(speed=speed)
    pbx = open_pbx("embedded", BackendOptions(clock=clock, org=org or quiet_demo(), traffic=False))
    parts = make_server(pbx, clock, limits=limits, **hub_options)
    sock = bound_socket()
    task = asyncio.create_task(parts.server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if parts.server.started:
                break
            await asyncio.sleep(0.01)
        assert parts.server.started, "server did not start"
        yield RunningServer(f"http://127.0.0.1:{sock.getsockname()[1]}", parts, clock)
    finally:
        parts.server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
