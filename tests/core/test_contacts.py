"""Contacts for "who is calling": CSV and vCard text, found by the number in any notation."""

from __future__ import annotations

from pathlib import Path

from cti_tui.config import load_config, read_contacts
from cti_tui.core.contacts import ContactBook, parse_csv, parse_vcard

CSV = "Full Name,Mobile,Organisation\nGrace Hopper,+44 (20) 7946-0123,Royal Navy Yard\n,+1 202 555 0100,\nBruno,1002,\n"
VCARD = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Turing;Alan;;;\r\nitem1.TEL;VALUE=uri:tel:+33-1-99-00-12-34\r\n"
    "NOTE:a long note that\r\n  continues on the next line\r\nEND:VCARD\r\n"
)


def test_csv_columns_by_header_and_numbers_in_any_notation() -> None:
    contacts, problems = parse_csv(CSV)
    assert problems == [] and [c.name for c in contacts] == ["Grace Hopper", "Bruno"]  # a row without a name: none
    book = ContactBook(contacts)
    found = book.find("+442079460123")
    assert found is not None and found.company == "Royal Navy Yard"
    assert book.find("1002") is not None and book.find("+12025550100") is None


def test_csv_without_a_number_column_is_a_problem() -> None:
    assert parse_csv("name,email\nAda,ada@example.com\n") == (
        [],
        ["no name and number columns in the header 'name, email'"],
    )


def test_vcard_folded_lines_grouped_tel_and_name_from_n() -> None:
    (alan,) = parse_vcard(VCARD)
    assert alan.name == "Alan Turing" and alan.note == "a long note that continues on the next line"
    assert ContactBook([alan]).find("+33199001234") is alan


def test_config_contacts_table_and_unreadable_files(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text('[contacts]\nfiles = ["a.csv"]\ncrm_url = "ftp://nope/{number}"\n', encoding="utf-8")
    config = load_config(config_file)
    assert config.contacts == ["a.csv"] and config.crm_url is None
    assert any("crm_url must be an http(s) URL" in p for p in config.problems)
    (tmp_path / "people.vcf").write_text(VCARD, encoding="utf-8")
    book, problems = read_contacts([str(tmp_path / "people.vcf"), str(tmp_path / "missing.csv")])
    assert len(book) == 1 and len(problems) == 1 and "cannot read" in problems[0]
