"""The Asterisk backend's watched lines, queue membership and supervisor listening — the I/O side.

Around the pure :class:`~cti_tui.protocol.ami_lines.LineWatch`: which AMI list a subscription needs for its
present (CoreShowChannels for ``user:``, QueueStatus, ParkedCalls, ConfbridgeList), and the actions of an
agent's availability (QueueAdd / QueueRemove / QueuePause) and of a supervisor (Originate of ChanSpy to the
supervisor's own phone). :class:`LineDesk` only sends actions through the backend's ``action`` callable and
hands the resulting reports to its ``report`` sink, so the connection it rides on is the backend's business.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping

from cti_tui.core import commands as cmd
from cti_tui.core.agent_commands import AgentCommand, QueueLogin, QueueLogout, QueuePause, Spy, SpyMode
from cti_tui.core.model import Call, DirectoryEntry, EntryKind, ErrorCode
from cti_tui.protocol.ami import Event, Reply
from cti_tui.protocol.ami_lines import CONF, PARK_LINE, QUEUE, USER, LineWatch

Action = Callable[..., Awaitable[Reply]]
"""``action(name, fields, check=False)``: the backend's way to send one AMI action and await its reply."""

NAME = re.compile(r"[A-Za-z0-9_.+-]{1,40}")  # an extension, a queue, a room: nothing AMI or ChanSpy would parse
SPY_TIMEOUT_MS = 30000  # how long the supervisor's phone rings
SPY_OPTIONS = {SpyMode.LISTEN: "qE", SpyMode.WHISPER: "qEw", SpyMode.BARGE: "qEB"}  # q: no beep, E: end with the call


def _refused(code: ErrorCode, message: str) -> cmd.CommandResult:
    return cmd.CommandResult.info(code, message)


class LineDesk:
    """One session's watched lines and agent actions on Asterisk."""

    def __init__(self, lines: LineWatch, action: Action, report: Callable[[cmd.Report], None], own: str) -> None:
        """``own``: the logged-in user's extension (its queue membership by default; its phone rings for ChanSpy)."""
        self.lines = lines
        self.action = action
        self.report = report
        self.own = own

    # --- subscriptions -----------------------------------------------------------------------------------

    async def subscribe(self, node: str) -> cmd.CommandResult:
        """Watch ``node``: check it exists, take in its present (sent as reports), then follow it."""
        kind, _, ident = node.partition(":")
        if node != PARK_LINE and not NAME.fullmatch(ident):
            return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"there is no line {node!r} on Asterisk")
        channels: Iterable[Event] = ()
        if node.startswith(USER):
            if not (await self.action("PJSIPShowEndpoint", {"Endpoint": ident}, check=False)).ok:
                return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"Asterisk has no PJSIP endpoint {ident!r}")
            channels = (await self.action("CoreShowChannels")).items
        elif node.startswith(QUEUE):
            reply = await self.action("QueueStatus", {"Queue": ident})
            if not reply.events("QueueParams"):
                return cmd.CommandResult.error(ErrorCode.UNKNOWN_NODE, f"Asterisk has no queue {ident!r}")
            self.lines.seed(reply.items)
        elif node == PARK_LINE:
            self.lines.seed((await self.action("ParkedCalls")).items)
        elif node.startswith(CONF):
            self.lines.seed(await self.room(ident))
        else:
            wanted = "user:, queue:, conf: and callpark"
            return _refused(ErrorCode.NOT_SUPPORTED, f"Asterisk lines are {wanted}, not {kind}:")
        for report in self.lines.watch(node, channels):
            self.report(report)
        return cmd.CommandResult.done()

    def unsubscribe(self, node: str) -> cmd.CommandResult:
        self.lines.unwatch(node)
        return cmd.CommandResult.done()

    async def room(self, name: str) -> tuple[Event, ...]:
        """Who is in conference room ``name`` (an empty room answers with an error: nobody)."""
        reply = await self.action("ConfbridgeList", {"Conference": name}, check=False)
        return reply.items if reply.ok else ()

    async def resync(self, channels: Iterable[Event], lists: Mapping[str, Reply]) -> list[Call]:
        """The watched lines' present after a (re)connect (``lists``: the backend's QueueStatus, ParkedCalls,
        DeviceStateList replies)."""
        rooms: list[Event] = []
        for node in self.lines.watched:
            if node.startswith(CONF):
                rooms += await self.room(node.removeprefix(CONF))

        def items(name: str) -> tuple[Event, ...]:
            reply = lists.get(name)
            return reply.items if reply is not None else ()

        return self.lines.resync(
            channels=channels,
            queue_status=items("QueueStatus"),
            parked=items("ParkedCalls"),
            devices=items("DeviceStateList"),
            rooms=rooms,
        )

    async def directory(self) -> list[DirectoryEntry]:
        """What can be dialled and watched: the PJSIP endpoints that log in (they have an auth: users, not
        trunks), and the dialplan's extensions that run Queue, ConfBridge or Park (ShowDialPlan), so a
        queue is offered under the number that reaches it."""
        names = {m.extension: m.name for m in self.lines.members.values() if m.name}
        entries: dict[str, DirectoryEntry] = {}
        for item in (await self.action("PJSIPShowEndpoints", check=False)).items:
            user = item.get("ObjectName")
            if item.name == "EndpointList" and item.get("Auths") and NAME.fullmatch(user):
                node = USER + user
                entries[node] = DirectoryEntry(names.get(user, user), user, EntryKind.USER, node)
        for item in (await self.action("ShowDialPlan", check=False)).items:
            number, app = item.get("Extension"), item.get("Application").casefold()
            target = item.get("AppData").partition(",")[0]
            if not NAME.fullmatch(number) or not NAME.fullmatch(target or PARK_LINE):
                continue
            if app == "queue":
                kind, node, name = EntryKind.QUEUE, QUEUE + target, f"queue {target}"
            elif app == "confbridge":
                kind, node, name = EntryKind.CONFERENCE, CONF + target, f"conference {target}"
            elif app == "park":  # the lot's own number (700); its slots run ParkedCall
                kind, node, name = EntryKind.PARK, PARK_LINE, "park lot"
            else:
                continue
            if node not in entries:
                entries[node] = DirectoryEntry(name, number, kind, node)
        return sorted(entries.values(), key=lambda e: (e.kind.value != "user", e.number))

    # --- agent availability and supervisor actions -------------------------------------------------------

    async def execute(self, command: AgentCommand) -> cmd.CommandResult:
        extension = getattr(command, "extension", None) or self.own
        if not NAME.fullmatch(extension):
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"{extension!r} is not an extension")
        queue = getattr(command, "queue", None)
        if queue is not None and not NAME.fullmatch(queue):
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, f"{queue!r} is not a queue")
        interface = f"PJSIP/{extension}"
        match command:
            case QueueLogin(queue=queue):
                fields = {"Queue": queue, "Interface": interface, "StateInterface": interface}
                return await self._agent("QueueAdd", fields)
            case QueueLogout(queue=queue):
                return await self._agent("QueueRemove", {"Queue": queue, "Interface": interface})
            case QueuePause(paused=paused, reason=reason, queue=queue):
                fields = {"Interface": interface, "Paused": "true" if paused else "false"}
                if queue is not None:
                    fields["Queue"] = queue
                if paused and reason:
                    fields["Reason"] = reason
                return await self._agent("QueuePause", fields)
            case Spy(mode=mode):
                return await self._spy(extension, mode)

    async def _agent(self, name: str, fields: dict[str, str]) -> cmd.CommandResult:
        reply = await self.action(name, fields, check=False)
        if not reply.ok:
            return _refused(ErrorCode.WRONG_STATE, f"Asterisk: {reply.message or name + ' failed'}")
        return cmd.CommandResult.done()

    async def _spy(self, extension: str, mode: SpyMode) -> cmd.CommandResult:
        """ChanSpy on ``extension``'s call, from the supervisor's own phone: Asterisk rings it (Originate),
        and once picked up it hears (whispers to, barges into) the agent's call; it ends with that call."""
        if extension == self.own:
            return cmd.CommandResult.error(ErrorCode.BAD_REQUEST, "one does not listen to one's own calls")
        prefix = f"PJSIP/{extension}-"
        channels = (await self.action("CoreShowChannels")).items
        if not any(item.get("Channel").startswith(prefix) for item in channels):
            return _refused(ErrorCode.WRONG_STATE, f"{extension} is not on a call")
        fields = [
            ("Channel", f"PJSIP/{self.own}"),
            ("Application", "ChanSpy"),
            ("Data", f"{prefix},{SPY_OPTIONS[mode]}"),
            ("CallerID", f'"{mode.value.title()} {extension}" <{extension}>'),
            ("Timeout", SPY_TIMEOUT_MS),
            ("Async", "true"),
        ]
        reply = await self.action("Originate", fields, check=False)
        if not reply.ok:
            return _refused(ErrorCode.BACKEND_FAILURE, f"Asterisk: {reply.message or 'Originate failed'}")
        return cmd.CommandResult.done()
