"""Destination validation and display formatting: E.164 via ``phonenumbers``, plus internal extensions.

SPEC §3: a destination is E.164 (``+`` and digits) or an internal extension (digits only); anything else
is refused before anything is dialled. People type numbers with spaces, dashes, dots and brackets, so
those separators are tolerated and dropped; letters and other symbols are not. A backend that dials SIP itself
(the softphone) also takes a SIP URI (``sip:user@host[:port]``), kept as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

EXTENSION_MAX_DIGITS = 6
_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164_SHAPE = re.compile(r"^\+[1-9][0-9]{1,14}$")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")
_SIP_URI = re.compile(
    r"^sips?:[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+@[A-Za-z0-9.\-]+(:[0-9]{1,5})?(;[A-Za-z0-9\-_.=~]+)*$", re.I
)


class InvalidNumber(ValueError):
    """The text is neither an E.164 number nor an internal extension; the message says why."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A validated destination: ``number`` is canonical (``+15550100`` or ``1002``)."""

    number: str
    is_extension: bool


def parse_destination(text: str, default_region: str | None = None, *, sip_uris: bool = False) -> Destination:
    """Validate and normalise what a user typed, or raise :class:`InvalidNumber` with a helpful reason.

    With ``default_region`` (e.g. ``"FR"``), a national number longer than an extension is accepted and
    turned into E.164; without it, such numbers must start with ``+``. With ``sip_uris`` (a backend that
    dials SIP itself), ``sip:user@host[:port]`` is accepted too.
    """
    raw = (text or "").strip()
    if not raw:
        raise InvalidNumber("no number given")
    if raw.lower().startswith(("sip:", "sips:")):
        if not sip_uris:
            raise InvalidNumber(f"{raw!r}: this phone system dials numbers, not SIP addresses")
        if not _SIP_URI.match(raw):
            raise InvalidNumber(f"{raw!r} is not a SIP address: use sip:user@host or sip:user@host:port")
        return Destination(raw, is_extension=False)
    compact = _SEPARATORS.sub("", raw)
    if compact.startswith("00") and _ASCII_DIGITS.match(compact[2:]):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        if not _E164_SHAPE.match(compact):
            raise InvalidNumber(f"{raw!r} is not an E.164 number: '+' then up to 15 digits, no leading 0")
        return Destination(_e164(compact, None, raw), is_extension=False)
    if not _ASCII_DIGITS.match(compact):
        raise InvalidNumber(f"{raw!r} is not a phone number: use +<country><number> or an extension")
    if len(compact) <= EXTENSION_MAX_DIGITS:
        return Destination(compact, is_extension=True)
    if default_region:
        return Destination(_e164(compact, default_region, raw), is_extension=False)
    raise InvalidNumber(f"{raw!r}: an outside number needs its country code, e.g. +1 202 555 0143")


def _e164(compact: str, region: str | None, raw: str) -> str:
    try:
        parsed = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(f"{raw!r} has the wrong number of digits for its country")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not _E164_SHAPE.match(e164):  # a national number can come out longer than E.164 allows
        raise InvalidNumber(f"{raw!r} is too long for a phone number (E.164 allows 15 digits)")
    return e164


def is_valid_destination(text: str) -> bool:
    try:
        parse_destination(text)
    except InvalidNumber:
        return False
    return True


@lru_cache(maxsize=8192)
def format_for_display(number: str) -> str:
    """``+12025550143`` -> ``+1 202-555-0143``; extensions and unparseable text come back unchanged.

    Cached: parsing costs ~80 µs and a wall redraws the same callers' numbers many times a second."""
    if not number or not number.startswith("+"):
        return number
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
