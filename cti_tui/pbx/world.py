"""The simulated outside world and colleagues: what makes the demo PBX feel alive.

Outside callers dial the organisation's numbers at random (a Poisson stream at ``inbound_per_minute``),
wait with limited patience, talk for a while and hang up. Colleagues nobody is logged in as answer their
phones, put callers on hold, transfer, park and pick up parked calls, and now and then dial out. Every
choice comes from the exchange's seeded generator and every delay from its clock, so the same seed on
virtual time replays the same day.
"""

from __future__ import annotations

from collections.abc import Callable

from cti_tui.core.clock import Timer
from cti_tui.core.model import CallStatus
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.legs import Leg, Party

S = CallStatus

FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Mateo",
    "Sofia",
    "Lucas",
    "Mia",
    "Amir",
    "Yuki",
    "Ines",
    "Kofi",
    "Priya",
    "Lars",
    "Zoe",
    "Omar",
    "Lena",
    "Diego",
    "Aisha",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Kim",
    "Nowak",
    "Silva",
    "Dubois",
    "Jensen",
    "Haddad",
    "Tanaka",
    "Okafor",
    "Novak",
    "Patel",
    "Larsen",
    "Cohen",
    "Moreau",
    "Santos",
    "Berg",
    "Walsh",
)
# fictional ranges: 202-555-01xx (US), 020 7946 0xxx (UK drama), +33 1 99 00 xx xx (FR fiction)
NUMBER_PATTERNS = ("+1202555{:04d}", "+44207946{:04d}", "+331990{:05d}")


class SimulatedWorld:
    """Drives an :class:`Exchange` with seeded traffic. ``start()`` begins random inbound calls."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.settings = exchange.org.world
        self.random = exchange.random
        exchange.world = self
        self.running = False
        self._targets: tuple[object, list[tuple[str, float]]] | None = None
        self._timers: dict[str, list[Timer]] = {}  # leg id -> what the world will do about that call

    # --- traffic ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.running or self.settings.inbound_per_minute <= 0:
            return
        self.running = True
        self._schedule_next_arrival()

    def stop(self) -> None:
        self.running = False

    def _schedule_next_arrival(self) -> None:
        gap = self.random.expovariate(self.settings.inbound_per_minute / 60.0)
        self.exchange.later(gap, self._arrival)

    def _arrival(self) -> None:
        if not self.running:
            return
        self._schedule_next_arrival()
        if self.settings.colleagues and self.random.random() < 0.15:
            self._colleague_dials_out()
            return
        targets = self._inbound_targets()
        if targets:
            number, name = self.random_caller()
            destination = self.random.choices([t for t, _ in targets], [w for _, w in targets])[0]
            self.exchange.inbound_call(number, destination, name)

    def _inbound_targets(self) -> list[tuple[str, float]]:
        org = self.exchange.org
        if self._targets is not None and self._targets[0] is org:  # the organisation never changes
            return self._targets[1]
        targets: list[tuple[str, float]] = [(i.number, 3.0) for i in org.ivrs if i.number]
        targets += [(q.number, 2.0) for q in org.queues if q.number]
        targets += [(u.number, 1.5) for u in org.users if u.number]
        self._targets = (org, targets)
        return targets

    def _free_colleagues(self) -> list[str]:
        """Simulated colleagues with no live call, in directory order (one pass over the legs)."""
        busy = self.exchange.busy_extensions()
        return [
            u.extension
            for u in self.exchange.org.users
            if u.extension not in busy and self.exchange.is_simulated(u.extension)
        ]

    def random_caller(self) -> tuple[str, str]:
        pattern = self.random.choice(NUMBER_PATTERNS)
        number = pattern.format(
            self.random.randrange(100, 10_000) if "{:04d}" in pattern else self.random.randrange(10_000, 99_999)
        )
        if self.random.random() < 0.1:
            return "anonymous", ""
        return number, f"{self.random.choice(FIRST_NAMES)} {self.random.choice(LAST_NAMES)}"

    def _colleague_dials_out(self) -> None:
        idle = self._free_colleagues()
        if not idle:
            return
        extension = self.random.choice(idle)
        number, _ = self.random_caller()
        if number == "anonymous":
            number = "+12025550101"
        self.exchange.dial_as(extension, number)

    def _after(self, leg: Leg, delay: float, action: Callable[[], None]) -> None:
        """``action`` (which concerns ``leg`` and does nothing once it has ended) in ``delay`` seconds, unless
        the leg ends first: then :meth:`leg_ended` cancels it. A timer holds its call: a caller's talk time
        is 20-120 s, so a call hung up after a second stayed in memory (leg, party, closures) until then —
        ~10,000 ended calls and 18,000 timers after a minute of a supervisor's wall (bench/README.md)."""
        if leg.live:
            self._timers.setdefault(leg.id, []).append(self.exchange.later(delay, action))

    # --- hooks the exchange calls ------------------------------------------------------------------

    def leg_ended(self, leg: Leg) -> None:
        """A call ended: what the world meant to do about it would do nothing now."""
        for timer in self._timers.pop(leg.id, ()):
            timer.cancel()

    def caller_waiting(self, leg: Leg) -> None:
        """An outside caller waits (IVR, queue, ringing): it gives up after its patience runs out."""
        patience = self.random.uniform(*self.settings.caller_patience_seconds)

        def give_up() -> None:
            if leg.live and leg.call.connect_at is None and isinstance(leg.remote, Party):
                self.exchange.remote_hangup(leg.id)

        self._after(leg, patience, give_up)

    def leg_ringing(self, leg: Leg) -> None:
        """A phone rings: a simulated colleague picks up after a few seconds (or lets it ring)."""
        owner = leg.owner
        if not self.exchange.is_simulated(owner) or self.random.random() < 0.08:
            return

        def pick_up() -> None:
            if leg.status is S.RINGING and leg.owner == owner and self.exchange.is_simulated(owner):
                self.exchange.answer_leg(leg)

        self._after(leg, self.random.uniform(*self.settings.colleague_answer_seconds), pick_up)

    def party_connected(self, party: Party, leg: Leg) -> None:
        """An outside party is in a conversation: it hangs up after its talk time."""
        talk = self.random.uniform(*self.settings.talk_seconds)

        def hang_up() -> None:
            if not party.gone and leg.live and leg.bridge is not None and party in leg.bridge.members:
                self.exchange.remote_hangup(leg.id)

        self._after(leg, talk, hang_up)

    def leg_connected(self, leg: Leg) -> None:
        """A simulated colleague is on a call: it may hold, transfer, park, and eventually hangs up."""
        owner = leg.owner
        if not self.exchange.is_simulated(owner):
            return
        low, high = self.settings.talk_seconds
        roll = self.random.random()
        first = self.random.uniform(5, max(6.0, low))

        def mine() -> bool:
            return leg.live and leg.owner == owner and self.exchange.is_simulated(owner)

        def act() -> None:
            if not mine():
                return
            if roll < 0.15 and leg.status is S.CONNECTED:
                self.exchange.hold(leg)
                self._after(leg, self.random.uniform(4, 12), resume)
            elif roll < 0.25 and leg.status is S.CONNECTED:
                targets = [q.extension for q in self.exchange.org.queues]
                targets += [u.extension for u in self.exchange.org.users if u.extension != owner]
                self.exchange.transfer(leg, self.random.choice(targets))
            elif roll < 0.33 and leg.status is S.CONNECTED:
                self.exchange.park(leg, None)
            else:
                self._after(leg, self.random.uniform(low, high), hang_up)

        def resume() -> None:
            if mine() and leg.status is S.ON_HOLD:
                self.exchange.resume(leg)
                self._after(leg, self.random.uniform(low, high), hang_up)

        def hang_up() -> None:
            if mine():
                self.exchange.hangup(leg)

        self._after(leg, first, act)

    def leg_parked(self, leg: Leg) -> None:
        """A call a simulated colleague parked: a free simulated colleague picks it up after a while."""
        if not self.exchange.is_simulated(leg.parked_by):
            return

        def pick_up() -> None:
            if leg.status is not S.PARKED:
                return
            free = self._free_colleagues()
            if free:
                extension = self.random.choice(free)
                self.exchange.unpark_to(leg, extension)
                self.leg_connected(leg)

        self._after(leg, self.random.uniform(10, 40), pick_up)
