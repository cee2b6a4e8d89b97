"""A large organisation for load tests and benchmarks: the demo plus thousands of generated agents.

``generate_org(10_000)`` keeps everything of the demo (so ``agent@demo.local``, ``supervisor@demo.local``
and ``secure@demo.local`` still log in with their password, API key and two-factor secret) and adds
``size`` agents on extensions 100000, 100001, ... spread over about ``size / 50`` queues (extensions
900000, 900001, ..., each with an outside number so the simulated world calls them). Every generated
agent has the demo password ("demo"). Nothing here is O(n²): 10,000 users take milliseconds.
"""

from __future__ import annotations

import dataclasses
import random

from cti_tui.core.model import Role
from cti_tui.pbx.org import Organisation, Queue, User, load_demo
from cti_tui.pbx.world import FIRST_NAMES, LAST_NAMES

USER_BASE = 100_000  # six digits: never one of the demo's 2-4 digit extensions
QUEUE_BASE = 900_000
MAX_SIZE = QUEUE_BASE - USER_BASE  # users and queues stay 6-digit and never meet
MEMBERS_PER_QUEUE = 50
EMAIL_DOMAIN = "big.demo.local"


def generate_org(size: int, *, rate: float | None = None, seed: int = 7) -> Organisation:
    """The demo organisation plus ``size`` agents in ~``size / 50`` queues of ~50 members each.

    ``rate`` (calls per minute) replaces the world's inbound rate when given; ``seed`` is the world's
    seed and also picks the generated names, so the same arguments give the same organisation.
    """
    if not 0 <= size <= MAX_SIZE:
        raise ValueError(f"size must be 0–{MAX_SIZE}, got {size}")
    if rate is not None and rate < 0:
        raise ValueError(f"rate must not be negative, got {rate}")
    demo = load_demo()
    password_hash = next(u.password_hash for u in demo.users if u.email == "agent@demo.local")
    pick = random.Random(seed)
    firsts = [pick.choice(FIRST_NAMES) for _ in range(size)]
    lasts = [pick.choice(LAST_NAMES) for _ in range(size)]
    users = [
        User(
            extension=str(USER_BASE + i),
            name=f"{firsts[i]} {lasts[i]}",
            email=f"agent{i}@{EMAIL_DOMAIN}",
            role=Role.AGENT,
            password_hash=password_hash,
        )
        for i in range(size)
    ]
    queues: list[Queue] = []
    count = max(1, round(size / MEMBERS_PER_QUEUE)) if size else 0
    for j in range(count):
        # contiguous slices of (nearly) equal length: every agent is in exactly one queue
        members = tuple(u.extension for u in users[j * size // count : (j + 1) * size // count])
        queues.append(
            Queue(
                id=f"q{j + 1}",
                name=f"Queue {j + 1}",
                extension=str(QUEUE_BASE + j),
                members=members,
                number=f"+1202556{j:04d}" if j < 10_000 else None,
            )
        )
    world = dataclasses.replace(demo.world, seed=seed)
    if rate is not None:
        world = dataclasses.replace(world, inbound_per_minute=float(rate))
    return dataclasses.replace(
        demo,
        name=f"{demo.name} + {size} agents",
        users=demo.users + tuple(users),
        queues=demo.queues + tuple(queues),
        world=world,
    )
