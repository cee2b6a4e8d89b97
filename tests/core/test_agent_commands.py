"""Who may send which agent command under an org file (cti_tui.core.agent_commands.refusal): anyone for
itself, a supervisor for another agent on a line it watches, nobody else."""

from __future__ import annotations

import pytest

from cti_tui.core.agent_commands import AgentCommand, QueueLogin, QueueLogout, QueuePause, Spy, SpyMode, refusal
from cti_tui.core.model import Role

AGENT, SUPERVISOR = Role.AGENT, Role.SUPERVISOR


@pytest.mark.parametrize(
    "command",
    [QueueLogin("sales"), QueueLogout("sales"), QueuePause(True, "lunch"), QueuePause(False, extension="1001")],
)
def test_anyone_manages_its_own_availability(command: AgentCommand) -> None:
    assert refusal(command, AGENT, "1001", ()) is None
    assert refusal(command, SUPERVISOR, "1001", ()) is None


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (QueuePause(True, "lunch", extension="1002"), "only a supervisor may change 1002's queue membership"),
        (QueueLogout("sales", "1002"), "only a supervisor may change 1002's queue membership"),
        (Spy("1002"), "only a supervisor may listen in on calls"),
        (Spy("1002", SpyMode.BARGE), "only a supervisor may listen in on calls"),
    ],
)
def test_an_agent_cannot_act_on_another_even_on_a_watched_line(command: AgentCommand, reason: str) -> None:
    assert refusal(command, AGENT, "1001", ("user:1002", "queue:sales")) == reason


def test_a_supervisor_acts_on_the_lines_it_watches() -> None:
    watched = ("user:1001", "queue:support")
    assert refusal(Spy("1001"), SUPERVISOR, "1100", watched) is None
    assert refusal(QueuePause(True, "coaching", extension="1001"), SUPERVISOR, "1100", watched) is None
    assert refusal(QueueLogin("support", "1003"), SUPERVISOR, "1100", watched) is None  # the queue is watched
    # not watched: neither the agent's line nor the queue
    for command in (Spy("1002"), QueuePause(True, extension="1002"), QueueLogin("sales", "1002")):
        assert refusal(command, SUPERVISOR, "1100", watched) == (
            "watch user:1002 first: a supervisor acts on the lines it watches"
        )
    # pausing in every queue is about the agent, not one queue: its line must be watched
    assert refusal(QueuePause(True, extension="1003"), SUPERVISOR, "1100", watched) is not None
