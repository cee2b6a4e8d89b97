"""Shared fixtures: a demo PBX on virtual time with the outside world quiet unless a test wakes it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.core.clock import VirtualClock
from cti_tui.core.model import ActivityEvent, ActivityName, Call, CallEvent, Event
from cti_tui.engine.connector import Connector
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
        return [e for e in self.events if isinstance(e, CallEvent) and (call_id is None or e.call.id == call_id)]

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


# --- the app ------------------------------------------------------------------------------------------------

from scenes import settle, type_login  # noqa: E402, F401 - settle is shared with the tests

from cti_tui.credentials import MemoryKeyring  # noqa: E402


@pytest.fixture
def make_app(tmp_path):
    """Build the real app on virtual time: quiet demo org, temp history, in-memory keyring, no bell."""
    from cti_tui.assembly import build_app
    from cti_tui.config import AppConfig
    from cti_tui.credentials import CredentialStore

    def make(
        *,
        org: Organisation | None = None,
        keyring_backend=None,
        config: AppConfig | None = None,
        remember_email: bool = False,
        **kw,
    ):
        clock = VirtualClock()
        app = build_app(
            org=org or quiet_demo(),
            clock=clock,
            traffic=False,
            history_path=tmp_path / "history.sqlite3",
            credentials=CredentialStore(keyring_backend if keyring_backend is not None else MemoryKeyring()),
            config=config or AppConfig(bell=False, flash=False),
            remember_email=remember_email,
            **{"watched_path": tmp_path / "watched-lines.json", **kw},
        )
        return app

    return make


async def log_in(pilot, email: str = "agent@demo.local", password: str = "demo") -> None:
    """Fill the login form as a person would and wait for the dashboard (the scenes' own way)."""
    await type_login(pilot, email, password)


# --- the CTI server on loopback -----------------------------------------------------------------------------


@dataclass
class RunningServer:
    url: str
    parts: object
    clock: object
    history: object = None

    @property
    def hub(self):
        return self.parts.hub  # type: ignore[attr-defined]

    @property
    def exchange(self) -> Exchange:
        return self.parts.exchange  # type: ignore[attr-defined]


@pytest.fixture
async def cti_server(tmp_path):
    """`cti-tui serve` in-process on 127.0.0.1 (a free port), quiet demo org, real time x20, history on."""
    import asyncio

    from cti_tui.assembly import make_server, open_pbx
    from cti_tui.backends.registry import BackendOptions
    from cti_tui.core.clock import RealClock
    from cti_tui.server.run import bound_socket
    from cti_tui.store.history import HistoryStore

    async def start(
        grace_seconds: float = 300.0, speed: float = 20.0, pbx: object = None, **world: object
    ) -> RunningServer:
        """``pbx``: a provider to serve (its clock real time x ``speed``); default the quiet demo by name."""
        clock = RealClock(speed=speed)
        history = HistoryStore(tmp_path / f"server-history-{len(started)}.sqlite3")
        if pbx is None:
            pbx = open_pbx("embedded", BackendOptions(clock=clock, org=quiet_demo(**world), traffic=False))
        parts = make_server(pbx, clock, history=history, grace_seconds=grace_seconds)
        sock = bound_socket()
        task = asyncio.create_task(parts.server.serve(sockets=[sock]))
        for _ in range(500):
            if parts.server.started:
                break
            await asyncio.sleep(0.01)
        assert parts.server.started, "server did not start"
        started.append((parts, task, history))
        return RunningServer(f"http://127.0.0.1:{sock.getsockname()[1]}", parts, clock, history)

    started: list = []
    yield start
    for parts, task, history in started:
        parts.server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        history.close()


async def until(pilot, predicate, what: str, timeout: float = 15.0) -> None:
    """Poll the app until ``predicate()`` holds (real processes or servers answer on their own time)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
