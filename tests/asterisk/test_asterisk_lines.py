"""Watched lines, queue availability and ChanSpy on a real Asterisk 22 (the lab), with real baresip phones
and sipp as the outside caller: what a supervisor's lines pane shows comes from Asterisk's own events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture, stop_process  # noqa: F401 - fixtures
from softphone_lab import Recorder

from cti_tui.backends.asterisk import SECRET_ENV, AsteriskBackend
from cti_tui.backends.registry import BackendOptions, open_provider
from cti_tui.backends.softphone import ControlLink
from cti_tui.core.agent_commands import QueueLogin, QueueLogout, QueuePause, Spy, SpyMode
from cti_tui.core.model import Call, CallStatus, Direction, ErrorCode
from cti_tui.engine.connector import Connector
from cti_tui.protocol.baresip import BaresipEvent
from cti_tui.ui.lamps import Lamp, LineSummary, summarise
from cti_tui.ui.widgets.subscriptions_pane import summary_text

pytestmark = pytest.mark.timeout(300)
OUT = Direction.OUTBOUND  # the first test may build the root (20-60 s) when no cache exists


async def logged_in(lab: Lab, monkeypatch: pytest.MonkeyPatch, extension: str) -> Recorder:
    monkeypatch.setenv(SECRET_ENV, lab.ami_secret)
    provider = open_provider("asterisk", BackendOptions(address=lab.url()))
    recorder = Recorder(Connector(provider.new_backend()))
    assert await asyncio.wait_for(recorder.connector.login(f"{extension}@lab.example", "unused"), 20), recorder.events
    return recorder


def backend_of(recorder: Recorder) -> AsteriskBackend:
    backend = recorder.connector.backend
    assert isinstance(backend, AsteriskBackend)
    return backend


def pane(recorder: Recorder, node: str) -> LineSummary:
    """What the lines pane draws for ``node`` (the same reduction the subscriptions pane uses)."""
    return summarise(node, recorder.connector.active_calls(), datetime.now(UTC))


async def sees(recorder: Recorder, node: str, check: Callable[[LineSummary], object], what: str) -> LineSummary:
    await recorder.wait_for(lambda: check(pane(recorder, node)), 15, f"{node}: {what}")
    return pane(recorder, node)


async def caller(lab: Lab, folder: Path, number: str, hold_ms: int = 60000) -> asyncio.subprocess.Process:
    """sipp as an outside caller dialling ``number`` (it talks ``hold_ms``, then hangs up)."""
    return await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uac", "-s", number, "-d", str(hold_ms), "-i", "127.0.0.1", "-p", str(lab.ports.sipp),
        "-mp", str(lab.ports.sipp_media(1)), "-m", "1", "-nostdin", "-timeout", "90s", "-timeout_error",
        f"127.0.0.1:{lab.ports.sip}",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=folder,
    )  # fmt: skip


class Handset:
    """A registered baresip's control link, remembering whether it was rung."""

    def __init__(self, control: tuple[str, int]) -> None:
        self.rung = asyncio.Event()
        self.incoming: list[str] = []
        self.link = ControlLink(*control, self._on_event)

    def _on_event(self, event: BaresipEvent) -> None:
        if event.type == "CALL_INCOMING":
            self.incoming.append(event.type)
            self.rung.set()

    async def __aenter__(self) -> Handset:
        await self.link.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.link.close()


async def registered(ami: AmiRecorder, phones: Callable[..., object], *users: str, answermode: str = "manual") -> list:  # type: ignore[type-arg]
    made = [phones(user, answermode=answermode) for user in users]
    for phone in made:
        await phone.start()  # type: ignore[attr-defined]
    for user in users:
        await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
    return made


async def until(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Poll (bounded) for what another AMI connection — the session's own — has seen by now: events reach
    each connection in order, but not at the same moment as the test's recorder."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def only(calls: list[Call]) -> Call:
    assert len(calls) == 1, calls
    return calls[0]


async def test_a_supervisor_watching_a_queue_a_user_and_the_park_lot_sees_each_change(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_phone, _other = await registered(ami, phones, "1001", "1002")
    supervisor = await logged_in(asterisk, monkeypatch, "1100")
    sipp = None
    try:
        for node in ("queue:sales", "user:1001", "callpark"):
            assert await supervisor.connector.subscribe(node), supervisor.events
        assert supervisor.connector.subscriptions() == ["queue:sales", "user:1001", "callpark"]
        assert pane(supervisor, "queue:sales").lamp is Lamp.IDLE

        async with Handset(agent_phone.control) as handset:
            sipp = await caller(asterisk, tmp_path, "6001")
            # the caller waits in the queue (ringall: 1001's phone rings meanwhile)
            queue = await sees(supervisor, "queue:sales", lambda s: s.waiting == 1, "a caller waiting")
            waiting = only(list(queue.calls))
            assert summary_text(queue).startswith("1 waiting · longest 00:0")  # the pane's heading, as drawn
            assert (waiting.status, waiting.queue_position, waiting.line) == (CallStatus.RINGING, 1, "queue:sales")
            await sees(supervisor, "user:1001", lambda s: s.lamp is Lamp.RINGING, "1001's phone ringing")
            await asyncio.wait_for(handset.rung.wait(), 10)

            # 1001 picks up: the caller leaves the queue, 1001's line is busy
            assert (await handset.link.request("accept")).ok
            await sees(supervisor, "queue:sales", lambda s: s.lamp is Lamp.IDLE and not s.calls, "queue empty")
            handed = supervisor.connector.get_call(waiting.id)
            assert handed is not None and (handed.status, handed.cause) == (CallStatus.HANGUP, "transferred")
            assert "1001" in handed.destination_name
            user = await sees(supervisor, "user:1001", lambda s: s.lamp is Lamp.BUSY, "1001 talking")
            agent_call = only(list(user.calls))
            connect = await ami.event("AgentConnect", Interface="PJSIP/1001")
            assert agent_call.id == connect.get("DestUniqueid")

            # the caller is parked (Redirect to 700): the park lot shows it in 701, 1001 is free again
            caller_channel = connect.get("Channel")
            await ami.link.action(
                "Redirect", {"Channel": caller_channel, "Context": "internal", "Exten": "700", "Priority": 1}
            )
            park = await sees(supervisor, "callpark", lambda s: s.lamp is Lamp.HELD, "a parked call")
            parked = only(list(park.calls))
            assert summary_text(park) == "1 call"
            assert (parked.status, parked.park_slot) == (CallStatus.PARKED, 701)
            await sees(supervisor, "user:1001", lambda s: s.lamp is Lamp.IDLE, "1001 free")
            assert supervisor.connector.get_call(agent_call.id).status is CallStatus.HANGUP  # type: ignore[union-attr]

            # the caller hangs up in the lot: the slot is free
            await ami.link.action("Hangup", {"Channel": caller_channel})
            await sees(supervisor, "callpark", lambda s: s.lamp is Lamp.IDLE and not s.calls, "the lot empty")
            gone = supervisor.connector.get_call(parked.id)
            assert gone is not None and gone.status is CallStatus.HANGUP
        assert not [e for e in supervisor.activities() if e.code is ErrorCode.WRONG_STATE]  # no report refused
    finally:
        if sipp is not None:
            await stop_process(sipp)
        await supervisor.connector.logout()


async def test_a_paused_agent_is_not_rung_by_the_queue(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paused_phone, free_phone = await registered(ami, phones, "1001", "1002")
    agent = await logged_in(asterisk, monkeypatch, "1001")
    supervisor = await logged_in(asterisk, monkeypatch, "1100")
    sipp = None
    backend = backend_of(agent)
    try:
        assert await supervisor.connector.subscribe("queue:sales")
        watch = backend_of(supervisor).desk.lines  # type: ignore[union-attr]
        member = watch.member("sales", "1001")
        assert member is not None and not member.paused and member.logged_in

        assert (await backend.execute(QueuePause(True, "lunch", "sales"))).ok
        await until(lambda: member.paused, "the pause seen by the supervisor's session")
        assert (member.paused, member.reason) == (True, "lunch")  # what the supervisor's session knows
        assert (watch.agent("1001").state, watch.agent("1001").reason) == ("break", "lunch")

        async with Handset(paused_phone.control) as paused, Handset(free_phone.control) as free:
            sipp = await caller(asterisk, tmp_path, "6001", hold_ms=1000)
            joined = await ami.event("QueueCallerJoin", Queue="sales", timeout=15)
            await asyncio.wait_for(free.rung.wait(), 15)
            assert (await free.link.request("accept")).ok
            connect = await ami.event("AgentConnect", Uniqueid=joined.get("Uniqueid"), timeout=15)
            assert connect.get("Interface") == "PJSIP/1002"
            called = [e.get("Interface") for e in ami.named("AgentCalled", Uniqueid=joined.get("Uniqueid"))]
            assert called == ["PJSIP/1002"]  # the paused member was never offered the call
            assert paused.incoming == []
            assert await asyncio.wait_for(sipp.wait(), 30) == 0

        assert (await backend.execute(QueuePause(False, queue="sales"))).ok
        await until(lambda: not member.paused, "the pause over")
        assert not member.paused and member.reason == ""
        assert watch.agent("1001").state == "available"

        # a static member (queues.conf) cannot log out: Asterisk says why
        static = await backend.execute(QueueLogout("sales"))
        assert not static.ok and static.code is ErrorCode.WRONG_STATE and "not dynamic" in static.message
        # log in to another queue and out again (QueueAdd / QueueRemove: a dynamic member)
        assert await supervisor.connector.subscribe("queue:support")
        assert watch.member("support", "1001") is None
        assert (await backend.execute(QueueLogin("support"))).ok
        await until(lambda: watch.member("support", "1001"), "1001 in support")
        support = watch.member("support", "1001")
        assert support is not None and support.logged_in and not support.paused
        assert (await backend.execute(QueueLogout("support"))).ok
        await until(lambda: not support.logged_in, "1001 out of support")
        bad = await backend.execute(QueueLogin("sales\r\nAction: Hangup"))
        assert not bad.ok and bad.code is ErrorCode.BAD_REQUEST
    finally:
        if sipp is not None:
            await stop_process(sipp)
        await agent.connector.logout()
        await supervisor.connector.logout()


@pytest.mark.parametrize(
    ("mode", "options"), [(SpyMode.LISTEN, "qE"), (SpyMode.WHISPER, "qEw"), (SpyMode.BARGE, "qEB")]
)
async def test_a_supervisor_listens_in_with_chanspy(
    asterisk: Lab,
    ami: AmiRecorder,
    phones,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: SpyMode,
    options: str,
) -> None:
    await registered(ami, phones, "1001", answermode="auto")
    (supervisor_phone,) = await registered(ami, phones, "1100")
    supervisor = await logged_in(asterisk, monkeypatch, "1100")
    backend = backend_of(supervisor)
    sipp = None
    try:
        nobody = await backend.execute(Spy("1001"))
        assert not nobody.ok and nobody.code is ErrorCode.WRONG_STATE and "not on a call" in nobody.message

        async with Handset(supervisor_phone.control) as handset:
            sipp = await caller(asterisk, tmp_path, "1001")  # 1001 answers on its own
            await ami.wait_for(
                lambda: [e for e in ami.named("BridgeEnter") if e.get("Channel").startswith("PJSIP/1001-")],
                15,
                "1001 talking to the caller",
            )
            agent_channel = next(
                e.get("Channel") for e in ami.named("BridgeEnter") if e.get("Channel").startswith("PJSIP/1001-")
            )
            assert (await backend.execute(Spy("1001", mode))).ok
            await asyncio.wait_for(handset.rung.wait(), 10)  # the supervisor's own phone rings
            # its own line shows it as a call it placed, its phone ringing first (INITIAL), whether Asterisk
            # said DialBegin or the channel's Newstate Ringing first (both orders happen: ami_calls.py)
            await supervisor.wait_for(lambda: supervisor.connector.active_calls(), 15, "the supervisor's call")
            ringing = only(supervisor.connector.active_calls())
            assert (ringing.line, ringing.status, ringing.direction) == ("user:1100", CallStatus.INITIAL, OUT), ringing
            assert (await handset.link.request("accept")).ok
            start = await ami.event("ChanSpyStart", timeout=15)
            assert start.get("SpyerChannel").startswith("PJSIP/1100-")
            assert start.get("SpyeeChannel") == agent_channel
            # the supervisor's session shows its end of it connected to the agent's call once the spying starts
            listening = await supervisor.call_reaches(ringing.id, "CONNECTED", timeout=15)
            assert listening.destination == "1001", listening
            path = supervisor.statuses(ringing.id)
            assert [s for i, s in enumerate(path) if not i or path[i - 1] != s] == [
                "INITIAL",
                "ACCEPTED",
                "RINGING",
                "CONNECTED",
            ]
            channels = (await ami.link.action("CoreShowChannels")).events("CoreShowChannel")
            (spyer,) = [c for c in channels if c.get("Channel") == start.get("SpyerChannel")]
            assert (spyer.get("Application"), spyer.get("ApplicationData")) == ("ChanSpy", f"PJSIP/1001-,{options}")
            # E: the agent's call ends, and the supervisor's with it
            await ami.link.action("Hangup", {"Channel": agent_channel})
            ended = await supervisor.call_reaches(ringing.id, "HANGUP", timeout=15)
            assert ended.cause == "normal", ended  # it listened: not "cancelled"
    finally:
        if sipp is not None:
            await stop_process(sipp)
        await supervisor.connector.logout()


async def test_the_directory_offers_the_lines_and_a_reconnect_keeps_them_watched(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registered(ami, phones, "1001", "1002")  # (manual: nobody picks up, the caller keeps waiting)
    supervisor = await logged_in(asterisk, monkeypatch, "1100")
    sipp = None
    try:
        entries = {e.node: (e.number, e.kind.value) for e in await supervisor.connector.directory()}
        assert entries["user:1001"] == ("1001", "user") and entries["user:1100"] == ("1100", "user")
        assert entries["queue:sales"] == ("6001", "queue") and entries["queue:support"] == ("6002", "queue")
        assert entries["conf:800"] == ("800", "conf") and entries["callpark"] == ("700", "callpark")
        assert not [node for node in entries if "anonymous" in node or "trunk" in node]  # no auth: not users

        unknown = await supervisor.connector.subscribe("queue:nosuch")
        assert not unknown and unknown.code is ErrorCode.UNKNOWN_NODE  # type: ignore[union-attr]
        assert await supervisor.connector.subscribe("queue:sales")
        sipp = await caller(asterisk, tmp_path, "6001")
        waiting = only(list((await sees(supervisor, "queue:sales", lambda s: s.waiting == 1, "waiting")).calls))

        # the AMI connection drops: re-sync; still watched, the same waiting call, once
        backend = backend_of(supervisor)
        readies = len([e for e in supervisor.activities() if e.name.value == "READY"])
        backend.link.abort()  # type: ignore[union-attr]
        await supervisor.wait_for(
            lambda: len([e for e in supervisor.activities() if e.name.value == "READY"]) > readies, 15, "READY again"
        )
        assert supervisor.connector.subscriptions() == ["queue:sales"]
        after = pane(supervisor, "queue:sales")
        assert [(c.id, c.queue_position) for c in after.calls] == [(waiting.id, 1)]
        # and it goes on following: the caller hangs up
        await ami.link.action("Hangup", {"Channel": waiting.cid})
        await sees(supervisor, "queue:sales", lambda s: not s.calls, "the caller gone")
        assert supervisor.connector.get_call(waiting.id).status is CallStatus.CANCEL  # type: ignore[union-attr]
    finally:
        if sipp is not None:
            await stop_process(sipp)
        await supervisor.connector.logout()


async def test_a_conference_room_shows_who_is_in_it(
    asterisk: Lab, ami: AmiRecorder, phones, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await registered(ami, phones, "1001", answermode="auto")
    # 1001 is in room 800 before the supervisor logs in: subscribing shows it (ConfbridgeList)
    originate = {"Channel": "PJSIP/1001", "Context": "internal", "Exten": "800", "Priority": 1, "Async": "true"}
    await ami.link.action("Originate", originate)
    await ami.event("ConfbridgeJoin", Conference="800", timeout=15)
    supervisor = await logged_in(asterisk, monkeypatch, "1100")
    sipp = None
    try:
        assert await supervisor.connector.subscribe("conf:800")
        room = pane(supervisor, "conf:800")
        first = only(list(room.calls))
        assert (first.status, first.source, room.lamp) == (CallStatus.CONNECTED, "1001", Lamp.BUSY)

        sipp = await caller(asterisk, tmp_path, "800")  # an outside caller joins
        room = await sees(supervisor, "conf:800", lambda s: len(s.calls) == 2, "two in the room")
        assert sorted(c.source for c in room.calls) == ["1001", "sipp"]
        await ami.link.action("Hangup", {"Channel": first.cid})
        room = await sees(supervisor, "conf:800", lambda s: len(s.calls) == 1, "1001 left")
        assert only(list(room.calls)).source == "sipp"
        assert supervisor.connector.get_call(first.id).status is CallStatus.HANGUP  # type: ignore[union-attr]
    finally:
        if sipp is not None:
            await stop_process(sipp)
        await supervisor.connector.logout()
