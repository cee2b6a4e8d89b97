"""The baresip call book with several calls (answering one holds the others; listcalls says which are held),
a baresip that died (every call interrupted), and ``reginfo``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cti_tui.core import commands as cmd
from cti_tui.core.model import CallStatus
from cti_tui.protocol.baresip import BaresipEvent, CallBook, ListedCall, parse_listcalls, parse_reginfo

AOR = "sip:1001@pbx.example"


def ev(kind: str, call_id: str, direction: str = "incoming", peer: str = "sip:+331@h") -> BaresipEvent:
    return BaresipEvent(kind, "call", call_id, direction, peer, "", "", AOR)


def statuses(reports: list[cmd.Report]) -> list[tuple[str, str]]:
    return [(r.call.id, r.call.status.value) for r in reports if isinstance(r, cmd.CallUpdate)]


def up(book: CallBook, call_id: str, direction: str = "incoming", peer: str = "sip:+331@h") -> list[cmd.Report]:
    first = "CALL_INCOMING" if direction == "incoming" else "CALL_RINGING"
    return book.on_event(ev(first, call_id, direction, peer)) + book.on_event(
        ev("CALL_ESTABLISHED", call_id, direction, peer)
    )


def test_answering_a_second_call_holds_the_first_before_it_connects() -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    up(book, "a", peer="sip:+331@h")
    assert statuses(up(book, "b", peer="sip:+332@h")) == [("b", "RINGING"), ("a", "ON_HOLD"), ("b", "CONNECTED")]


def test_dialling_out_holds_nothing() -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    up(book, "a")
    assert statuses(up(book, "o", "outgoing", "sip:5555@h")) == [("o", "RINGING"), ("o", "CONNECTED")]


def test_listcalls_hold_is_matched_by_peer_then_line_order() -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    up(book, "a", peer="sip:+331@h")
    up(book, "b", peer="sip:+331@h")  # the same caller twice
    up(book, "c", peer="sip:+333@h")
    rows = parse_listcalls(
        "  [line 1]  0:00:09  ESTABLISHED             sip:+331@h\n"
        "  [line 2]  0:00:05  ESTABLISHED  (on hold)  sip:+331@h\n"
        "> [line 3]  0:00:01  ESTABLISHED             sip:+333@h\n"
    )
    # answering b held a, answering c held b; listcalls says line 1 (a) is not held (the agent resumed it)
    assert statuses(book.apply_listed_hold(rows)) == [("a", "CONNECTED")]
    assert [(c.id, c.status.value) for c in book.live()] == [("a", "CONNECTED"), ("b", "ON_HOLD"), ("c", "CONNECTED")]
    assert book.apply_listed_hold(rows) == []  # nothing new: nothing said


def test_a_ringing_call_is_not_touched_by_listcalls() -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    book.on_event(ev("CALL_INCOMING", "r"))
    assert book.apply_listed_hold([ListedCall(1, 0, "INCOMING", False, "sip:+331@h")]) == []


@given(st.lists(st.tuples(st.integers(1, 9), st.sampled_from(["ESTABLISHED", "INCOMING"]), st.booleans()), max_size=8))
def test_listed_hold_only_ever_moves_between_connected_and_on_hold(rows: list[tuple[int, str, bool]]) -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    up(book, "a")
    up(book, "b")
    listed = [ListedCall(line, 0, state, held, "sip:+331@h") for line, state, held in rows]
    for call_id, status in statuses(book.apply_listed_hold(listed)):
        assert status in ("CONNECTED", "ON_HOLD") and call_id in ("a", "b")


def test_a_dead_baresip_interrupts_every_call() -> None:
    book = CallBook("user:1001", "1001", account=AOR)
    up(book, "a")
    book.on_event(ev("CALL_INCOMING", "r", peer="sip:+332@h"))
    ended = [r.call for r in book.interrupt_all() if isinstance(r, cmd.CallUpdate)]
    assert [(c.id, c.status, c.cause) for c in ended] == [
        ("a", CallStatus.HANGUP, "interrupted"),
        ("r", CallStatus.CANCEL, "interrupted"),
    ]
    assert book.live() == [] and book.interrupt_all() == []


def test_reginfo_states_without_colours() -> None:
    data = (
        "\n--- User Agents (2) ---\n> sip:1001@127.0.0.1:12402                   \x1b[32mOK \x1b[;m lab Expires 599s\n"
        "  sip:1002@127.0.0.1:12402                   \x1b[31mERR\x1b[;m lab Expires 0s\n\n"
    )
    assert parse_reginfo(data) == {"sip:1001@127.0.0.1:12402": "OK", "sip:1002@127.0.0.1:12402": "ERR"}
    assert parse_reginfo("\n--- User Agents (0) ---\n") == {}


@given(st.text())
def test_reginfo_never_raises(text: str) -> None:
    parse_reginfo(text)
