"""Text from outside made safe to show: control characters become visible, never live.

A caller's name, a number, a server frame or a history row is data. A terminal acts on control characters
(``ESC ]2;…`` retitles it, ``ESC [5m`` blinks), BIDI overrides reorder what the agent reads, and a lone
surrogate cannot even be encoded. :func:`visible` replaces each with a visible stand-in: C0 controls with
their Unicode control pictures (``\\x1b`` → ``␛``), DEL with ``␡``, C1 controls, BIDI controls and lone
surrogates with a ``\\xNN`` / ``\\uNNNN`` escape. Pure and cheap: text with nothing to replace is returned as is.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from cti_tui.core.availability import Availability
from cti_tui.core.model import Call, DirectoryEntry, Identity

_Shown = TypeVar("_Shown", Call, DirectoryEntry, Identity, Availability)
# the fields a person reads; ids and line names are keys the backend matched on, and stay as sent
_SHOWN_FIELDS = {
    Call: ("source", "destination", "source_name", "destination_name", "cause"),
    DirectoryEntry: ("name", "number", "outside_number"),
    Identity: ("email", "name", "extension"),
    Availability: ("reason", "disposition", "note"),
}

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control, BIDI override and lone surrogate replaced by a visible stand-in."""
    return _UNSAFE.sub(_stand_in, text) if _UNSAFE.search(text) else text


def is_visible(text: str) -> bool:
    """Whether ``text`` is already safe to show (what every string past the engine's boundary must be)."""
    return _UNSAFE.search(text) is None


def shown(item: _Shown) -> _Shown:
    """``item`` with every field a person reads made :func:`visible` (the same object when nothing changes)."""
    changes: dict[str, Any] = {}
    for name in _SHOWN_FIELDS[type(item)]:
        value = getattr(item, name)
        if isinstance(value, str) and _UNSAFE.search(value):
            changes[name] = visible(value)
    return dataclasses.replace(item, **changes) if changes else item
