"""The Asterisk Manager Interface (AMI) wire format — sans-I/O: bytes in, typed messages out; actions to bytes.

Why not a library. The AMI clients on PyPI were read before writing this (their current releases):
``panoramisk`` 1.4 (2021) parses inside an ``asyncio.Protocol`` (no sans-I/O core to fuzz), buffers without
a bound, folds repeated headers into an unordered list and sorts an action's headers (``Action`` is no
longer first); ``asterisk-ami`` 0.1.7 is a threaded, blocking client; ``astami`` 1.1 reads a response with
``readuntil`` and drops the events that arrive in between. None refuses CR/LF in a value, so each lets a
caller name or a number typed by a user inject headers into an action. AMI framing is small (lines of
``Key: Value`` ended by a blank line), so the codec is this module, with the bounds and refusals tested.

What it follows (Asterisk 22, measured in the project's notes, asterisk-test-pbx.md):

- On connect Asterisk sends one banner line, ``Asterisk Call Manager/<version>`` (no blank line after).
- Every message is ``Key: Value`` lines ended by ``\\r\\n`` and closed by an empty line. A line splits at
  its first ``": "`` (as Asterisk reads headers: name, colon, space), else at its first colon. The first header
  says what it is: ``Response:`` (``Success``, ``Error``, ``Follows``, ``Goodbye``), ``Event:`` or, from a
  client, ``Action:``. Headers repeat (``ChanVariable``, ``Output``, ``Variable``) and their order matters,
  so a message keeps every ``(key, value)`` pair in order; lookups are case-insensitive, first match wins.
  A line without a colon (an old ``Response: Follows`` body) goes to :attr:`Response.body` (an event or
  action has no body: such a line in one is dropped).
- Lists: a list action (CoreShowChannels, QueueStatus, ParkedCalls, DeviceStateList, …) is answered by a
  ``Response`` with ``EventList: start``, then events carrying the action's ``ActionID``, then a closing
  event (``CoreShowChannelsComplete``, ``EventList: Complete``). :class:`ActionTracker` puts them together
  into one :class:`Reply` by ``ActionID``; events it is not collecting pass through untouched.

Robustness: :meth:`AmiParser.feed` never raises. Input is decoded as UTF-8 with replacement characters;
lines may end in ``\\n`` alone (a lone CR stays in its value); blank lines between messages are skipped.
A message larger than ``max_message`` bytes or with more than ``max_fields`` lines becomes a
:class:`ParseError` item and its bytes are dropped as they arrive (memory stays bounded); parsing resumes
after its closing blank line, so one bad message does not cost the connection. A block with no
``Response``/``Event``/``Action`` header is a :class:`ParseError` too (its fields kept for diagnosis).

Encoding refuses what would change the framing: CR, LF or NUL in a key or value (header injection), an
empty key or one with a colon, a second ``Action``/``ActionID`` given as a field.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import cast

BANNER_PREFIX = "Asterisk Call Manager/"
MAX_MESSAGE = 1 << 20
"""Largest message accepted (1 MiB): an event is 0.3-2 kB; a ``Command`` answer of a busy PBX some tens of kB."""
MAX_FIELDS = 10_000
"""Most lines in one message (``Command`` output is one ``Output:`` line per CLI line)."""
MAX_LIST_ITEMS = 100_000
"""Most events collected for one list action (CoreShowChannels of a very large PBX is a few thousand)."""

_SECRET_KEYS = frozenset({"secret", "key"})
_BANNER_MAX = 256
_END = re.compile(rb"\n\r?\n")  # a blank line closes a message (CRLF or a bare LF)


class AmiEncodeError(ValueError):
    """An action that cannot be put on the wire as given (it would break or inject framing)."""


Fields = tuple[tuple[str, str], ...]


def _get(fields: Fields, key: str, default: str = "") -> str:
    wanted, size = key.casefold(), len(key)
    for name, value in fields:
        if len(name) == size and (name == key or name.casefold() == wanted):
            return value
    return default


def _get_all(fields: Fields, key: str) -> list[str]:
    wanted, size = key.casefold(), len(key)
    return [value for name, value in fields if len(name) == size and (name == key or name.casefold() == wanted)]


def _shown(fields: Fields) -> str:
    return ", ".join(f"{k}={'***' if k.casefold() in _SECRET_KEYS else v!r}" for k, v in fields)


class _Headers:
    """Lookup helpers shared by every message kind (a mixin over ``fields``)."""

    __slots__ = ()
    fields: Fields

    def get(self, key: str, default: str = "") -> str:
        """The first value of ``key`` (case-insensitive), else ``default``."""
        return _get(self.fields, key, default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated header, in order (``ChanVariable``, ``Output``)."""
        return _get_all(self.fields, key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(name.casefold() == key.casefold() for name, _ in self.fields)

    @property
    def action_id(self) -> str:
        return _get(self.fields, "ActionID")

    def variables(self, key: str = "ChanVariable") -> dict[str, str]:
        """``ChanVariable: NAME=value`` headers as a dict (later ones win, as Asterisk sets them in order)."""
        out: dict[str, str] = {}
        for item in _get_all(self.fields, key):
            name, _, value = item.partition("=")
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line: ``Asterisk Call Manager/6.0.0`` → version ``6.0.0`` (the AMI version, not Asterisk's)."""

    version: str
    text: str


@dataclass(frozen=True, slots=True, repr=False)
class Response(_Headers):
    """``Response: Success|Error|Follows|Goodbye`` and its headers; ``body`` holds lines without a colon."""

    fields: Fields
    body: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return self.fields[0][1] if self.fields else ""

    @property
    def ok(self) -> bool:
        return self.status.casefold() in ("success", "follows", "goodbye")

    @property
    def message(self) -> str:
        return _get(self.fields, "Message")

    @property
    def starts_list(self) -> bool:
        return _get(self.fields, "EventList").casefold() == "start"

    def __repr__(self) -> str:
        return f"Response({_shown(self.fields)}{f', body={list(self.body)!r}' if self.body else ''})"


@dataclass(frozen=True, slots=True, repr=False)
class Event(_Headers):
    """``Event: Name`` and every header in order, duplicates kept."""

    fields: Fields

    @property
    def name(self) -> str:
        return self.fields[0][1] if self.fields else ""

    @property
    def closes_list(self) -> bool:
        return _get(self.fields, "EventList").casefold() == "complete"

    def __repr__(self) -> str:
        return f"Event({_shown(self.fields)})"


@dataclass(frozen=True, slots=True, repr=False)
class Action(_Headers):
    """An action as a client sent it (what a test AMI server, or a recorder, reads). ``Secret`` is never shown."""

    fields: Fields

    @property
    def name(self) -> str:
        return self.fields[0][1] if self.fields else ""

    def __repr__(self) -> str:
        return f"Action({_shown(self.fields)})"


@dataclass(frozen=True, slots=True, repr=False)
class ParseError:
    """Input that is not an AMI message; the stream goes on after it. ``size`` is how many bytes it had."""

    reason: str
    size: int
    fields: Fields = ()

    def __repr__(self) -> str:
        return f"ParseError({self.reason!r}, size={self.size}{', ' + _shown(self.fields) if self.fields else ''})"


Message = Response | Event | Action
Item = Banner | Response | Event | Action | ParseError


def parse_block(block: bytes, max_fields: int = MAX_FIELDS) -> Message | ParseError:
    """One message without its closing blank line (lines ended by CRLF or LF)."""
    return _parse(block, max_fields) or ParseError("no header at all", len(block))


def _parse(block: bytes | bytearray, max_fields: int) -> Message | ParseError | None:
    """``None`` for a block of blank lines (between messages)."""
    text = block.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    pairs = [line.split(": ", 1) for line in text.split("\n") if line]
    if not pairs:
        return None
    if len(pairs) > max_fields:
        return ParseError(f"message of more than {max_fields} lines", len(block))
    body: tuple[str, ...] = ()
    if len(pairs) * 2 == sum(map(len, pairs)):  # every line is ``Key: Value`` (the fast path, ~all of them)
        fields = cast(Fields, tuple(map(tuple, pairs)))
    else:
        slow, lines = _slow_fields(text)
        fields, body = tuple(slow), tuple(lines)
    kind = fields[0][0] if fields else ""
    if kind == "Event" or kind.casefold() == "event":
        return Event(fields)
    if kind == "Response" or kind.casefold() == "response":
        return Response(fields, body)
    if kind == "Action" or kind.casefold() == "action":
        return Action(fields)
    reason = "no Response, Event or Action header" if fields else "no header at all"
    return ParseError(reason, len(block), fields[:16])


def _slow_fields(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Line by line, for a block with lines that are not ``Key: Value``: ``Key:Value`` splits at its colon;
    a line with no colon is body; a block whose first line has no colon is no message (no fields)."""
    fields: list[tuple[str, str]] = []
    body: list[str] = []
    for line in text.split("\n"):
        if not line:
            continue  # blank lines before a message
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
        if not sep:
            if not fields:
                break  # a message starts with its kind header: this block is not a message
            body.append(line)
            continue
        fields.append((key, value))
    return fields, body


class AmiParser:
    """Incremental AMI parser: ``feed(bytes) -> list[Item]``; any chunking gives the same items.

    ``expect_banner``: the first line of a connection is the banner (a client reading Asterisk); a server
    reading a client passes False. Never raises; memory is bounded by ``max_message`` (+ one read).
    """

    def __init__(
        self, *, expect_banner: bool = True, max_message: int = MAX_MESSAGE, max_fields: int = MAX_FIELDS
    ) -> None:
        self.max_message = max_message
        self.max_fields = max_fields
        self._banner_pending = expect_banner
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already searched for a message end
        self._skipping = 0  # > 0: inside an oversized message, this many bytes dropped so far
        self.errors = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self, *, expect_banner: bool = True) -> None:
        """Forget everything (a new connection)."""
        self._buffer.clear()
        self._scanned = 0
        self._skipping = 0
        self._banner_pending = expect_banner

    def feed(self, data: bytes) -> list[Item]:
        out: list[Item] = []
        buffer = self._buffer
        buffer += data
        if self._banner_pending and not self._banner(out):
            return out
        start = 0
        for match in _END.finditer(buffer, max(0, self._scanned - 2)):
            end = match.start()  # the message is buffer[start : end + 1], its last line's LF included
            if self._skipping:
                self._error(out, f"message of more than {self.max_message} bytes", self._skipping + match.end())
                self._skipping = 0
            elif end - start > self.max_message:
                self._error(out, f"message of more than {self.max_message} bytes", match.end() - start)
            else:
                item = _parse(buffer[start : end + 1], self.max_fields)
                if item is not None:
                    if isinstance(item, ParseError):
                        self.errors += 1
                    out.append(item)
            start = match.end()
        if start:
            del buffer[:start]
        self._scanned = len(buffer)
        if len(buffer) - 2 > self.max_message:
            # An unfinished message already too big (at most 2 bytes of its end can be here): drop it as it
            # arrives, keeping the 2 bytes that may begin the blank line that ends it.
            self._skipping += len(buffer) - 2
            del buffer[:-2]
            self._scanned = 0
        return out

    def _banner(self, out: list[Item]) -> bool:
        """Take the banner line if it is complete; False while it is still arriving."""
        newline = self._buffer.find(b"\n", 0, _BANNER_MAX)
        if newline < 0:
            if len(self._buffer) >= _BANNER_MAX:  # no banner is this long: parse it all as messages
                self._banner_pending = False
                return True
            return False
        line = bytes(self._buffer[:newline]).rstrip(b"\r").decode("utf-8", "replace")
        self._banner_pending = False
        if line.startswith(BANNER_PREFIX):
            out.append(Banner(line[len(BANNER_PREFIX) :].strip(), line))
            del self._buffer[: newline + 1]
        return True  # anything else is parsed as messages

    def _error(self, out: list[Item], reason: str, size: int) -> None:
        self.errors += 1
        out.append(ParseError(reason, size))


# --- encoding -------------------------------------------------------------------------------------------------


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text or "\x00" in text:
        raise AmiEncodeError(f"{what} contains CR, LF or NUL (header injection): {text!r}")
    return text


def _value(value: object, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise AmiEncodeError(f"AMI header {key!r} must be str, int or bool, got {type(value).__name__}")
    return _check(value, f"value of {key!r}")


def _key(key: object) -> str:
    if not isinstance(key, str) or not key or key != key.strip() or ":" in key:
        raise AmiEncodeError(f"bad AMI header name {key!r}")
    return _check(key, "header name")


def encode_fields(fields: Iterable[tuple[str, object]]) -> bytes:
    """Any message (an action, or a response/event from a test server): ``Key: Value`` lines + a blank line."""
    lines = [f"{_key(key)}: {_value(value, key)}\r\n" for key, value in fields]
    try:
        return ("".join(lines) + "\r\n").encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AmiEncodeError(f"AMI message is not encodable as UTF-8: {exc}") from None


def encode_action(
    action: str,
    fields: Mapping[str, object] | Iterable[tuple[str, object]] = (),
    action_id: str | None = None,
) -> bytes:
    """``Action`` first, then ``ActionID`` (if given), then ``fields`` in order (pairs may repeat a key)."""
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    if not isinstance(action, str) or not action.strip() or any(c.isspace() for c in action):
        raise AmiEncodeError(f"bad AMI action name {action!r}")
    for key, _ in pairs:
        if isinstance(key, str) and key.casefold() in ("action", "actionid"):
            raise AmiEncodeError(f"{key!r} given as a field: pass the action name / action_id instead")
    head: list[tuple[str, object]] = [("Action", action)]
    if action_id is not None:
        head.append(("ActionID", action_id))
    return encode_fields([*head, *pairs])


def encode_login(username: str, secret: str, action_id: str | None = None, events: str = "on") -> bytes:
    """The ``Login`` action (``Events: on`` for every class the user may read, or a class list / ``off``)."""
    return encode_action("Login", [("Username", username), ("Secret", secret), ("Events", events)], action_id)


class ActionIds:
    """ActionIDs unique to one connection (``cti-<random>-1``, …), so a late answer to an action sent on an
    earlier connection never matches one sent on this one."""

    def __init__(self, prefix: str = "cti") -> None:
        self.prefix = f"{prefix}-{secrets.token_hex(3)}"
        self._numbers: Iterator[int] = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}-{next(self._numbers)}"


# --- correlation: responses and lists by ActionID -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """The whole answer to one action: its :class:`Response`, and for a list action the events and the
    closing event. ``truncated``: more than the tracker's ``max_items`` came, the rest were dropped."""

    action_id: str
    action: str
    response: Response
    items: tuple[Event, ...] = ()
    complete: Event | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.response.ok

    @property
    def message(self) -> str:
        return self.response.message

    def events(self, name: str) -> list[Event]:
        wanted = name.casefold()
        return [item for item in self.items if item.name.casefold() == wanted]


@dataclass
class _Collecting:
    action: str
    response: Response | None = None
    items: list[Event] = field(default_factory=list)
    truncated: bool = False


class ActionTracker:
    """Match what Asterisk sends to the actions sent, by ``ActionID``; sans-I/O.

    Call :meth:`sent` for each action written, then pass every parsed item through :meth:`receive`: it
    returns a :class:`Reply` when an action's answer is complete (at once for a plain action; at the closing
    event for a list), and returns every other item unchanged (events of the PBX, responses nobody awaits).
    """

    def __init__(self, max_items: int = MAX_LIST_ITEMS) -> None:
        self.max_items = max_items
        self._pending: dict[str, _Collecting] = {}

    @property
    def pending(self) -> list[str]:
        return list(self._pending)

    def sent(self, action_id: str, action: str) -> None:
        self._pending[action_id] = _Collecting(action)

    def forget(self, action_id: str) -> None:
        """Stop waiting for one action (its caller timed out)."""
        self._pending.pop(action_id, None)

    def clear(self) -> list[str]:
        """The connection is gone: every pending ActionID, now forgotten."""
        gone = list(self._pending)
        self._pending.clear()
        return gone

    def receive(self, item: Item) -> list[Item | Reply]:
        if not self._pending:
            return [item]  # (most of the time: nothing is awaited, every event passes)
        if isinstance(item, Response):
            collecting = self._pending.get(item.action_id) if item.action_id else None
            if collecting is None or collecting.response is not None:
                return [item]
            if item.ok and item.starts_list:
                collecting.response = item
                return []
            del self._pending[item.action_id]
            return [Reply(item.action_id, collecting.action, item)]
        if isinstance(item, Event) and item.action_id:
            collecting = self._pending.get(item.action_id)
            if collecting is None or collecting.response is None:
                return [item]
            if item.closes_list or (item.name.endswith("Complete") and "EventList" not in item):
                del self._pending[item.action_id]
                return [
                    Reply(
                        item.action_id,
                        collecting.action,
                        collecting.response,
                        tuple(collecting.items),
                        item,
                        collecting.truncated,
                    )
                ]
            if len(collecting.items) < self.max_items:
                collecting.items.append(item)
            else:
                collecting.truncated = True
            return []
        return [item]
