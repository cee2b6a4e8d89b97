"""The embedded PBX: calls between users, outside parties, queues, IVRs, a conference room and a park lot.

One :class:`Exchange` is shared by every session that logs in to it (one in the app, many in the server).
It is the truth about calls: it checks permissions, moves legs and tells each interested session what
changed. Nothing here does I/O; time comes from a :class:`~cti_tui.core.clock.Clock` and every random
choice from a seeded generator, so a test on virtual time sees exactly the same calls every run.

Vocabulary: a *leg* is one call as one line sees it (what the engine calls a ``Call``); an *outside party*
is a simulated caller or callee with no line of its own; a *bridge* is a conversation joining legs and
parties once they are connected.

:class:`Exchange` is the façade: it builds the parts below, wires them, and keeps the one surface the
backends, the server, the simulated world and the tests use. Each part owns one thing:

========================  ============================================================================
:mod:`.legs`              legs, parties, bridges; the book of legs
:mod:`.sessions`          attached sessions; delivery of what changed, in batches; timers
:mod:`.calls`             a leg's life: create, move (through the state machine), bridge, end
:mod:`.routing`           where a number leads (users, IVRs, outside numbers); answering; dialling
:mod:`.queues`            waiting calls, their places, offers to members
:mod:`.conference`        conference rooms, merging two calls
:mod:`.transfers`         blind and supervised transfers
:mod:`.park`              the park lot
:mod:`.auth`              passwords, API keys, two-factor codes
:mod:`.spy`               a supervisor's listen / whisper / barge legs, and pickup of a ringing call
:mod:`.dispatch`          a session's commands: checked, then carried out
========================  ============================================================================
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from cti_tui.core import commands as cmd
from cti_tui.core.clock import Clock, Timer
from cti_tui.core.model import Call, DirectoryEntry, EntryKind, Identity
from cti_tui.pbx.auth import Authenticator
from cti_tui.pbx.availability import AgentDesk
from cti_tui.pbx.calls import Calls
from cti_tui.pbx.conference import Conferences
from cti_tui.pbx.context import Context
from cti_tui.pbx.dispatch import Dispatcher
from cti_tui.pbx.legs import Leg, LegBook, Party
from cti_tui.pbx.org import Organisation
from cti_tui.pbx.park import ParkLot
from cti_tui.pbx.queues import QueueDesk
from cti_tui.pbx.routing import Router
from cti_tui.pbx.sessions import ExchangeSession, ReportSink, SessionRegistry
from cti_tui.pbx.spy import Monitors
from cti_tui.pbx.transfers import Transfers

if TYPE_CHECKING:  # the simulated world drives an exchange: it imports this module
    from cti_tui.pbx.world import SimulatedWorld

__all__ = ["Exchange", "ExchangeSession", "ReportSink"]


class Exchange:
    """The PBX. Public entry points: authenticate, open/close sessions, execute commands, and the
    scripted-world hooks tests and the demo use (:meth:`inbound_call`, :meth:`remote_hangup`)."""

    def __init__(self, org: Organisation, clock: Clock, *, seed: int | None = None) -> None:
        self.context = Context(org, clock, random.Random(org.world.seed if seed is None else seed))
        self._world: SimulatedWorld | None = None
        context = self.context
        self.auth = Authenticator(org, clock)
        self.book = LegBook(clock.now().strftime("%Y%m%d%H%M%S%f")[:-3])
        self.registry = SessionRegistry(context)
        self.calls = Calls(context, self.book, self.registry)
        self.desk = QueueDesk(context, self.calls, self.book, self.registry)
        self.agents = AgentDesk(context, self.book, self.registry)
        self.desk.may_offer = self.agents.may_offer
        self.desk.on_taken.append(self.agents.leg_taken)
        self.agents.on_available.append(self.desk.phone_free)
        self.conferences = Conferences(context, self.calls)
        self.lot = ParkLot(context, self.calls)
        self.router = Router(context, self.calls, self.registry, self.desk, self.conferences)
        self.transfers = Transfers(context, self.calls, self.book, self.registry, self.router)
        self.monitors = Monitors(context, self.book, self.calls, self.registry, self.router)
        self.dispatcher = Dispatcher(
            context,
            self.book,
            self.calls,
            self.router,
            self.transfers,
            self.conferences,
            self.lot,
            self.agents,
            self.monitors,
        )
        # what ending a leg means beyond the leg, in this order: its park slot frees, its queue moves up,
        # its pending transfer fails, its supervisors' listening legs end, its agent's wrap-up starts (before
        # the phone is free); then its bridge and far end go; last, its owner's queues offer
        self.calls.on_ended += [
            self.lot.leg_ended,
            self.desk.leg_ended,
            self.transfers.leg_ended,
            self.monitors.leg_ended,
            self.agents.leg_ended,
        ]
        self.calls.on_phone_free.append(self.desk.phone_free)
        self.calls.on_far_end_answered.append(self.transfers.consult_answered)

    # --- what the parts share ---------------------------------------------------------------------

    @property
    def org(self) -> Organisation:
        return self.context.org

    @org.setter
    def org(self, org: Organisation) -> None:
        """A new organisation (new role policies, say) applies from the next command on."""
        self.context.org = org
        self.auth.org = org

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def random(self) -> random.Random:
        return self.context.random

    @property
    def world(self) -> SimulatedWorld | None:
        """The simulated world driving this exchange (set by it when attached), or None."""
        return self._world

    @world.setter
    def world(self, world: SimulatedWorld | None) -> None:
        """Attach (or, with None, detach) the world; the parts tell it what happens through its hooks."""
        self._world = world
        self.context.world = world

    # views tests and the demo look at
    @property
    def legs(self) -> dict[str, Leg]:
        return self.book.all

    @property
    def sessions(self) -> list[ExchangeSession]:
        return self.registry.sessions

    @property
    def slots(self) -> dict[int, Leg]:
        return self.lot.slots

    @property
    def queues(self) -> dict[str, list[Leg]]:
        return self.desk.waiting

    # --- sessions ---------------------------------------------------------------------------------

    def authenticate(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        return self.auth.authenticate(credentials)

    def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return self.auth.two_factor_auth(nonce, code)

    def open_session(self, identity: Identity, sink: ReportSink) -> ExchangeSession:
        """Attach a logged-in user: it gets its own line's calls now, and queues may offer it calls."""
        session = self.registry.attach(identity, sink)
        sink(cmd.Snapshot(tuple(self.book.calls_on({identity.line})), ()))
        with self.registry.batch():
            state = self.agents.opened(identity)
            sink(cmd.AgentUpdate(state))  # unchanged (a reconnect), the other sessions were not told
            self.desk.distribute_all()
        return session

    def close_session(self, session: ExchangeSession) -> None:
        self.registry.detach(session)
        with self.registry.batch():
            self.agents.closed(session.identity)

    def execute(self, session: ExchangeSession, command: cmd.Command) -> cmd.CommandResult:
        with self.registry.batch():
            return self.dispatcher.execute(session, command)

    def directory(self) -> list[DirectoryEntry]:
        """Everyone and everything here that can be dialled or watched, in directory order."""
        org = self.org
        kinds = (
            (EntryKind.USER, org.users),
            (EntryKind.QUEUE, org.queues),
            (EntryKind.IVR, org.ivrs),
            (EntryKind.CONFERENCE, org.conferences),
        )
        entries = [
            DirectoryEntry(item.name, item.extension, kind, item.line, item.number)
            for kind, items in kinds
            for item in items
        ]
        entries.append(DirectoryEntry("Call park", org.park_extension, EntryKind.PARK, "callpark"))
        return entries

    def calls_on(self, lines: set[str]) -> list[Call]:
        return self.book.calls_on(lines)

    # --- presence, for the simulated world ----------------------------------------------------------

    def live_legs(self, extension: str) -> list[Leg]:
        return self.book.on_phone(extension)

    def busy_extensions(self) -> set[str]:
        return self.book.busy_extensions()

    def is_simulated(self, extension: str | None) -> bool:
        return self.registry.is_simulated(extension)

    def later(self, delay: float, action: Callable[[], None]) -> Timer:
        return self.registry.later(delay, action)

    # --- what a phone (a simulated colleague, a test) does directly: not checked like a command ------

    def answer_leg(self, leg: Leg) -> None:
        self.router.answer(leg)

    def hold(self, leg: Leg) -> None:
        self.calls.hold(leg)

    def resume(self, leg: Leg) -> None:
        self.calls.resume(leg)

    def hangup(self, leg: Leg) -> None:
        self.calls.hangup(leg)

    def transfer(self, leg: Leg, destination: str) -> cmd.CommandResult:
        return self.transfers.transfer(leg, destination)

    def park(self, leg: Leg, slot: int | None) -> cmd.CommandResult:
        return self.lot.park(leg, slot)

    def unpark_to(self, leg: Leg, extension: str) -> None:
        self.lot.unpark_to(leg, extension)

    def dial_as(self, extension: str, destination: str) -> Leg:
        """A simulated colleague places a call from its own phone (no click-to-call phase)."""
        user = self.org.user_by_extension(extension)
        assert user is not None
        with self.registry.batch():
            return self.router.dial_from_phone(user, destination)

    # --- the scripted outside world -----------------------------------------------------------------

    def inbound_call(self, number: str, destination: str, name: str = "") -> Leg | None:
        """An outside caller dials ``destination`` (a DID or an extension); returns the leg that rings."""
        with self.registry.batch():
            target = self.router.route(Party(number, name), destination, None)
        return target if isinstance(target, Leg) else None

    def remote_hangup(self, call_id: str) -> bool:
        """The outside party on this call hangs up (or gives up while it rings). False if there is none."""
        leg = self.book.get(call_id)
        if leg is None or not leg.live:
            return False
        with self.registry.batch():
            return self.calls.party_hangs_up(leg)
