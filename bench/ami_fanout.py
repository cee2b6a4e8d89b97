#!/usr/bin/env python3
"""AMI fan-out: what one shared AMI connection costs per logged-in user (cti_tui.backends.asterisk_pbx).

    python3 bench/ami_fanout.py [--views 1,10,100,1000] [--rounds 5] [--copies 4] [--transcript FILE]

``cti-tui serve --pbx asterisk://…`` keeps ONE AMI connection and hands every event to every logged-in
user's view (AsteriskBackend → its ChannelBook), which keeps the channels of its own endpoint and ignores
the rest. This measures that hand-out: the recorded session's events (tests/asterisk/transcripts/session.ami,
parsed once, ``--copies`` times over) through ``AsteriskPbx._on_event`` with N views — views 1001-1003 own
the transcript's channels, the rest are other agents whose books only look and ignore — next to a bare loop
over the same events (the floor). Reported: events/s through the hub, and µs per event per view. Nothing
opens a socket; single-threaded; a shared VM makes rounds vary, so compare within a run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cti_tui.backends.asterisk import AsteriskBackend  # noqa: E402
from cti_tui.backends.asterisk_pbx import AmiAddress, AsteriskPbx  # noqa: E402
from cti_tui.core import commands as cmd  # noqa: E402
from cti_tui.protocol.ami import AmiParser, Event  # noqa: E402
from cti_tui.protocol.ami_calls import ChannelBook  # noqa: E402

DEFAULT = REPO / "tests" / "asterisk" / "transcripts" / "session.ami"


def events_of(transcript: Path) -> list[Event]:
    return [item for item in AmiParser().feed(transcript.read_bytes()) if isinstance(item, Event)]


def hub(views: int) -> tuple[AsteriskPbx, list[int]]:
    """A PBX with ``views`` logged-in views (extensions 1001, 1002, …), each counting its reports."""
    pbx = AsteriskPbx(AmiAddress("cti", "127.0.0.1"), None)
    reports = [0]

    def sink(report: cmd.Report) -> None:
        reports[0] += 1

    for index in range(views):
        view = AsteriskBackend(pbx.address, pbx=pbx)
        extension = str(1001 + index)
        view.book = ChannelBook(extension, f"user:{extension}", f"Agent {extension}")
        view._sink = sink
        pbx.views.append(view)
    return pbx, reports


def through_hub(pbx: AsteriskPbx, events: list[Event]) -> None:
    on_event = pbx._on_event
    for event in events:
        on_event(event)


def bare(events: list[Event]) -> None:
    for _event in events:
        pass


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--transcript", type=Path, default=DEFAULT)
    options.add_argument("--views", default="1,10,100,1000", help="comma-separated view counts")
    options.add_argument("--rounds", type=int, default=5)
    options.add_argument("--copies", type=int, default=4, help="the session's events, this many times over")
    args = options.parse_args()

    events = events_of(args.transcript) * args.copies
    counts = [int(n) for n in args.views.split(",")]
    times: dict[int, list[float]] = {n: [] for n in counts}
    floor: list[float] = []
    reported: dict[int, int] = {}
    for _ in range(args.rounds):
        started = time.perf_counter()
        bare(events)
        floor.append(time.perf_counter() - started)
        for n in counts:
            pbx, reports = hub(n)  # fresh books each round: the same calls are made and ended again
            started = time.perf_counter()
            through_hub(pbx, events)
            times[n].append(time.perf_counter() - started)
            reported[n] = reports[0]

    print(
        f"AMI fan-out, {len(events):,} events = {args.transcript.name} x {args.copies}, {args.rounds} rounds, "
        f"Python {platform.python_version()}"
    )
    print(f"bare loop: {len(events) / statistics.median(floor):,.0f} events/s (median)")
    print(f"{'views':>6} {'events/s median':>16} {'events/s best':>14} {'µs/event/view':>14} {'reports':>8}")
    for n in counts:
        median, best = statistics.median(times[n]), min(times[n])
        per_view = median / len(events) / n * 1e6
        print(f"{n:>6} {len(events) / median:>16,.0f} {len(events) / best:>14,.0f} {per_view:>14.2f} {reported[n]:>8}")


if __name__ == "__main__":
    main()
