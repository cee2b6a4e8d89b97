"""Two calls at once on a real baresip, shown truthfully: answering the second holds the first (the row says
ON_HOLD, never two CONNECTED), and when the second ends baresip resumes the first (CONNECTED again)."""

from __future__ import annotations

import asyncio

import pytest
from sipp_scenarios import uac
from softphone_lab import Lab, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`

from cti_tui.core.model import CallEvent, CallStatus, Event

pytestmark = pytest.mark.timeout(90)


async def caller(lab: Lab, index: int, scenario: str, sip_port: int, media_port: int) -> asyncio.subprocess.Process:
    """A sipp caller of lab phone ``index`` 0, on its own SIP and media ports (two callers at once)."""
    path = lab.tmp / f"caller-{index}.xml"
    path.write_text(scenario)
    phone = lab.phones[0]
    process = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(path), f"127.0.0.1:{phone.sip_port}", "-s", phone.user, "-l", "1", "-m", "1",
        "-p", str(sip_port), "-i", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(media_port), "-bind_local",
        "-nostdin", "-timeout", "30s", "-timeout_error",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        cwd=lab.tmp,
    )  # fmt: skip
    lab.sipps.append(process)
    return process


async def test_the_second_answered_call_holds_the_first_and_its_end_resumes_it(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    agent = await lab.agent(phone)
    shown: dict[str, CallStatus] = {}
    most_connected = 0

    def watch(event: Event) -> None:
        nonlocal most_connected
        if isinstance(event, CallEvent):
            shown[event.call.id] = event.call.status
            most_connected = max(most_connected, list(shown.values()).count(CallStatus.CONNECTED))

    agent.connector.add_listener(watch)
    # A: held and resumed by baresip (two re-INVITEs), then hung up by the agent; B: leaves 1 s after answer
    first_caller = await caller(
        lab, 0, uac("+33100000001", "First", reinvites=2, await_bye=True), lab.base + 6, lab.base + 60
    )
    first = await agent.call_in("RINGING")
    assert await agent.connector.answer(first.id)
    await agent.call_reaches(first.id, "CONNECTED")

    second_caller = await caller(
        lab, 1, uac("+33100000002", "Second", hangup_after_ms=1000), lab.base + 4, lab.base + 80
    )
    second = await agent.wait_for(
        lambda: [c for c in agent.calls_in("RINGING") if c.source == "+33100000002"], what="the second call"
    )
    second_id = second[0].id  # type: ignore[index]
    assert await agent.connector.answer(second_id)
    await agent.call_reaches(second_id, "CONNECTED")
    assert agent.connector.get_call(first.id).status is CallStatus.ON_HOLD  # type: ignore[union-attr]
    assert most_connected == 1, agent.events  # never two CONNECTED, not even for one event

    await agent.call_reaches(second_id, "HANGUP")  # the second caller leaves
    await agent.call_reaches(first.id, "CONNECTED")  # baresip resumed the first: listcalls says so
    assert await sipp_exit(second_caller) == 0
    assert agent.statuses(first.id) == ["RINGING", "CONNECTED", "ON_HOLD", "CONNECTED"]

    assert await agent.connector.terminate(first.id)
    await agent.call_reaches(first.id, "HANGUP")
    assert await sipp_exit(first_caller) == 0
