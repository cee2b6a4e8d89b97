"""Regenerate the pictures in screenshots/ from the running product (deterministic: virtual time, seed 7).

    python3 screenshots/generate.py

Today it shows what `cti-tui` prints on first start (the headless JSON-lines mode, until the dashboard
lands): the demo agent logs in, watches queue:sales, and the seeded demo world sends its first calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from cti_tui.engine.backends.embedded import EmbeddedBackend
from cti_tui.engine.clock import VirtualClock
from cti_tui.engine.connector import Connector
from cti_tui.engine.model import Event
from cti_tui.engine.wire import event_to_wire
from cti_tui.pbx.org import load_demo
from cti_tui.pbx.runtime import start_exchange

HERE = Path(__file__).parent


async def first_events(count: int = 14) -> list[Event]:
    clock = VirtualClock()
    org = load_demo()
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, inbound_per_minute=8.0))
    exchange = start_exchange(org, clock)
    connector = Connector(EmbeddedBackend(exchange))
    events: list[Event] = []
    connector.add_listener(events.append)
    await connector.login("agent@demo.local", "demo")
    await connector.subscribe("queue:sales")
    while len(events) < count:
        clock.advance(1)
    return events[:count]


def main() -> None:
    events = asyncio.run(first_events())
    console = Console(
        record=True, width=140, force_terminal=True, color_system="truecolor", file=io.StringIO()
    )
    console.print(Text("$ cti-tui", style="bold"))
    for event in events:
        console.print(
            Text(json.dumps(event_to_wire(event), ensure_ascii=False, separators=(",", ":"))), overflow="fold"
        )
    console.save_svg(str(HERE / "headless-first-start.svg"), title="cti-tui — first start (headless mode)")


if __name__ == "__main__":
    main()
