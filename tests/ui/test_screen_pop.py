"""Issue 17 #11 "who is calling": a panel while a call rings, with the contact from the CSV and vCard files
of config.toml (found by the number in any notation), the CRM link, and the last calls with that number."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import until
from scenes import answered_call, as_agent, ring, settle
from textual.geometry import Region

from cti_tui.config import AppConfig
from cti_tui.ui.widgets.screen_pop import ScreenPop

DATA = Path(__file__).resolve().parents[1] / "data"
CRM = "https://crm.example.com/people?phone={number}"


def config(*files: str) -> AppConfig:
    return AppConfig(bell=False, flash=False, contacts=[str(DATA / f) for f in files], crm_url=CRM)


def pop_of(app) -> ScreenPop:
    return app.screen.query_one(ScreenPop)


def pop_text(app) -> str:
    return str(pop_of(app).render())


async def test_a_ringing_call_pops_the_contact_the_crm_link_and_the_last_calls(make_app) -> None:
    app = make_app(config=config("contacts.csv", "contacts.vcf"))
    async with app.run_test(size=(80, 24)) as pilot:
        await as_agent(pilot)
        assert not pop_of(app).display
        await answered_call(pilot, "+442079460123", "G. Hopper")  # talked once before
        await pilot.press("x")
        await settle(pilot)
        assert await asyncio.to_thread(app.services.history.wait_written, 5)

        await ring(pilot, "+442079460123", "1001", "G. Hopper")
        pop = pop_of(app)
        assert pop.display and pop.region.width > 0
        await until(pilot, lambda: "answered" in pop_text(app), "the last calls")
        text = pop_text(app)
        assert "Grace Hopper" in text and "Royal Navy Yard" in text and "prefers email" in text
        assert "https://crm.example.com/people?phone=%2B442079460123" in text
        assert pop.region.y >= app.screen.query_one("#calls").region.bottom  # the ringing row stays visible
        await settle(pilot)
        drawn = "\n".join(s.text for s in pop.render_lines(Region(0, 0, pop.region.width, pop.region.height)))
        assert "answered" in drawn and "442079460123" in drawn, drawn  # nothing cut by the panel's height

        await pilot.press("a")
        await until(pilot, lambda: not pop_of(app).display, "the pop gone once answered")


async def test_a_vcard_contact_and_an_unknown_caller(make_app) -> None:
    app = make_app(config=config("contacts.csv", "contacts.vcf"))
    async with app.run_test(size=(120, 40)) as pilot:
        await as_agent(pilot)
        turing = await ring(pilot, "+33199001234", "1001", "")
        await until(pilot, lambda: "Alan Turing" in pop_text(app), "the vCard contact")
        assert "Bletchley Park" in pop_text(app) and "call after 10:00, not before" in pop_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert pop_of(app).call is None or pop_of(app).call.id != turing
        await ring(pilot, "+12025550199", "1001", "Hedy Lamarr")
        await until(pilot, lambda: "Hedy Lamarr" in pop_text(app), "the unknown caller")
        assert "not in your contacts" in pop_text(app)


async def test_an_unreadable_contacts_file_is_a_notice_not_a_crash(make_app) -> None:
    app = make_app(config=config("no-such-contacts.csv"))
    async with app.run_test(size=(80, 24)) as pilot:
        await as_agent(pilot)
        await until(pilot, lambda: any("cannot read" in n.message for n in app._notifications), "the notice")
