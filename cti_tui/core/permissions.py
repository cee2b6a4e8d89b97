"""Who may watch which line and act on which call (SPEC §3), as pure functions over a role policy.

An agent controls calls on its own line; watching another line needs a subscription its role allows;
acting on a watched line's call needs its role to allow that operation there. Shared by the embedded PBX
and the server so the rule is written once and enforced where the truth lives, never trusted to a client.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from fnmatch import fnmatchcase

from cti_tui.core.model import Call, Identity, Operation, Role


@dataclass(frozen=True, slots=True)
class RolePolicy:
    """``watch``: glob patterns of nodes the role may subscribe to; ``act_on_watched``: operations it may
    apply to calls on lines it watches (its own line always allows everything)."""

    watch: tuple[str, ...]
    act_on_watched: frozenset[Operation]


DEFAULT_POLICIES: dict[Role, RolePolicy] = {
    Role.AGENT: RolePolicy(
        watch=("user:*", "queue:*", "callpark", "conf:*"),
        act_on_watched=frozenset({Operation.UNPARK}),
    ),
    Role.SUPERVISOR: RolePolicy(
        watch=("*",),
        act_on_watched=frozenset({Operation.HANGUP, Operation.TRANSFER, Operation.UNPARK, Operation.PICKUP}),
    ),
}


def may_watch(policies: dict[Role, RolePolicy], identity: Identity, node: str) -> bool:
    if node == identity.line:
        return True
    policy = policies.get(identity.role)
    return policy is not None and any(fnmatchcase(node, pattern) for pattern in policy.watch)


def may_see(identity: Identity, call: Call) -> bool:
    """A supervisor's listening leg (``monitor``) is shown to that supervisor and other supervisors, never
    to an agent watching the supervisor's line: it would tell the agent it is being listened to."""
    return not call.monitor or call.line == identity.line or identity.role is Role.SUPERVISOR


def may_act(
    policies: dict[Role, RolePolicy],
    identity: Identity,
    operation: Operation,
    call_line: str,
    watched: Collection[str],
) -> bool:
    """May ``identity`` apply ``operation`` to a call on ``call_line``, given the lines it watches?"""
    if call_line == identity.line:
        return True
    policy = policies.get(identity.role)
    return policy is not None and call_line in watched and operation in policy.act_on_watched
