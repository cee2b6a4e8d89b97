"""What every part of the exchange shares, in one place, so each part can be built on its own.

The organisation may be replaced while the exchange runs (new role policies, say), so parts read it
through the context each time instead of keeping their own copy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from cti_tui.core.clock import Clock
from cti_tui.pbx.legs import Leg, Party
from cti_tui.pbx.org import Organisation


class WorldHooks(Protocol):
    """What the simulated world (:class:`~cti_tui.pbx.world.SimulatedWorld`) wants to hear about."""

    def leg_ringing(self, leg: Leg) -> None: ...

    def caller_waiting(self, leg: Leg) -> None: ...

    def party_connected(self, party: Party, leg: Leg) -> None: ...

    def leg_connected(self, leg: Leg) -> None: ...

    def leg_parked(self, leg: Leg) -> None: ...

    def leg_ended(self, leg: Leg) -> None: ...


@dataclass(eq=False)
class Context:
    """The organisation, the clock, the seeded generator every random choice comes from, and the
    simulated world's hooks (``None`` while no world drives the exchange)."""

    org: Organisation
    clock: Clock
    random: random.Random
    world: WorldHooks | None = None
