"""Assemble a running embedded PBX: organisation (demo or file), clock, exchange and its simulated world."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cti_tui.core.clock import Clock
from cti_tui.pbx.exchange import Exchange
from cti_tui.pbx.org import Organisation, load_demo, load_org
from cti_tui.pbx.world import SimulatedWorld


def load_organisation(path: Path | None = None, *, seed: int | None = None, rate: float | None = None) -> Organisation:
    """The demo (or ``path``), with the world's seed and inbound rate overridden when given.

    Raises :class:`~cti_tui.pbx.org.OrgError` with the file, line and field for a bad file.
    """
    org = load_org(path) if path else load_demo()
    world = org.world
    if seed is not None:
        world = dataclasses.replace(world, seed=seed)
    if rate is not None:
        world = dataclasses.replace(world, inbound_per_minute=rate)
    return org if world is org.world else dataclasses.replace(org, world=world)


def start_exchange(org: Organisation, clock: Clock, *, traffic: bool = True) -> Exchange:
    """An exchange with its world attached; ``traffic`` starts the random outside callers."""
    exchange = Exchange(org, clock)
    world = SimulatedWorld(exchange)
    if traffic:
        world.start()
    return exchange
