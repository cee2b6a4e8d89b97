"""A real backend whose commands wait until ``width`` of them are in flight (shared by engine and server tests):
what a backend with I/O (a softphone, Asterisk) does to a session whose commands overlap."""

from __future__ import annotations

import asyncio
from typing import Any

from cti_tui.core import commands as cmd
from cti_tui.core.backend import Backend


class Overlapping:
    """The wrapped backend, except that each command waits (at most ``timeout`` s) until ``width`` arrived."""

    def __init__(self, backend: Backend, width: int, timeout: float = 5.0) -> None:
        self.backend = backend
        self.width = width
        self.timeout = timeout
        self.arrived = 0
        self.all_in = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        self.arrived += 1
        if self.arrived >= self.width:
            self.all_in.set()
        await asyncio.wait_for(self.all_in.wait(), self.timeout)
        return await self.backend.execute(command)
