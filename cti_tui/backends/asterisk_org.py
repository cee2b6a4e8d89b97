"""Who is who on an Asterisk: the org file that maps cti-tui users to PJSIP endpoints, queues and rooms.

Asterisk knows endpoints, not people: it cannot say who may log in as 1001, nor who is a supervisor. The
org file says so. It is the embedded PBX's organisation format (:mod:`cti_tui.pbx.org`: ``[[users]]`` with
email, name, role, password hash and/or API key hashes, an optional TOTP secret; ``[[queues]]``,
``[[conferences]]``, ``[roles]``), so the same checks, hashing (``cti-tui hash-password``) and permission
rules apply, plus what only Asterisk needs:

- ``[asterisk]``: ``context`` (the dialplan context calls and transfers are dialled in, default
  ``internal``) and ``park_lot`` (the res_parking lot, default ``default``);
- per user ``endpoint``: the PJSIP endpoint (default: the user's extension);
- per queue ``queue``: the queue's name in queues.conf (default: its id);
- per conference ``bridge``: the ConfBridge name (default: its id).

docs/asterisk.md shows a whole file. The simulated world's tables (``[world]``, the IVRs' menus) mean
nothing here and are not used.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cti_tui.core.model import DirectoryEntry, EntryKind
from cti_tui.pbx.org import Organisation, OrgError, User, parse_org, read_org_text

_ENDPOINT = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class AsteriskOrg:
    """The organisation (users, queues, rooms, roles) and where each lives on the Asterisk."""

    org: Organisation
    endpoints: dict[str, str] = field(default_factory=dict)  # user email (lower case) -> PJSIP endpoint
    queue_names: dict[str, str] = field(default_factory=dict)  # queue id -> its name in queues.conf
    bridges: dict[str, str] = field(default_factory=dict)  # conference id -> ConfBridge name
    context: str = "internal"
    park_lot: str = "default"

    def user(self, email: str) -> User | None:
        return self.org.user_by_email(email)

    def endpoint_of(self, user: User) -> str:
        return self.endpoints.get(user.email.lower(), user.extension)

    def directory(self) -> list[DirectoryEntry]:
        """Everyone and everything the file names, by the extension one dials (as the demo PBX lists them);
        the node is Asterisk's name (``user:ENDPOINT``, ``queue:QUEUE``, ``conf:BRIDGE``), so watching it works."""
        org = self.org
        return [
            *(
                DirectoryEntry(u.name, u.extension, EntryKind.USER, f"user:{self.endpoint_of(u)}", u.number)
                for u in org.users
            ),
            *(
                DirectoryEntry(
                    q.name, q.extension, EntryKind.QUEUE, f"queue:{self.queue_names.get(q.id, q.id)}", q.number
                )
                for q in org.queues
            ),
            *(DirectoryEntry(i.name, i.extension, EntryKind.IVR, i.line, i.number) for i in org.ivrs),
            *(
                DirectoryEntry(
                    c.name, c.extension, EntryKind.CONFERENCE, f"conf:{self.bridges.get(c.id, c.id)}", c.number
                )
                for c in org.conferences
            ),
            DirectoryEntry("Call park", org.park_extension, EntryKind.PARK, "callpark"),
        ]


def load_asterisk_org(path: Path) -> AsteriskOrg:
    """The org file at ``path``; :class:`OrgError` names the file, the entry and what is wrong."""
    return parse_asterisk_org(read_org_text(path), str(path))


def parse_asterisk_org(text: str, source: str) -> AsteriskOrg:
    org = parse_org(text, source)  # the shared part, checked as for the embedded PBX (TOML errors included)
    data = tomllib.loads(text)

    def name(table: dict[str, Any], where: str, key: str, default: str, pattern: re.Pattern[str]) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not pattern.match(value):
            raise OrgError(
                f"{source}: {where}.{key}: expected a name like {default!r} ({pattern.pattern}), got {value!r}"
            )
        return value

    head = data.get("asterisk", {})
    if not isinstance(head, dict):
        raise OrgError(f"{source}: asterisk: expected an [asterisk] table")
    endpoints: dict[str, str] = {}
    owners: dict[str, str] = {}
    for i, (entry, user) in enumerate(zip(data.get("users", []), org.users, strict=True)):
        endpoint = name(entry, f"users[{i}]", "endpoint", user.extension, _ENDPOINT)
        if endpoint in owners:
            raise OrgError(f"{source}: users[{i}].endpoint: {endpoint!r} is already {owners[endpoint]}'s")
        owners[endpoint] = user.email
        endpoints[user.email.lower()] = endpoint
    queues = {
        queue.id: name(entry, f"queues[{i}]", "queue", queue.id, _NAME)
        for i, (entry, queue) in enumerate(zip(data.get("queues", []), org.queues, strict=True))
    }
    bridges = {
        room.id: name(entry, f"conferences[{i}]", "bridge", room.id, _NAME)
        for i, (entry, room) in enumerate(zip(data.get("conferences", []), org.conferences, strict=True))
    }
    return AsteriskOrg(
        org,
        endpoints,
        queues,
        bridges,
        context=name(head, "asterisk", "context", "internal", _NAME),
        park_lot=name(head, "asterisk", "park_lot", "default", _NAME),
    )
