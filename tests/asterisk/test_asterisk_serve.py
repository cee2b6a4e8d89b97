"""`cti-tui serve --pbx asterisk://… --org FILE` as a real subprocess on a real Asterisk 22: two agents and a
supervisor log in with the org file's passwords over HTTP and WebSocket (the app's own client), a real call
between the two agents' baresips is seen by all three (the supervisor watching both agents' lines and their
queue, through which a second call goes), and the server holds ONE AMI connection for all three."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, ami_fixture, asterisk_fixture, phones_fixture  # noqa: F401 - fixtures
from softphone_lab import Recorder
from test_asterisk_shared import ami_sessions

from cti_tui.backends.server import ServerBackend
from cti_tui.backends.softphone import ControlLink
from cti_tui.core.model import ActivityName, Call, Direction, Role
from cti_tui.engine.connector import Connector
from cti_tui.pbx.org import hash_password
from cti_tui.protocol.baresip import BaresipEvent

pytestmark = pytest.mark.timeout(300)
START_TIMEOUT = 30.0

PEOPLE = {  # email -> (extension, role, password)
    "ann@lab.example": ("1001", "agent", "ann-pw"),
    "bob@lab.example": ("1002", "agent", "bob-pw"),
    "sue@lab.example": ("1100", "supervisor", "sue-pw"),
}


def org_file(folder: Path) -> Path:
    """Who is who on the lab's Asterisk (1001, 1002 agents of queue sales; 1100 a supervisor)."""
    users = "".join(
        f'[[users]]\nemail = "{email}"\nname = "{email.split("@")[0].title()}"\nextension = "{ext}"\n'
        f'endpoint = "{ext}"\nrole = "{role}"\npassword_hash = "{hash_password(pw, "salt" + ext, 1000)}"\n\n'
        for email, (ext, role, pw) in PEOPLE.items()
    )
    path = folder / "asterisk-org.toml"
    path.write_text(
        '[organisation]\nname = "Lab"\n\n[asterisk]\ncontext = "internal"\n\n'
        + users
        + '[[queues]]\nid = "sales"\nname = "Sales"\nextension = "6001"\nmembers = ["1001", "1002"]\n'
    )
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command(lab: Lab, org: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "cti_tui", "serve", "--pbx", lab.url(), "--org", str(org),
        "--port", str(port), "--no-history",
    ]  # fmt: skip


def environment(folder: Path, secret: str) -> dict[str, str]:
    return {
        **os.environ,
        "CTI_TUI_AMI_SECRET": secret,
        "CTI_TUI_DATA_DIR": str(folder / "data"),
        "CTI_TUI_CONFIG_DIR": str(folder / "config"),
    }


@pytest.fixture(name="served")
def served_fixture(asterisk: Lab, tmp_path: Path) -> Iterator[str]:
    """The server as a subprocess (stopped by its PID); its URL once it accepts connections."""
    port = free_port()
    server = subprocess.Popen(
        serve_command(asterisk, org_file(tmp_path), port),
        env=environment(tmp_path, asterisk.ami_secret),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise AssertionError(f"cti-tui serve did not start: {server.communicate()[1]}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def on_line(user: Recorder, line: str, status: str) -> Call | None:
    """The call ``user`` sees on watched ``line`` in ``status`` (None: none)."""
    return next((c for c in user.connector.active_calls() if c.line == line and c.status.value == status), None)


async def logged_in(url: str, email: str) -> Recorder:
    user = Recorder(Connector(ServerBackend(url)))
    assert await asyncio.wait_for(user.connector.login(email, PEOPLE[email][2]), 20), user.events
    return user


async def test_two_agents_and_a_supervisor_on_one_ami_connection_see_a_real_call(
    asterisk: Lab, ami: AmiRecorder, phones, served: str
) -> None:
    ann_phone, bob_phone = phones("1001"), phones("1002")  # answermode manual: each agent picks up
    for phone, user in ((ann_phone, "1001"), (bob_phone, "1002")):
        await phone.start()
        await ami.event("ContactStatus", AOR=user, ContactStatus="Reachable", timeout=15)
    ringing: dict[str, asyncio.Event] = {"1001": asyncio.Event(), "1002": asyncio.Event()}

    def on(user: str) -> Callable[[BaresipEvent], None]:
        def handle(event: BaresipEvent) -> None:
            if event.type == "CALL_INCOMING":
                ringing[user].set()

        return handle

    handsets = {
        "1001": ControlLink(*ann_phone.control, on("1001")),
        "1002": ControlLink(*bob_phone.control, on("1002")),
    }
    for handset in handsets.values():
        await handset.connect()
    before = await ami_sessions(asterisk)  # the test's own recorder, and nothing of the server's yet
    ann, bob, sue = [await logged_in(served, email) for email in PEOPLE]
    try:
        # who is who comes from the org file: names, roles, extensions; the password was checked
        assert [(u.connector.identity.name, u.connector.identity.role) for u in (ann, bob, sue)] == [  # type: ignore[union-attr]
            ("Ann", Role.AGENT),
            ("Bob", Role.AGENT),
            ("Sue", Role.SUPERVISOR),
        ]
        for user in (ann, bob, sue):
            await user.wait_for(lambda u=user: any(e.name is ActivityName.READY for e in u.activities()), 15, "READY")
        # three sessions, one AMI connection: the server's (the other is this test's recorder)
        assert await ami_sessions(asterisk) - before == 1, await asyncio.to_thread(
            asterisk.cli, "manager show connected"
        )
        wrong = Recorder(Connector(ServerBackend(served)))
        assert not await wrong.connector.login("ann@lab.example", "not-her-password")

        # the supervisor watches both agents' lines and their queue (the org file names them in the directory)
        nodes = {e.node for e in await sue.connector.directory()}
        assert {"user:1001", "user:1002", "queue:sales"} <= nodes
        for node in ("user:1001", "user:1002", "queue:sales"):
            assert await sue.connector.subscribe(node), sue.events
        assert sue.connector.active_calls() == []

        # Ann clicks to call Bob: her phone rings first, she picks up, then Bob's phone rings and he picks up
        placed = await ann.connector.call("1002")
        call_id = placed.value  # type: ignore[union-attr]
        await asyncio.wait_for(ringing["1001"].wait(), 15)
        assert (await handsets["1001"].request("accept")).ok
        await asyncio.wait_for(ringing["1002"].wait(), 15)
        offered = await bob.call_in("RINGING", timeout=15)
        assert offered.direction is Direction.INBOUND and offered.party == "1001", offered
        await sue.wait_for(lambda: on_line(sue, "user:1002", "RINGING"), 15, "Sue sees Bob's phone ring")
        assert (await handsets["1002"].request("accept")).ok
        await ann.call_reaches(call_id, "CONNECTED", timeout=15)
        await bob.call_reaches(offered.id, "CONNECTED", timeout=15)

        # ... and Sue sees it on both lines: Ann calling out to 1002, Bob taking it from 1001
        anns = await sue.wait_for(lambda: on_line(sue, "user:1001", "CONNECTED"), 15, "Sue sees Ann talk")
        bobs = await sue.wait_for(lambda: on_line(sue, "user:1002", "CONNECTED"), 15, "Sue sees Bob talk")
        assert isinstance(anns, Call) and isinstance(bobs, Call)
        assert (anns.direction, anns.party) == (Direction.OUTBOUND, "1002"), anns  # whatever order AMI told it
        assert (bobs.direction, bobs.party) == (Direction.INBOUND, "1001"), bobs
        assert on_line(sue, "queue:sales", "RINGING") is None  # nobody waits in the queue

        # an agent sees only the calls of its own line: Ann's call is not one Bob's session can act on
        assert not await bob.connector.terminate(call_id)

        assert await ann.connector.terminate(call_id)
        assert (await ann.call_reaches(call_id, "HANGUP", timeout=15)).cause == "normal"
        await bob.call_reaches(offered.id, "HANGUP", timeout=15)
        await sue.call_reaches(anns.id, "HANGUP", timeout=15)
        await sue.call_reaches(bobs.id, "HANGUP", timeout=15)
        assert ann.connector.active_calls() == [] and bob.connector.active_calls() == []
        assert sue.connector.active_calls() == []

        # then through the sales queue: Ann calls 6001 and waits there, as Sue sees; Bob's phone rings (Ann's
        # does not: she is busy, ringinuse = no) and he takes the call
        for event in ringing.values():
            event.clear()
        queued = (await ann.connector.call("6001")).value  # type: ignore[union-attr]
        await asyncio.wait_for(ringing["1001"].wait(), 15)
        assert (await handsets["1001"].request("accept")).ok
        waiting = await sue.wait_for(lambda: on_line(sue, "queue:sales", "RINGING"), 15, "Ann waiting in sales")
        assert isinstance(waiting, Call) and waiting.queue_position == 1, waiting
        await asyncio.wait_for(ringing["1002"].wait(), 15)
        assert (await handsets["1002"].request("accept")).ok
        assert (await sue.call_reaches(waiting.id, "HANGUP", timeout=15)).cause == "transferred"  # taken
        await ann.call_reaches(queued, "CONNECTED", timeout=15)  # type: ignore[arg-type]
        taken = await sue.wait_for(lambda: on_line(sue, "user:1002", "CONNECTED"), 15, "Bob took the queue call")
        assert isinstance(taken, Call) and taken.direction is Direction.INBOUND, taken
        assert await ann.connector.terminate(queued)  # type: ignore[arg-type]
        await sue.call_reaches(taken.id, "HANGUP", timeout=15)
        await sue.wait_for(lambda: not sue.connector.active_calls(), 15, "all three lines idle")
    finally:
        for handset in handsets.values():
            await handset.close()
        for user in (ann, bob, sue):
            await user.connector.logout()


def test_serve_says_in_one_line_when_asterisk_refuses_the_secret(asterisk: Lab, tmp_path: Path) -> None:
    result = subprocess.run(
        serve_command(asterisk, org_file(tmp_path), free_port()),
        env=environment(tmp_path, "wrong-secret-4711"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert "wrong-secret-4711" not in result.stderr + result.stdout
