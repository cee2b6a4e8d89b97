"""``cti-tui events`` drives every backend, as real processes on loopback: a ``cti-tui serve`` subprocess for
``--server`` and a real baresip (called by a real sipp) for ``--softphone``. Before the composition root,
``events`` streamed the embedded demo whatever was asked: these tests see the other world's identity."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from events_process import TIMEOUT, EventsProcess
from sipp_scenarios import uac
from softphone_lab import Lab, lab_fixture, sipp_exit  # noqa: F401 - lab_fixture provides `lab`


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`cti-tui serve` as a subprocess on 127.0.0.1 (quiet demo, time x20); its URL once it accepts."""
    port = _free_port()
    env = {**os.environ, "CTI_TUI_DATA_DIR": str(tmp_path / "server-data")}
    command = [sys.executable, "-m", "cti_tui", "serve", "--port", str(port), "--demo-rate", "0", "--speed", "20"]
    server = subprocess.Popen(
        [*command, "--no-history"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"cti-tui serve did not start: {server.communicate()[1]}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=TIMEOUT)


@pytest.fixture
def events(tmp_path: Path) -> Iterator[list[EventsProcess]]:
    started: list[EventsProcess] = []
    yield started
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(timeout=TIMEOUT)


def test_events_on_a_cti_server(served: str, tmp_path: Path, events: list[EventsProcess]) -> None:
    agent = EventsProcess(
        tmp_path, "--server", served, "--email", "agent@demo.local", "--password", "demo", "--no-history"
    )
    supervisor = EventsProcess(
        tmp_path,
        "--server",
        served,
        "--email",
        "supervisor@demo.local",
        "--password",
        "demo",
        "--subscribe",
        "user:1001",
        "--no-history",
    )
    events += [agent, supervisor]
    agent.expect_event("LOGGED_IN")
    assert served in agent.expect_event("READY")["message"]  # the server's world, not a local demo
    supervisor.expect_event("SUBSCRIBED", node="user:1001")

    agent.send({"action": "call", "destination": "+12025550101"})
    call_id = agent.expect_event("INITIAL", direction="OUTBOUND", destination="+12025550101")["call"]["id"]
    # the same call, seen by another user of the same server: one PBX behind both processes
    assert supervisor.expect_event("INITIAL", destination="+12025550101")["call"]["id"] == call_id
    agent.send({"action": "calls", "id": "q1"})
    reply = agent.expect(lambda item: item.get("reply") == "calls", "the calls reply")
    assert reply["id"] == "q1" and [c["id"] for c in reply["result"]] == [call_id]
    agent.send({"action": "hangup", "callId": call_id})
    agent.expect_event("HANGUP", id=call_id)
    supervisor.expect_event("HANGUP", id=call_id)
    agent.send({"action": "quit"})
    supervisor.send({"action": "quit"})
    assert agent.finish() == 0 and supervisor.finish() == 0


def test_events_on_a_cti_server_refuses_a_wrong_password(
    served: str, tmp_path: Path, events: list[EventsProcess]
) -> None:
    agent = EventsProcess(
        tmp_path, "--server", served, "--email", "agent@demo.local", "--password", "nope", "--no-history"
    )
    events.append(agent)
    error = agent.expect_event("ERROR")
    assert error["code"] == "bad_credentials", error
    assert agent.finish() == 1


def test_events_with_a_dead_server_says_so(tmp_path: Path, events: list[EventsProcess]) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    agent = EventsProcess(tmp_path, "--server", url, "--no-history")
    events.append(agent)
    error = agent.expect_event("ERROR")
    assert url in error["message"] or "unreachable" in error["message"], error
    assert agent.finish() == 1


def test_events_refuses_two_backends_and_org_flags_elsewhere(tmp_path: Path) -> None:
    both = EventsProcess(tmp_path, "--server", "http://127.0.0.1:1", "--softphone", "127.0.0.1:2")
    assert both.finish() == 2 and "cannot be used together" in both.stderr()
    org = EventsProcess(tmp_path, "--server", "http://127.0.0.1:1", "--demo-org-size", "3")
    assert org.finish() == 2 and "embedded PBX" in org.stderr()
    bad = EventsProcess(tmp_path, "--softphone", "nowhere")
    assert bad.finish() == 2 and "HOST:PORT" in bad.stderr()


async def test_events_on_a_real_baresip(lab: Lab, tmp_path: Path, events: list[EventsProcess]) -> None:
    phone = lab.phone(0, "1001", "Agent One")
    await phone.start()
    agent = EventsProcess(tmp_path, "--softphone", f"127.0.0.1:{phone.ctrl_port}", "--no-history")
    events.append(agent)
    await asyncio.to_thread(agent.expect_event, "LOGGED_IN")
    ready = await asyncio.to_thread(agent.expect_event, "READY")
    assert "baresip" in ready["message"] and "1001" in ready["message"], ready  # the phone's line, not the demo

    sipp = await lab.call_from_sipp(phone, uac("+33612345678", "Ada Caller", hangup_after_ms=500))
    ringing = await asyncio.to_thread(agent.expect_event, "RINGING", direction="INBOUND")
    assert ringing["call"]["source"] == "+33612345678" and ringing["call"]["sourceName"] == "Ada Caller", ringing
    call_id = ringing["call"]["id"]
    agent.send({"action": "answer", "callId": call_id})
    await asyncio.to_thread(agent.expect_event, "CONNECTED", id=call_id)
    await asyncio.to_thread(agent.expect_event, "HANGUP", id=call_id)  # the far end hung up
    assert await sipp_exit(sipp) == 0
    agent.send({"action": "quit"})
    assert await asyncio.to_thread(agent.finish) == 0
