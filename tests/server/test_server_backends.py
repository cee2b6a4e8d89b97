"""`cti-tui serve` fronts whatever PBX it is given by name: the hub gets a backend factory and an
authenticator, never the PBX object, so any provider that vouches for many users can be served."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

from conftest import quiet_demo
from test_server_basics import connect, wait_for

from cti_tui.assembly import open_pbx
from cti_tui.backends.registry import BackendOptions, Provider
from cti_tui.core import commands as cmd
from cti_tui.core.backend import Authenticator, Backend, ReportSink
from cti_tui.core.clock import RealClock
from cti_tui.core.model import DirectoryEntry
from cti_tui.pbx.exchange import Exchange


class RelayBackend:
    """A second adapter in front of another backend: forwards everything and counts the commands."""

    def __init__(self, inner: Backend, executed: list[cmd.Command]) -> None:
        self.inner = inner
        self.executed = executed
        self.name = "relay"
        self.capabilities = inner.capabilities

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        return await self.inner.login(credentials)

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return await self.inner.two_factor_auth(nonce, code)

    async def open(self, sink: ReportSink) -> None:
        await self.inner.open(sink)

    async def close(self) -> None:
        await self.inner.close()

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        self.executed.append(command)
        return await self.inner.execute(command)

    async def directory(self) -> list[DirectoryEntry]:
        return await self.inner.directory()

    def now(self) -> datetime:
        return self.inner.now()


class RelayProvider:
    """A provider that is not the embedded one: the server must not notice the difference."""

    name = "relay"
    label = "relay to the demo PBX"

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.executed: list[cmd.Command] = []

    @property
    def authenticator(self) -> Authenticator | None:
        return self.inner.authenticator

    def prepare(self) -> None:
        self.inner.prepare()

    def new_backend(self) -> Backend:
        return RelayBackend(self.inner.new_backend(), self.executed)

    def start(self) -> None:
        self.inner.start()

    def now(self) -> datetime:
        return self.inner.now()


def _quiet_pbx(clock: RealClock) -> Provider:
    return open_pbx("embedded", BackendOptions(clock=clock, org=quiet_demo(), traffic=False))


async def test_serve_fronts_a_provider_other_than_the_embedded_one(cti_server) -> None:
    clock = RealClock(speed=20)
    relay = RelayProvider(_quiet_pbx(clock))
    server = await cti_server(pbx=relay)
    assert not any(isinstance(value, Exchange) for value in vars(server.hub).values())
    agent, events = await connect(server.url, "agent@demo.local")
    try:
        assert await agent.call("+12025550101"), events
        await wait_for(lambda: agent.active_calls(), "the call is placed through the relay")
        assert [type(c).__name__ for c in relay.executed] == ["Dial"]
    finally:
        await agent.logout()


async def test_two_servers_on_two_pbxs_built_by_name_are_two_worlds(cti_server) -> None:
    first = await cti_server()
    second = await cti_server()
    assert first.exchange is not second.exchange
    one, _ = await connect(first.url, "agent@demo.local")
    other, _ = await connect(second.url, "agent@demo.local")
    try:
        assert await one.call("+12025550101")
        await wait_for(lambda: one.active_calls(), "the call on the first server")
        await wait_for(lambda: first.exchange.legs, "the first PBX has the call")
        assert other.active_calls() == [] and not second.exchange.legs
    finally:
        await one.logout()
        await other.logout()


def test_serve_refuses_a_backend_that_cannot_serve_many_users() -> None:
    for name, message in (("softphone", "needs a PBX"), ("nope", "unknown backend")):
        result = subprocess.run(
            [sys.executable, "-m", "cti_tui", "serve", "--pbx", name, "--no-history"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
