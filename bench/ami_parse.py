#!/usr/bin/env python3
"""AMI parse throughput: the codec (cti_tui.protocol.ami) next to a bare ``bytes.split`` of the same bytes.

    python3 bench/ami_parse.py [--mb 8] [--rounds 7] [--chunk 65536] [--transcript FILE]

Input: a real AMI session recorded from Asterisk 22 (tests/asterisk/transcripts/session.ami: three baresip
phones registering, click-to-call, a trunk call, a queue call, park, queue pause; 217,546 bytes, 544 events,
24 responses). Its messages after the banner are repeated until the stream is ``--mb`` MB, with the banner
once at the start, so the parser sees one long real session.

Methods, each over the whole stream, in interleaved rounds (the order rotates every round), same process:

* **split** -- ``data.split(b"\\r\\n\\r\\n")``: cuts the stream into messages, nothing else (the floor).
* **split+lines** -- the same, then each message ``.split(b"\\r\\n")`` into lines (still bytes, no fields).
* **split+fields** -- the same, each message decoded and each line ``.split(": ", 1)``: the least Python can
  do to get the codec's (key, value) strings, with no types, no bounds, no chunk handling.
* **codec** -- ``AmiParser().feed()`` in ``--chunk``-byte reads (AmiLink reads 65,536): UTF-8 decode, every
  line into an ordered (key, value) pair, typed Banner / Response / Event items, the bounds checks.
* **codec+tracker** -- the same items through ``ActionTracker.receive`` with every ActionID of the stream
  registered, so list answers are gathered into Replies (what AmiLink does).

Each method's item count is checked against the split's message count (the same work is measured). Reported:
MB/s (10^6 bytes) and messages/s, median and best round, and the codec's slowdown against split. Nothing here
opens a socket; it runs on one core, single-threaded; a shared VM makes rounds vary, so compare within a run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from cti_tui.protocol.ami import ActionTracker, AmiParser, Response  # noqa: E402

DEFAULT = REPO / "tests" / "asterisk" / "transcripts" / "session.ami"


def stream(transcript: Path, megabytes: float) -> tuple[bytes, int]:
    """The transcript's banner, then its messages repeated to about ``megabytes`` MB; and the message count."""
    raw = transcript.read_bytes()
    banner, _, body = raw.partition(b"\r\n")
    if not body.endswith(b"\r\n\r\n"):
        raise SystemExit(f"{transcript}: does not end with a whole message")
    copies = max(1, round(megabytes * 1e6 / len(body)))
    data = banner + b"\r\n" + body * copies
    messages = sum(1 for block in body.split(b"\r\n\r\n") if block) * copies
    return data, messages


def split_messages(data: bytes, chunk: int) -> int:
    return sum(1 for block in data.split(b"\r\n\r\n") if block)  # (the banner line is glued to the first)


def split_lines(data: bytes, chunk: int) -> int:
    return sum(1 for block in data.split(b"\r\n\r\n") if block and block.split(b"\r\n"))


def split_fields(data: bytes, chunk: int) -> int:
    """The least Python can do to get the same (key, value) strings: no types, no bounds, no chunking."""
    count = 0
    for block in data.split(b"\r\n\r\n"):
        if block:
            fields = [line.split(": ", 1) for line in block.decode("utf-8", "replace").split("\r\n")]
            count += bool(fields)
    return count


def codec(data: bytes, chunk: int) -> int:
    parser = AmiParser()
    view = memoryview(data)
    count = 0
    for start in range(0, len(data), chunk):
        count += len(parser.feed(view[start : start + chunk]))  # type: ignore[arg-type]
    return count - 1  # the banner


def codec_tracker(data: bytes, chunk: int) -> int:
    parser = AmiParser()
    tracker = ActionTracker()
    view = memoryview(data)
    count = 0
    for start in range(0, len(data), chunk):
        for item in parser.feed(view[start : start + chunk]):  # type: ignore[arg-type]
            count += 1
            if isinstance(item, Response) and item.action_id:
                tracker.sent(item.action_id, "?")  # as if sent: the transcript has the answers, not the actions
            tracker.receive(item)
    return count - 1


METHODS: dict[str, Callable[[bytes, int], int]] = {
    "split": split_messages,
    "split+lines": split_lines,
    "split+fields": split_fields,
    "codec": codec,
    "codec+tracker": codec_tracker,
}


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--transcript", type=Path, default=DEFAULT)
    options.add_argument("--mb", type=float, default=8.0, help="stream size in MB (default 8)")
    options.add_argument("--rounds", type=int, default=7)
    options.add_argument("--chunk", type=int, default=65536, help="bytes per feed() (default 65536)")
    options.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = options.parse_args()

    data, messages = stream(args.transcript, args.mb)
    times: dict[str, list[float]] = {name: [] for name in METHODS}
    names = list(METHODS)
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            started = time.perf_counter()
            counted = METHODS[name](data, args.chunk)
            times[name].append(time.perf_counter() - started)
            if counted != messages:
                raise SystemExit(f"{name} counted {counted} messages, expected {messages}")

    copies = len(data) // len(args.transcript.read_bytes())
    print(
        f"AMI parse, {len(data) / 1e6:.2f} MB = {args.transcript.name} x {copies} ({messages:,} messages)"
        f", {args.rounds} rounds, chunk {args.chunk:,} B, Python {platform.python_version()}"
    )
    print(f"{'method':<14} {'MB/s median':>12} {'MB/s best':>10} {'msg/s median':>13} {'x split':>8}")
    figures = {}
    floor = statistics.median(times["split"])
    for name in names:
        median, best = statistics.median(times[name]), min(times[name])
        figures[name] = {
            "mb_per_s_median": len(data) / median / 1e6,
            "mb_per_s_best": len(data) / best / 1e6,
            "messages_per_s_median": messages / median,
            "slowdown_vs_split": median / floor,
        }
        f = figures[name]
        print(
            f"{name:<14} {f['mb_per_s_median']:>12.1f} {f['mb_per_s_best']:>10.1f} "
            f"{f['messages_per_s_median']:>13,.0f} {f['slowdown_vs_split']:>8.1f}"
        )
    if args.json:
        print(json.dumps({"bytes": len(data), "messages": messages, "figures": figures}, indent=1))


if __name__ == "__main__":
    main()
