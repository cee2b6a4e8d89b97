"""Named app states, built by driving the real app: the snapshot tests and ``screenshots/generate.py``
share them, so the pictures in ``screenshots/`` are exactly what the tests compare.

Every scene starts from :func:`scene_app` — the app a user runs, on virtual time (2026-01-05 09:00 UTC),
with no random callers, no simulated colleagues, a fresh history file and an in-memory keyring — and
reaches its state with keys and scripted callers. Nothing here is faked; only time and chance are fixed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pyotp
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from cti_tui.assembly import build_app, wiring_of
from cti_tui.backends.embedded import EmbeddedBackend
from cti_tui.config import AppConfig
from cti_tui.core.clock import VirtualClock
from cti_tui.credentials import CredentialStore, MemoryKeyring
from cti_tui.engine.connector import Connector
from cti_tui.pbx.bigorg import generate_org
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.org import load_demo
from cti_tui.ui.app import CtiApp

SECURE_TOTP = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"
CONTACTS = Path(__file__).resolve().parent / "data"
CRM_URL = "https://crm.example.com/people?phone={number}"


def scene_app(history_dir: Path | None = None, org_size: int = 0) -> CtiApp:
    """The app on the quiet demo, or (``org_size``) on the big demo org with that many generated agents."""
    org = generate_org(org_size) if org_size else load_demo()
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, inbound_per_minute=0.0, colleagues=False))
    folder = history_dir or Path(tempfile.mkdtemp(prefix="cti-tui-scene-"))
    return build_app(
        org=org,
        clock=VirtualClock(),
        traffic=False,
        history_path=folder / "history.sqlite3",
        credentials=CredentialStore(MemoryKeyring()),
        config=AppConfig(
            bell=False,
            flash=False,
            cursor_blink=False,
            contacts=[str(CONTACTS / "contacts.csv"), str(CONTACTS / "contacts.vcf")],
            crm_url=CRM_URL,
        ),
        remember_email=False,
        watched_path=folder / "watched-lines.json",
    )


def exchange_of(app: CtiApp) -> Exchange:
    exchange = wiring_of(app).exchange  # built once the form is drawn, or when first asked for
    assert isinstance(exchange, Exchange)
    return exchange


def clock_of(app: CtiApp) -> VirtualClock:
    assert isinstance(app.services.clock, VirtualClock)
    return app.services.clock


async def settle(pilot: Pilot[None], rounds: int = 5) -> None:
    """Let workers finish and messages drain (bounded): what a key press or an engine event set going."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def advance(pilot: Pilot[None], seconds: float) -> None:
    """Move virtual time, then redraw what time changes (as the once-a-second tick would)."""
    clock_of(pilot.app).advance(seconds)  # type: ignore[arg-type]
    await settle(pilot)
    tick = getattr(pilot.app.screen, "tick", None)
    if tick is not None:
        tick()
        await settle(pilot)


async def _until(pilot: Pilot[None], condition: Callable[[], object], turns: int = 200) -> None:
    """Let the app run until ``condition`` holds (bounded: the caller's assertions say if it never did)."""
    for _ in range(turns):
        if condition():
            return
        await pilot.pause()


async def login_form(pilot: Pilot[None]) -> Screen[object]:
    """The login screen, once the app has shown it (it is pushed as the app's first turn, after Textual's own
    start-up: a pilot starts before that)."""
    await _until(pilot, lambda: pilot.app.screen.query("#email"))
    return pilot.app.screen


async def open_options(pilot: Pilot[None]) -> None:
    """F2 on the login form: the backend and sign-in rows (not on the first form unless asked for), once the
    backend choice has the focus."""
    await pilot.press("f2")
    await _until(pilot, lambda: any(backend.has_focus for backend in pilot.app.screen.query("#backend")))


async def type_login(pilot: Pilot[None], email: str, password: str) -> None:
    screen = await login_form(pilot)
    screen.query_one("#email", Input).value = email
    field = screen.query_one("#password", Input)
    field.value = password
    field.focus()
    await pilot.press("enter")
    await settle(pilot)


async def as_agent(pilot: Pilot[None]) -> None:
    await type_login(pilot, "agent@demo.local", "demo")


async def as_supervisor(pilot: Pilot[None]) -> None:
    await type_login(pilot, "supervisor@demo.local", "demo")


async def colleague(app: CtiApp, email: str) -> Connector:
    """Another person on the same PBX (a second session), e.g. a colleague who answers a transfer."""
    connector = Connector(EmbeddedBackend(exchange_of(app)))
    assert await connector.login(email, "demo")
    await connector.set_auto_answer(True)
    return connector


async def ring(pilot: Pilot[None], number: str, destination: str, name: str) -> str:
    leg = exchange_of(pilot.app).inbound_call(number, destination, name)  # type: ignore[arg-type]
    assert leg is not None
    await settle(pilot)
    return leg.id


async def answered_call(pilot: Pilot[None], number: str = "+12025550143", name: str = "Ada Lovelace") -> str:
    call_id = await ring(pilot, number, "1001", name)
    await pilot.press("a")
    await settle(pilot)
    await advance(pilot, 15)  # outside parties talk 20 s at least: the call is still up
    return call_id


async def dial(pilot: Pilot[None], number: str) -> None:
    await pilot.press("d")
    await settle(pilot)
    pilot.app.screen.query_one("#destination", Input).value = number
    await pilot.press("enter")
    await settle(pilot)


async def some_history(pilot: Pilot[None]) -> None:
    """Calls with each outcome, so the history pane has rows to show."""
    app = pilot.app
    exchange = exchange_of(app)  # type: ignore[arg-type]
    call_id = await answered_call(pilot, "+12025550143", "Ada Lovelace")
    await pilot.press("x")
    await settle(pilot)
    missed = await ring(pilot, "+442079460123", "1001", "Grace Hopper")
    await advance(pilot, 12)
    exchange.remote_hangup(missed)
    await settle(pilot)
    rejected = await ring(pilot, "+33199001234", "1001", "Alan Turing")
    assert rejected
    await pilot.press("r")
    await settle(pilot)
    await dial(pilot, "+12025550102")
    await advance(pilot, 3)
    app.clear_notifications()  # its "busy" toast lasts 8 real seconds: a slow run would drop it, a fast one not
    call_id = await answered_call(pilot, "+12025550177", "Katherine Johnson")
    await pilot.press("t")
    await settle(pilot)
    app.screen.query_one("#destination", Input).value = "6001"
    await pilot.press("enter")
    await settle(pilot)
    assert call_id
    await advance(pilot, 20)


# --- the scenes ---------------------------------------------------------------------------------------------

Setup = Callable[[Pilot[None]], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    size: tuple[int, int]
    setup: Setup
    org_size: int = 0  # generated agents on top of the demo (the big org): scene_app(..., org_size)


async def _nothing(pilot: Pilot[None]) -> None:
    await settle(pilot)


async def _login_error(pilot: Pilot[None]) -> None:
    await type_login(pilot, "agent@demo.local", "not-the-password")


async def _two_factor(pilot: Pilot[None]) -> None:
    await type_login(pilot, "secure@demo.local", "demo")


async def _two_factor_wrong(pilot: Pilot[None]) -> None:
    await _two_factor(pilot)
    pilot.app.screen.query_one("#otp", Input).value = "000000"
    await pilot.press("enter")
    await settle(pilot)


async def _idle(pilot: Pilot[None]) -> None:
    await as_agent(pilot)


async def _initial(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await dial(pilot, "+12025550101")


async def _accepted(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await dial(pilot, "+12025550102")  # busy: the far end never rings, the call sits ACCEPTED for 1 s
    await advance(pilot, 1)


async def _ringing(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await ring(pilot, "+12025550143", "1001", "Ada Lovelace")
    await advance(pilot, 4)


async def _connected(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await answered_call(pilot)


async def _on_hold(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("h")
    await settle(pilot)
    await advance(pilot, 9)


async def _parked(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    pilot.app.screen.subscribe("callpark")  # type: ignore[attr-defined]
    await settle(pilot)
    await answered_call(pilot)
    await pilot.press("p")
    await settle(pilot)
    await pilot.press("enter")  # first free slot
    await settle(pilot)
    await advance(pilot, 14)


async def _busy_day(pilot: Pilot[None]) -> None:
    """An agent with several calls at once, each in a different state."""
    await as_agent(pilot)
    await answered_call(pilot, "+12025550143", "Ada Lovelace")
    await pilot.press("h")
    await settle(pilot)
    await dial(pilot, "+12025550101")
    await advance(pilot, 9)
    await ring(pilot, "+442079460123", "1001", "Grace Hopper")
    await advance(pilot, 3)


async def _history(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await some_history(pilot)


async def _history_filtered(pilot: Pilot[None]) -> None:
    await _history(pilot)
    await pilot.press("slash")
    await settle(pilot)
    for key in "ada":
        await pilot.press(key)
    await settle(pilot)


async def _lines(pilot: Pilot[None]) -> None:
    """A supervisor watching queues, colleagues and the park lot, with a lamp in every state."""
    app = pilot.app
    await as_supervisor(pilot)
    screen = app.screen
    for node in ("queue:sales", "queue:support", "user:1002", "user:1003", "callpark", "conf:room1"):
        screen.subscribe(node)  # type: ignore[attr-defined]
        await settle(pilot)
    bruno = await colleague(app, "bruno@demo.local")  # type: ignore[arg-type]
    chloe = await colleague(app, "chloe@demo.local")  # type: ignore[arg-type]
    with_bruno = await ring(pilot, "+12025550143", "1002", "Ada Lovelace")
    await bruno.answer(with_bruno)
    await ring(pilot, "+442079460123", "1003", "Grace Hopper")
    parked = await ring(pilot, "+33199001234", "1002", "Alan Turing")
    await bruno.answer(parked)
    await bruno.park(parked, 4)
    await ring(pilot, "+12025550188", "+12025550120", "Katherine Johnson")  # sales: nobody free to offer
    await advance(pilot, 20)
    await ring(pilot, "+12025550199", "+12025550120", "Hedy Lamarr")
    await advance(pilot, 7)
    assert chloe.is_connected()


async def _listening(pilot: Pilot[None]) -> None:
    """A supervisor listening in on a watched agent's call (``l`` on its row), a caller waiting in a queue."""
    app = pilot.app
    await as_supervisor(pilot)
    screen = app.screen
    for node in ("user:1002", "user:1003", "queue:sales"):
        screen.subscribe(node)  # type: ignore[attr-defined]
        await settle(pilot)
    bruno = await colleague(app, "bruno@demo.local")  # type: ignore[arg-type]
    await colleague(app, "chloe@demo.local")  # type: ignore[arg-type]
    with_bruno = await ring(pilot, "+12025550143", "1002", "Ada Lovelace")
    await bruno.answer(with_bruno)
    await ring(pilot, "+442079460123", "1003", "Grace Hopper")
    await advance(pilot, 12)
    await ring(pilot, "+12025550199", "+12025550120", "Hedy Lamarr")  # sales: nobody free, she waits
    table = screen.watched  # type: ignore[attr-defined]
    table.focus()
    table.move_to(with_bruno)
    await settle(pilot)
    await pilot.press("l")
    await settle(pilot)
    await advance(pilot, 3)  # the supervisor's phone picked up: it listens


async def _modal_dial(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await pilot.press("d")
    await settle(pilot)
    for key in "br":
        await pilot.press(key)
    await settle(pilot)


async def _modal_dial_invalid(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await dial(pilot, "12ab")


async def _modal_transfer(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("t")
    await settle(pilot)


async def _modal_supervised(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("T")
    await settle(pilot)


async def _modal_park(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("p")
    await settle(pilot)


async def _modal_unpark(pilot: Pilot[None]) -> None:
    await _parked(pilot)
    await pilot.press("u")
    await settle(pilot)


async def _modal_dtmf(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("number_sign")
    await settle(pilot)
    for key in ("1", "2", "number_sign"):
        await pilot.press(key)
    await settle(pilot)


async def _modal_subscribe(pilot: Pilot[None]) -> None:
    await as_supervisor(pilot)
    await pilot.press("s")
    await settle(pilot)


BIG_ORG = 10_000  # the big demo org: 10,000 agents in 200 queues, as `--demo-org-size 10000`


async def _modal_subscribe_filtered(pilot: Pilot[None]) -> None:
    """The picker over the big org's 10,200-odd lines, narrowed by typing."""
    await as_supervisor(pilot)
    await pilot.press("s")
    await settle(pilot)
    for key in "queue:q17":
        await pilot.press(key)
    await settle(pilot)


async def _modal_merge(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await answered_call(pilot, "+12025550143", "Ada Lovelace")
    await pilot.press("h")
    await settle(pilot)
    await answered_call(pilot, "+442079460123", "Grace Hopper")
    await pilot.press("m")
    await settle(pilot)


async def _modal_quit(pilot: Pilot[None]) -> None:
    await _connected(pilot)
    await pilot.press("q")
    await settle(pilot)


async def _two_factor_ok(pilot: Pilot[None]) -> None:
    await _two_factor(pilot)
    code = pyotp.TOTP(SECURE_TOTP).at(clock_of(pilot.app).now())  # type: ignore[arg-type]
    pilot.app.screen.query_one("#otp", Input).value = code
    await pilot.press("enter")
    await settle(pilot)


async def _agent_available(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await advance(pilot, 125)  # two minutes available: the time in state counts


async def _agent_break(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await pilot.press("b")
    await settle(pilot)
    await pilot.press("enter")  # lunch
    await settle(pilot)
    await advance(pilot, 65)


async def _agent_offline(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await pilot.press("O")
    await settle(pilot)
    await advance(pilot, 5)


async def _agent_wrap_up(pilot: Pilot[None]) -> None:
    """A Sales call just ended: wrap-up counts down, the form shows the dispositions and a note being typed."""
    await as_agent(pilot)
    await ring(pilot, "+12025550143", "6001", "Ada Lovelace")
    await pilot.press("a")
    await settle(pilot)
    await advance(pilot, 40)
    await pilot.press("x")
    await settle(pilot)
    await advance(pilot, 8)
    await pilot.press("w")
    await settle(pilot)
    await pilot.press("down", "enter")  # sale; the note gets the focus
    await pilot.press(*"quote for 20 seats")
    await settle(pilot)


async def _queue_day(pilot: Pilot[None]) -> None:
    """Traffic on two queues, worked out so the figures are known: sales answers 2 of 3 who left within its
    20 s (5 s and 17 s; one gave up after 45 s: 67 %, amber) and has a caller waiting 25 s; support's only
    caller gave up after 10 s (0 %, red)."""
    app = pilot.app
    exchange = exchange_of(app)  # type: ignore[arg-type]
    world = exchange.world
    assert world is not None  # callers who neither give up nor hang up on their own: the script decides
    world.settings = dataclasses.replace(world.settings, caller_patience_seconds=(900, 900), talk_seconds=(900, 900))
    bruno = Connector(EmbeddedBackend(exchange))  # answers by hand (no auto-answer)
    assert await bruno.login("bruno@demo.local", "demo")
    first = await ring(pilot, "+12025550143", "+12025550120", "Ada Lovelace")  # offered to Bruno at once
    await advance(pilot, 5)
    assert await bruno.answer(first)
    second = await ring(pilot, "+442079460123", "+12025550120", "Grace Hopper")  # waits: Bruno is busy
    await advance(pilot, 30)
    third = await ring(pilot, "+33199001234", "+12025550120", "Alan Turing")
    gave_up = await ring(pilot, "+12025550177", "+12025550130", "Mary Jackson")  # support: nobody there
    await advance(pilot, 10)
    assert exchange.remote_hangup(gave_up)
    await advance(pilot, 5)
    assert exchange.remote_hangup(second)  # after 45 s
    assert await bruno.terminate(first)
    assert await bruno.ready()  # Bruno skips Sales's wrap-up: the third caller is offered to him
    await advance(pilot, 2)
    assert await bruno.answer(third)  # after 17 s
    await ring(pilot, "+12025550188", "+12025550120", "Katherine Johnson")
    await advance(pilot, 25)


async def _service_level(pilot: Pilot[None]) -> None:
    """A supervisor watching both queues: the service-level panel under the panes."""
    await as_supervisor(pilot)
    for node in ("queue:sales", "queue:support"):
        pilot.app.screen.subscribe(node)  # type: ignore[attr-defined]
        await settle(pilot)
    await _queue_day(pilot)


async def _wall(pilot: Pilot[None]) -> None:
    """`cti-tui wall`: the same day on the wallboard (it watches every queue itself)."""
    pilot.app.services.front = "wall"  # type: ignore[attr-defined]
    await as_supervisor(pilot)
    await settle(pilot)
    await _queue_day(pilot)


async def _screen_pop(pilot: Pilot[None]) -> None:
    """Grace rings again: her contact, the CRM link and the call the agent had with her before."""
    await as_agent(pilot)
    await answered_call(pilot, "+442079460123", "G. Hopper")
    await pilot.press("x")
    await settle(pilot)
    history = pilot.app.services.history  # type: ignore[attr-defined]
    assert await asyncio.to_thread(history.wait_written, 5)
    await advance(pilot, 3600)
    await ring(pilot, "+442079460123", "1001", "G. Hopper")
    await advance(pilot, 4)
    await _until(pilot, lambda: "answered" in str(pilot.app.screen.query_one("#screen-pop").render()))


async def _missed(pilot: Pilot[None]) -> None:
    """Two callers gave up before the agent answered: the badge, and the keys to call back or look."""
    await as_agent(pilot)
    for number, name in (("+442079460123", "Grace Hopper"), ("+33199001234", "Alan Turing")):
        call_id = await ring(pilot, number, "1001", name)
        await advance(pilot, 12)
        exchange_of(pilot.app).remote_hangup(call_id)  # type: ignore[arg-type]
        await settle(pilot)
    history = pilot.app.services.history  # type: ignore[attr-defined]
    assert await asyncio.to_thread(history.wait_written, 5)
    await advance(pilot, 60)


async def _missed_list(pilot: Pilot[None]) -> None:
    await _missed(pilot)
    await pilot.press("M")
    await settle(pilot)
    await _until(pilot, lambda: len(pilot.app.screen.query_one("#history").rows) == 2)  # type: ignore[attr-defined]
    await settle(pilot)


async def _consult(pilot: Pilot[None]) -> None:
    """A supervised transfer at its consult stage: Ada waits on hold, the agent talks to Bruno."""
    await as_agent(pilot)
    await consult_stage(pilot)


async def consult_stage(pilot: Pilot[None]) -> None:
    bruno = await colleague(pilot.app, "bruno@demo.local")  # type: ignore[arg-type]
    await answered_call(pilot, "+12025550143", "Ada Lovelace")
    await pilot.press("T")
    await settle(pilot)
    pilot.app.screen.query_one("#destination", Input).value = "1002"
    await pilot.press("enter")
    await settle(pilot)
    await _until(pilot, lambda: bruno.active_calls())
    assert await bruno.answer(bruno.active_calls()[0].id)
    await advance(pilot, 6)


async def _help(pilot: Pilot[None]) -> None:
    await as_agent(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


async def _most_keys(pilot: Pilot[None]) -> None:
    """As many keys as the bar ever offers: a missed call, a consult stage, another call ringing."""
    await as_agent(pilot)
    missed = await ring(pilot, "+442079460123", "1001", "Grace Hopper")
    exchange_of(pilot.app).remote_hangup(missed)  # type: ignore[arg-type]
    await settle(pilot)
    await consult_stage(pilot)
    await ring(pilot, "+33199001234", "1001", "Alan Turing")
    await advance(pilot, 2)


NARROW = (80, 24)
MEDIUM = (120, 36)
WIDE = (160, 50)

SCENES: tuple[Scene, ...] = (
    Scene("login", "the login screen on first start", NARROW, _nothing),
    Scene("login-error", "a wrong password, reported on the form", NARROW, _login_error),
    Scene("two-factor", "the 2FA prompt", NARROW, _two_factor),
    Scene("two-factor-wrong", "a wrong 2FA code", NARROW, _two_factor_wrong),
    Scene("two-factor-ok", "2FA done: the dashboard of the secure account", MEDIUM, _two_factor_ok),
    Scene("dashboard-idle", "the dashboard with nothing going on", MEDIUM, _idle),
    Scene("call-initial", "click-to-call: the agent's own phone rings first", MEDIUM, _initial),
    Scene("call-accepted", "click-to-call: the agent picked up", MEDIUM, _accepted),
    Scene("call-ringing", "an inbound call ringing", MEDIUM, _ringing),
    Scene("call-connected", "a connected call", MEDIUM, _connected),
    Scene("call-on-hold", "a call on hold", MEDIUM, _on_hold),
    Scene("call-parked", "a call in the park lot (watching callpark)", MEDIUM, _parked),
    Scene("busy-80x24", "several calls at 80x24", NARROW, _busy_day),
    Scene("busy-160x50", "several calls at 160x50", WIDE, _busy_day),
    Scene("history", "history with each outcome", MEDIUM, _history),
    Scene("history-filtered", "history searched for 'ada'", MEDIUM, _history_filtered),
    Scene("lines", "a supervisor's watched lines with lamps", WIDE, _lines),
    Scene("lines-80x24", "the same lines at 80x24", NARROW, _lines),
    Scene("listening", "a supervisor listening in on a watched call, a caller waiting", WIDE, _listening),
    Scene("listening-80x24", "the same at 80x24", NARROW, _listening),
    Scene("modal-dial", "the dial dialog filtering the directory", MEDIUM, _modal_dial),
    Scene("modal-dial-invalid", "the dial dialog refusing a bad number", MEDIUM, _modal_dial_invalid),
    Scene("modal-transfer", "the transfer dialog", MEDIUM, _modal_transfer),
    Scene("modal-supervised-transfer", "the supervised transfer dialog", MEDIUM, _modal_supervised),
    Scene("modal-park", "the park dialog", MEDIUM, _modal_park),
    Scene("modal-unpark", "the unpark dialog", MEDIUM, _modal_unpark),
    Scene("modal-dtmf", "the DTMF dialog", MEDIUM, _modal_dtmf),
    Scene("modal-subscribe", "the subscribe picker", MEDIUM, _modal_subscribe),
    Scene(
        "modal-subscribe-filtered",
        "the subscribe picker over 10,000 agents, filtered",
        NARROW,
        _modal_subscribe_filtered,
        BIG_ORG,
    ),
    Scene(
        "modal-subscribe-filtered-160x50",
        "the same at 160x50",
        WIDE,
        _modal_subscribe_filtered,
        BIG_ORG,
    ),
    Scene("modal-merge", "the merge dialog", MEDIUM, _modal_merge),
    Scene("modal-quit", "quitting with a call active", MEDIUM, _modal_quit),
    Scene("agent-available-80x24", "available for two minutes (status bar)", NARROW, _agent_available),
    Scene("agent-available-160x50", "available for two minutes (status bar)", WIDE, _agent_available),
    Scene("agent-break-80x24", "on a lunch break", NARROW, _agent_break),
    Scene("agent-break-160x50", "on a lunch break", WIDE, _agent_break),
    Scene("agent-offline-80x24", "offline: out of every queue", NARROW, _agent_offline),
    Scene("agent-offline-160x50", "offline: out of every queue", WIDE, _agent_offline),
    Scene("agent-wrap-up-80x24", "wrap-up after a Sales call: dispositions and a note", NARROW, _agent_wrap_up),
    Scene("agent-wrap-up-160x50", "wrap-up after a Sales call: dispositions and a note", WIDE, _agent_wrap_up),
    Scene("service-level", "a supervisor's queue service-level panel at 160x50", WIDE, _service_level),
    Scene("service-level-80x24", "the service-level panel at 80x24", NARROW, _service_level),
    Scene("wall", "cti-tui wall: queue service levels in large figures at 160x50", WIDE, _wall),
    Scene("wall-80x24", "cti-tui wall at 80x24", NARROW, _wall),
    Scene("screen-pop-80x24", "who is calling: contact, CRM link, last calls", NARROW, _screen_pop),
    Scene("screen-pop-160x50", "who is calling at 160x50", WIDE, _screen_pop),
    Scene("missed-80x24", "missed calls: the badge and the call-back keys", NARROW, _missed),
    Scene("missed-160x50", "missed calls at 160x50", WIDE, _missed),
    Scene("missed-list-80x24", "the history's missed calls (M), the badge cleared", NARROW, _missed_list),
    Scene("missed-list-160x50", "the missed list at 160x50", WIDE, _missed_list),
    Scene("consult-80x24", "supervised transfer, consult stage: complete, cancel, swap", NARROW, _consult),
    Scene("consult-160x50", "the consult stage at 160x50", WIDE, _consult),
    Scene("help-80x24", "the ? help screen: every key and its binding id", NARROW, _help),
    Scene("help-160x50", "the help screen at 160x50", WIDE, _help),
    Scene("keys-most-80x24", "the key bar with the most keys at 80x24, nothing cut", NARROW, _most_keys),
)


def scene(name: str) -> Scene:
    return next(s for s in SCENES if s.name == name)
