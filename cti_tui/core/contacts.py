"""Who is calling: contacts read from CSV and vCard text, found by the number a call shows.

Numbers are compared in E.164 (``phonenumbers``), so ``(202) 555-0143`` in a file matches ``+12025550143``
on a call; internal extensions are kept as their digits. Pure: the text comes from whoever read the files
(config.py reads them; a file that cannot be read is a problem line, never a crash).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from cti_tui.core.numbers import EXTENSION_MAX_DIGITS

NAME_COLUMNS = ("name", "full name", "display name", "fn")
NUMBER_COLUMNS = ("number", "phone", "telephone", "tel", "mobile", "phone number")
COMPANY_COLUMNS = ("company", "organisation", "organization", "org")
NOTE_COLUMNS = ("note", "notes")


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    numbers: tuple[str, ...]
    company: str = ""
    note: str = ""


def normalise(number: str, region: str | None = None) -> str | None:
    """The E.164 form of ``number`` (or an extension's digits); None if it is no number."""
    text = re.sub(r"[\s\-.()/]", "", number or "")
    if text.isdigit() and len(text) <= EXTENSION_MAX_DIGITS:
        return text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def parse_csv(text: str) -> tuple[list[Contact], list[str]]:
    """Contacts from CSV with a header row (a name and a number column at least); problem lines for the rest."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    header, *body = rows
    name_at, number_at = _column(header, NAME_COLUMNS), _column(header, NUMBER_COLUMNS)
    if name_at is None or number_at is None:
        return [], [f"no name and number columns in the header {', '.join(header)!r}"]
    company_at, note_at = _column(header, COMPANY_COLUMNS), _column(header, NOTE_COLUMNS)

    def cell(row: list[str], at: int | None) -> str:
        return row[at].strip() if at is not None and at < len(row) else ""

    contacts = [
        Contact(cell(row, name_at), (cell(row, number_at),), cell(row, company_at), cell(row, note_at))
        for row in body
        if cell(row, name_at) and cell(row, number_at)
    ]
    return contacts, []


def _vcard_value(line: str) -> tuple[str, str]:
    """``TEL;TYPE=cell:+1 202`` -> (``TEL``, ``+1 202``), with vCard's escapes undone."""
    key, _, value = line.partition(":")
    name = key.split(";")[0].split(".")[-1].upper()  # "item1.TEL" groups too
    value = value.replace("\\n", " ").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
    return name, value.strip()


def parse_vcard(text: str) -> list[Contact]:
    """Contacts from vCard 2.1/3.0/4.0 text: FN (or N), every TEL, ORG, NOTE."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)  # a line that starts with a space continues the one before
    contacts: list[Contact] = []
    card: dict[str, list[str]] | None = None
    for line in unfolded.splitlines():
        name, value = _vcard_value(line)
        if name == "BEGIN" and value.upper() == "VCARD":
            card = {}
        elif name == "END" and card is not None:
            full = (card.get("FN") or [" ".join(reversed([p for p in (card.get("N") or [""])[0].split(";") if p]))])[0]
            numbers = tuple(card.get("TEL", []))
            if full and numbers:
                company = (card.get("ORG") or [""])[0].replace(";", " ").strip()
                contacts.append(Contact(full, numbers, company, (card.get("NOTE") or [""])[0]))
            card = None
        elif card is not None and value:
            card.setdefault(name, []).append(value.removeprefix("tel:"))
    return contacts


class ContactBook:
    """Contacts by normalised number; the first file (and the first contact in it) wins a number."""

    def __init__(self, contacts: Iterable[Contact] = (), region: str | None = None) -> None:
        self.region = region
        self._by_number: dict[str, Contact] = {}
        for contact in contacts:
            for number in contact.numbers:
                key = normalise(number, region)
                if key is not None:
                    self._by_number.setdefault(key, contact)

    def __len__(self) -> int:
        return len(set(map(id, self._by_number.values())))

    def find(self, number: str) -> Contact | None:
        key = normalise(number, self.region)
        return None if key is None else self._by_number.get(key)
