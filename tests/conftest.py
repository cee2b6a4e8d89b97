"""Shared fixtures: a demo PBX on virtual time with the outside world quiet unless a test wakes it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from cti_tui.engine.backends.embedded import EmbeddedBackend
from cti_tui.engine.clock import VirtualClock
from cti_tui.engine.connector import Connector
from cti_tui.engine.model import ActivityEvent, ActivityName, Call, CallEvent, Event
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.org import Organisation, load_demo

os.environ.pop("NO_COLOR", None)


def quiet_demo(**world: object) -> Organisation:
    """The demo organisation with no random callers and no simulated colleagues (unless asked)."""
    org = load_demo()
    settings = {"inbound_per_minute": 0.0, "colleagues": False, **world}
    return dataclasses.replace(org, world=dataclasses.replace(org.world, **settings))


@dataclass
class Agent:
    """A logged-in connector and every event it has received."""

    connector: Connector
    events: list[Event] = field(default_factory=list)

    def call_events(self, call_id: str | None = None) -> list[CallEvent]:
        return [
            e for e in self.events if isinstance(e, CallEvent) and (call_id is None or e.call.id == call_id)
        ]

    def names(self, call_id: str) -> list[str]:
        return [e.name.value for e in self.call_events(call_id)]

    def activities(self, name: ActivityName | None = None) -> list[ActivityEvent]:
        return [e for e in self.events if isinstance(e, ActivityEvent) and (name is None or e.name is name)]

    def last(self, call_id: str) -> Call:
        return self.call_events(call_id)[-1].call

    def clear(self) -> None:
        self.events.clear()

    def ringing(self) -> list[Call]:
        return [c for c in self.connector.active_calls() if c.status.value == "RINGING"]


@dataclass
class Pbx:
    clock: VirtualClock
    exchange: Exchange

    def connector(self) -> tuple[Connector, list[Event]]:
        connector = Connector(EmbeddedBackend(self.exchange))
        events: list[Event] = []
        connector.add_listener(events.append)
        return connector, events

    async def login(self, email: str = "agent@demo.local", password: str = "demo") -> Agent:
        connector, events = self.connector()
        assert await connector.login(email, password), events
        return Agent(connector, events)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


@pytest.fixture
def pbx_factory() -> Callable[..., Pbx]:
    def make(org: Organisation | None = None, **world: object) -> Pbx:
        clock = VirtualClock()
        return Pbx(clock, Exchange(org or quiet_demo(**world), clock))

    return make


@pytest.fixture
def pbx(pbx_factory: Callable[..., Pbx]) -> Pbx:
    return pbx_factory()
