"""Every user of one Asterisk provider shares one AMI connection (cti_tui.backends.asterisk_pbx): one login
to AMI, one re-sync after a loss for all of them, and the connection closes when the last user leaves."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest
from amilab import Lab, asterisk_fixture  # noqa: F401 - fixtures
from softphone_lab import Recorder

from cti_tui.backends.asterisk import SECRET_ENV, AsteriskBackend
from cti_tui.backends.registry import BackendOptions, open_provider
from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(300)


async def ami_sessions(lab: Lab, user: str = "cti") -> int:
    """How many AMI connections Asterisk itself counts for ``user`` (`manager show connected`), once two
    looks 0.3 s apart agree (bounded): a connection that logged off a moment ago may still be counted."""
    counts: list[int] = []
    for _ in range(15):
        text = await asyncio.to_thread(lab.cli, "manager show connected")
        counts.append(sum(1 for line in text.splitlines() if line.split()[:1] == [user]))
        if len(counts) > 1 and counts[-1] == counts[-2]:
            break
        await asyncio.sleep(0.3)
    return counts[-1]


def readies(recorder: Recorder) -> int:
    return len([e for e in recorder.activities() if e.name is ActivityName.READY])


async def test_users_of_one_provider_share_one_connection_and_one_resync(
    asterisk: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, asterisk.ami_secret)
    provider = open_provider("asterisk", BackendOptions(address=asterisk.url()))
    before = await ami_sessions(asterisk)
    users = [Recorder(Connector(provider.new_backend())) for _ in range(3)]
    try:
        for index, user in enumerate(users):
            assert await asyncio.wait_for(user.connector.login(f"100{index + 1}@lab.example", "x"), 20), user.events
        backends = [user.connector.backend for user in users]
        assert all(isinstance(b, AsteriskBackend) for b in backends)
        link = backends[0].link  # type: ignore[union-attr]
        assert link is not None and all(b.link is link for b in backends)  # type: ignore[union-attr]
        assert await ami_sessions(asterisk) - before == 1, await asyncio.to_thread(
            asterisk.cli, "manager show connected"
        )

        # the connection drops: every user is told, one reconnect and one re-sync serve them all
        seen = [readies(user) for user in users]
        link.abort()
        for user, count in zip(users, seen, strict=True):
            await user.wait_for(lambda u=user, c=count: readies(u) > c, 15, "READY again")
            assert any(e.code is ErrorCode.RECONNECTING for e in user.activities())
        assert provider.pbx.reconnects == 1  # type: ignore[attr-defined]
        relinked = backends[0].link  # type: ignore[union-attr]
        assert relinked is not None and relinked is not link and all(b.link is relinked for b in backends)  # type: ignore[union-attr]
        assert await ami_sessions(asterisk) - before == 1

        # the connection stays while anyone uses it, and closes with the last one
        await users[0].connector.logout()
        await users[1].connector.logout()
        assert not relinked.closed.is_set()
        await users[2].connector.logout()
        assert relinked.closed.is_set() and provider.pbx.link is None  # type: ignore[attr-defined]
    finally:
        for user in users:
            if user.connector.identity is not None:
                await user.connector.logout()


async def test_a_login_while_the_connection_is_being_re_established_waits_its_turn(
    asterisk: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The users already in were told RECONNECTING and wait for the shared re-sync: a newcomer does not open a
    second connection beside it (nor cancel it), it is told to try again, and gets in once it is back."""
    monkeypatch.setenv(SECRET_ENV, asterisk.ami_secret)
    provider = open_provider("asterisk", BackendOptions(address=asterisk.url()))
    pbx = provider.pbx  # type: ignore[attr-defined]
    first, late = Recorder(Connector(provider.new_backend())), Recorder(Connector(provider.new_backend()))
    try:
        assert await asyncio.wait_for(first.connector.login("1001@lab.example", "x"), 20), first.events
        reachable = pbx.address
        with socket.socket() as probe:  # a port nothing listens on: each reconnect attempt is refused
            probe.bind(("127.0.0.1", 0))
            pbx.address = dataclasses.replace(reachable, port=probe.getsockname()[1])
        seen = readies(first)
        pbx.link.abort()
        await first.wait_for(
            lambda: any(e.code is ErrorCode.RECONNECTING for e in first.activities()), 15, "RECONNECTING"
        )
        assert not await late.connector.login("1002@lab.example", "x")
        (refusal,) = [e for e in late.activities() if e.name is ActivityName.ERROR]
        assert "being re-established" in refusal.message and pbx.link.closed.is_set()  # still the old one

        pbx.address = reachable  # Asterisk is back: the watcher's next attempt re-syncs the user who stayed
        await first.wait_for(lambda: readies(first) > seen, 20, "READY again")
        assert pbx.reconnects == 1
        assert await asyncio.wait_for(late.connector.login("1002@lab.example", "x"), 20), late.events
        assert late.connector.backend.link is first.connector.backend.link  # type: ignore[attr-defined]
    finally:
        for user in (first, late):
            if user.connector.identity is not None:
                await user.connector.logout()
