"""``cti-tui events`` under hostile stdin, as a real subprocess: every bad line costs one ERROR, never the stream.

20,000 lines of random bytes, invalid UTF-8, deep nesting, huge numbers, lone surrogates and 10 MB lines (split
across writes) must each get an ERROR naming their line, the process must still be alive, and a final valid
command must be answered. Output that stdout's encoding cannot carry is escaped, never the end of the stream.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from events_process import EventsProcess

LINES = 20_000
QUIET = ("--demo-rate", "0", "--speed", "20", "--no-history")
BIG = 10 * 1024 * 1024


def _hostile_line(rng: random.Random, index: int) -> bytes:
    kind = index % 8
    if kind == 0:  # random bytes (never blank: a blank line is skipped without an answer)
        return b"#" + bytes(rng.choice([b for b in range(256) if b != 0x0A]) for _ in range(rng.randint(0, 60)))
    if kind == 1:  # invalid UTF-8 inside something JSON-like
        return b'{"action":"call","destination":"\xff\xfe\xc3(' + str(index).encode() + b'"}'
    if kind == 2:  # nesting deeper than the parser's recursion
        depth = rng.randint(2_000, 20_000)
        return b"[" * depth + b"]" * depth
    if kind == 3:  # an integer over Python's digit limit
        return b'{"action":"unpark","slot":' + b"9" * rng.randint(4_400, 9_000) + b"}"
    if kind == 4:  # a lone surrogate in an action name
        return b'{"action":"\\ud800hold' + str(index).encode() + b'"}'
    if kind == 5:  # valid JSON, wrong types (a secret-looking number must not matter)
        return json.dumps({"action": "login", "email": "a@b.c", "password": rng.randint(0, 10**9)}).encode()
    if kind == 6:  # unknown fields and actions
        return json.dumps({"action": "hold", "callId": "x", f"extra{index}": True}).encode()
    return b"\x1b[31m\x00not json\x07 " + str(index).encode()  # control characters


def test_twenty_thousand_hostile_lines_each_get_an_error_and_the_stream_lives(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    events = EventsProcess(tmp_path, *QUIET)
    try:
        events.expect_event("READY")
        lines = [_hostile_line(rng, i) for i in range(LINES - 3)]
        lines += [b"x" * BIG, b'{"action":"call","destination":"' + b"1" * BIG + b'"}', b"\xff" * BIG]
        rng.shuffle(lines)
        assert events.proc.stdin is not None
        stdin = events.proc.stdin.buffer  # type: ignore[attr-defined]
        for line in lines:
            if len(line) > 65536:  # a long line arrives in pieces, as a pipe delivers it
                for start in range(0, len(line), 1_000_003):
                    stdin.write(line[start : start + 1_000_003])
                    stdin.flush()
                stdin.write(b"\n")
            else:
                stdin.write(line + b"\n")
        stdin.flush()
        events.send({"action": "calls", "id": "final"})
        reply = events.expect(lambda item: item.get("reply") == "calls", "the final command's reply")
        assert reply == {"reply": "calls", "result": [], "id": "final"}
        assert events.proc.poll() is None, "the process died"
        answered = set()
        for item in events.seen:
            if item.get("name") == "ERROR":
                match = re.match(r"line (\d+): ", item["message"])
                assert match, item
                answered.add(int(match.group(1)))
        assert answered == set(range(1, LINES + 1))
        too_long = [i for i in events.seen if "command too long" in i.get("message", "")]
        assert len(too_long) == 3 and all("skipped" in i["message"] for i in too_long)
        events.send({"action": "quit"})
        assert events.finish() == 0
    finally:
        if events.proc.poll() is None:
            events.proc.kill()


def test_output_a_terminal_cannot_encode_is_escaped_not_the_end(tmp_path: Path) -> None:
    """The two cases that stopped the stream with exit 0: a lone surrogate echoed in an answer, and a
    non-ASCII name under an ASCII stdout."""
    events = EventsProcess(tmp_path, *QUIET, env={"PYTHONIOENCODING": "ascii"})
    try:
        events.expect_event("READY")
        events.send('{"action":"hold","callId":"\\ud800"}')
        info = events.expect(lambda item: item.get("name") in ("INFO", "ERROR"), "the refusal")
        assert "\ud800" in info["message"] or "ud800" in info["message"], info
        events.send({"action": "call", "destination": "+12025550101", "id": "after"})
        events.expect_event("INITIAL", destination="+12025550101")
        events.send({"action": "quit"})
        assert events.finish() == 0
    finally:
        if events.proc.poll() is None:
            events.proc.kill()
