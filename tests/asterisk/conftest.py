"""The session's Asterisk: the cached root (built here if missing), one instance on free ports for the whole
session, stopped by its PID at the end. Per test: registered baresip phones and an AMI client.

Locally, a machine that cannot run it (not root, no mmdebstrap and no cached root) skips these tests with
the reason; under CI (``CI`` set) that is a failure, never a skip: .ci/run builds the root first.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from amilab import AmiRecorder, Lab, RegisteredPhone, asterisk_lab, phone_for


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI: the Asterisk lab cannot run: {reason}", pytrace=False)
    pytest.skip(f"the Asterisk lab cannot run: {reason}")


@pytest.fixture(scope="session")
def asterisk() -> Iterator[Lab]:
    """A running Asterisk 22 (tools/asterisk_lab.py), ready (FullyBooted), for the whole session."""
    missing = [tool for tool in ("baresip", "sipp") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{' and '.join(missing)} not installed (Debian: apt-get install baresip-core sip-tester)")
    if os.geteuid() != 0:
        _unavailable("it needs root (Asterisk runs in a chroot)")
    try:
        asterisk_lab.build_root()  # reuses the cached root at once; builds it (20-60 s) only if missing
    except asterisk_lab.LabError as exc:
        _unavailable(str(exc))
    asterisk_lab.sweep("pytest-")  # labs of test runs that were killed before their teardown
    lab = Lab(f"pytest-{os.getpid()}", asterisk_lab.free_base())
    lab.start(timeout=60)
    try:
        yield lab
    finally:
        lab.stop()
        problems = lab.problems()
        lab.remove()
    assert not problems, f"Asterisk logged errors: {problems}"


@pytest.fixture
async def ami(asterisk: Lab) -> AsyncIterator[AmiRecorder]:
    """An AMI client logged in to the session's Asterisk, keeping every event."""
    recorder = await AmiRecorder.open(asterisk)
    try:
        yield recorder
    finally:
        await recorder.link.close()


@pytest.fixture
async def phones(asterisk: Lab, tmp_path: Path) -> AsyncIterator[Callable[..., RegisteredPhone]]:
    """``phones(user, answermode="manual")`` → a baresip registered as that user (started by the test with
    ``await phone.start()``); each is stopped by its PID at the end."""
    made: list[RegisteredPhone] = []

    def make(user: str, answermode: str = "manual") -> RegisteredPhone:
        phone = phone_for(asterisk, tmp_path, len(made), user, answermode)
        made.append(phone)
        return phone

    try:
        yield make
    finally:
        for phone in made:
            await phone.stop()
