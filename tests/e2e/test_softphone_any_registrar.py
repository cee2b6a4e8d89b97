"""The softphone with a registrar that is not Asterisk (sipp playing one): a refusal at login is shown with
the registrar's reason, and a registration refused later (the refresh) reaches the user as an ERROR."""

from __future__ import annotations

import asyncio

import pytest
from softphone_lab import Lab, Recorder, lab_fixture  # noqa: F401 - lab_fixture provides `lab`

from cti_tui.backends.softphone import ManagedBaresip, SoftphoneBackend
from cti_tui.core.model import ActivityName, ErrorCode
from cti_tui.engine.connector import Connector

pytestmark = pytest.mark.timeout(90)

_ANSWER = """
  <send>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <[$uri]>;expires=2
      Expires: 2
      Content-Length: 0

    ]]>
  </send>"""


_RECV = (
    '\n  <recv request="REGISTER"><action><ereg regexp="sips?:[^&gt;]*" search_in="hdr" header="Contact:"'
    ' assign_to="uri" /></action></recv>'
)


def registrar(*statuses: str) -> str:
    """A sipp registrar answering successive REGISTERs of one registration with ``statuses`` in turn, each
    granting 2 s (the binding's own ``expires``, which baresip reads: its Contact echoed with ``expires=2``)."""
    steps = "".join(_RECV + _ANSWER.format(status=status) for status in statuses)
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="registrar">{steps}\n</scenario>\n'


async def start_registrar(lab: Lab, *statuses: str) -> None:
    path = lab.tmp / "registrar.xml"
    path.write_text(registrar(*statuses))
    await lab.sipp("-sf", str(path))
    await asyncio.sleep(0.2)  # sipp binds its port right after exec; nothing to await on


def agent_for(lab: Lab) -> Recorder:
    phone = ManagedBaresip(
        lab.tmp / "baresip-1001",
        sip_port=lab.base,
        ctrl_port=lab.base + 10,
        user="1001",
        rtp_ports=(lab.base + 40, lab.base + 59),
        registrar=f"127.0.0.1:{lab.sipp_port}",
    )
    lab.phones.append(phone)
    connector = Connector(SoftphoneBackend(managed=phone))
    lab.connectors.append(connector)
    return Recorder(connector)


async def test_a_registrar_refusal_at_login_says_why(lab: Lab) -> None:
    await start_registrar(lab, "403 Forbidden")
    agent = agent_for(lab)
    assert not await asyncio.wait_for(agent.connector.login("1001@example.com", "secret-1001"), 20)
    (refusal,) = [e for e in agent.activities() if e.name is ActivityName.ERROR]
    assert refusal.code is ErrorCode.BAD_CREDENTIALS and "403" in refusal.message and "refused" in refusal.message


async def test_a_registration_refused_later_is_reported(lab: Lab) -> None:
    await start_registrar(lab, "200 OK", "403 Forbidden")
    agent = agent_for(lab)
    assert await asyncio.wait_for(agent.connector.login("1001@example.com", "secret-1001"), 20), agent.events
    assert agent.connector.backend.name == f"baresip sip:1001@127.0.0.1:{lab.sipp_port}"
    await agent.wait_for(
        lambda: [e for e in agent.activities() if e.name is ActivityName.ERROR and "403" in e.message],
        15,
        "the refused refresh, reported",
    )
    (error,) = [e for e in agent.activities() if e.name is ActivityName.ERROR]
    assert "registration of sip:1001@" in error.message and "secret-1001" not in error.message
