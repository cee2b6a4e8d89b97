"""Where a softphone without a registrar sends what the agent dials: a SIP address as given, a bare number
refused with the reason (it used to go to the phone's own address and vanish in a 404). Real baresip and sipp."""

from __future__ import annotations

import asyncio

import pytest
from softphone_lab import Lab, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`

from cti_tui.core.model import ActivityName, Direction, ErrorCode

pytestmark = pytest.mark.timeout(90)


async def test_without_a_registrar_a_number_is_refused_and_a_sip_address_is_dialled(lab: Lab) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    uas = await lab.sipp("-sn", "uas")
    agent = await lab.agent(phone)
    assert agent.connector.backend.name == f"baresip sip:1001@127.0.0.1:{phone.sip_port}"  # what callers dial

    refused = await agent.connector.call("1002")
    assert not refused
    (info,) = [e for e in agent.activities() if e.name is ActivityName.INFO]
    assert info.code is ErrorCode.BAD_NUMBER and "no SIP registrar" in info.message
    assert not agent.connector.calls()  # nothing was dialled

    assert not await agent.connector.call("sip:bad address@127.0.0.1")  # refused before baresip sees it
    assert [e.code for e in agent.activities()][-1] is ErrorCode.BAD_NUMBER

    await asyncio.sleep(0.2)  # sipp binds its port right after exec; nothing to await on
    placed = await agent.connector.call(f"sip:5555@127.0.0.1:{lab.sipp_port}")
    assert placed, agent.activities()
    call = await agent.call_reaches(placed.value, "CONNECTED")  # type: ignore[arg-type]
    assert (call.direction, call.destination) == (Direction.OUTBOUND, "5555")
    assert await agent.connector.terminate(call.id)
    await agent.call_reaches(call.id, "HANGUP")
    assert await sipp_exit(uas) == 0
