"""What a Connector command answers its caller: :class:`Done`, or :class:`Refused` with the reason.

Every refusal is also an INFO/ERROR event (SPEC §2), for whoever watches the session. The result tells the
caller that asked, directly: an event stream shared by several callers (a server session with two
connections, a login form and a dashboard) cannot say reliably which refusal answers which command.
``bool(result)`` is True only for :class:`Done`, so code that read the old ``bool`` returns still reads right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cti_tui.core.model import ActivityName, ErrorCode

T = TypeVar("T")

REFUSAL_LEVELS = frozenset({ActivityName.INFO, ActivityName.ERROR})


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """The command was carried out; ``value`` is what it made, if anything (``call``: the new call's id)."""

    value: T

    def __bool__(self) -> Literal[True]:
        return True


@dataclass(frozen=True, slots=True)
class Refused:
    """The command was not carried out. ``level`` INFO: it could not be done now and nothing is wrong (a
    call in the wrong state); ERROR: something is wrong (bad number, not permitted, backend down)."""

    level: ActivityName
    code: ErrorCode
    message: str
    call_id: str | None = None

    def __post_init__(self) -> None:
        if self.level not in REFUSAL_LEVELS:
            raise ValueError(f"a refusal is INFO or ERROR, not {self.level}")

    def __bool__(self) -> Literal[False]:
        return False

    @property
    def value(self) -> None:
        """None, as a refused ``call`` places no call: ``(await c.call(n)).value`` is the id or None."""
        return None


@dataclass(frozen=True, slots=True)
class TwoFactorRequired:
    """A login that is neither done nor refused: it waits for the TOTP code (``two_factor_auth``)."""

    nonce: str

    def __bool__(self) -> Literal[False]:
        return False

    @property
    def value(self) -> None:
        return None


DONE: Done[None] = Done(None)

Result = Done[None] | Refused
CallResult = Done[str] | Refused
LoginResult = Done[None] | TwoFactorRequired | Refused
