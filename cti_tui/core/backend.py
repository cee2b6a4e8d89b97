"""The Backend protocol and its capabilities: what the connector needs from any telephony world.

The embedded PBX, the CTI server and a SIP softphone each implement this; the connector and the UI never
ask which one they have, only what it can do (``capabilities``), so a new backend plugs in unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cti_tui.core.commands import AuthOutcome, Command, CommandResult, Credentials, Report
from cti_tui.core.model import DirectoryEntry, Operation, Role
from cti_tui.core.permissions import RolePolicy

ReportSink = Callable[[Report], None]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do. The connector refuses the rest with INFO ``not_supported``; the UI hides it."""

    operations: frozenset[Operation]
    click_to_call: bool = True  # outbound calls start INITIAL/ACCEPTED (the agent's own phone rings first)
    subscribe: bool = True
    mute: bool = False  # the agent's microphone can be turned off per call
    consult_transfer: bool = False  # a supervised transfer can stop at the consult stage (complete, cancel, swap)
    auto_answer: bool = True
    api_key_login: bool = True
    two_factor: bool = True
    park_slots: int = 0
    sip_uris: bool = False  # destinations may be SIP URIs (sip:user@host), dialled as given
    agent_states: bool = False  # availability, queue login/logout, wrap-up and dispositions
    # what each role may do on lines it watches, when the backend tells; None: unknown, let it decide
    policies: Mapping[Role, RolePolicy] | None = None

    def supports(self, operation: Operation) -> bool:
        return operation in self.operations


ALL_OPERATIONS = frozenset(Operation)


class Backend(Protocol):
    """One telephony world, as seen by one logged-in session."""

    name: str
    capabilities: Capabilities

    async def login(self, credentials: Credentials) -> AuthOutcome: ...

    async def two_factor_auth(self, nonce: str, code: str) -> AuthOutcome: ...

    async def open(self, sink: ReportSink) -> None:
        """Start delivering reports for the logged-in identity; the first is a :class:`Snapshot`."""
        ...

    async def close(self) -> None: ...

    async def execute(self, command: Command) -> CommandResult: ...

    async def directory(self) -> list[DirectoryEntry]:
        """Who and what can be dialled or watched (empty when the backend has no directory)."""
        ...

    def now(self) -> datetime:
        """The time in this backend's world (the demo's clock may run fast or virtual): what the connector
        stamps a call it ends itself with, and what the screen counts call durations against."""
        ...


class Authenticator(Protocol):
    """Who may log in: checks credentials for a host that serves many users (``cti-tui serve``).

    A backend that can vouch for many users (a PBX: the embedded one, Asterisk) has one; a client of one
    user's world (the CTI server's client, a softphone) authenticates inside its own ``login``.
    """

    def authenticate(self, credentials: Credentials) -> AuthOutcome: ...

    def two_factor_auth(self, nonce: str, code: str) -> AuthOutcome: ...
