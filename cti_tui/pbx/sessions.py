"""Who is attached to the exchange, and how what changes reaches them.

One :class:`SessionRegistry` per exchange. Every change to a leg is *published* to the sessions watching
one of its lines; changes made during one operation are delivered after it, in order, so no session sees
the exchange half-way through a move and a sink never re-enters the exchange mid-operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cti_tui.core import commands as cmd
from cti_tui.core.clock import Timer
from cti_tui.core.model import ActivityName, ErrorCode, Identity
from cti_tui.core.permissions import may_see
from cti_tui.pbx.context import Context
from cti_tui.pbx.legs import Leg

ReportSink = Callable[[cmd.Report], None]


@dataclass(eq=False)
class ExchangeSession:
    """One logged-in connection to the exchange: who it is, what it watches, where its reports go.

    Not the server's session (tokens, replay): a server session owns one of these through its backend.
    """

    identity: Identity
    sink: ReportSink
    subscriptions: dict[str, None] = field(default_factory=dict)  # an ordered set: walls watch thousands
    auto_answer: bool = False

    def watches(self, lines: set[str]) -> bool:
        return self.identity.line in lines or not self.subscriptions.keys().isdisjoint(lines)


class SessionRegistry:
    """The attached sessions, the delivery of reports to them, and the timers whose changes they see."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.sessions: list[ExchangeSession] = []
        self._outbox: list[tuple[cmd.Report, Callable[[ExchangeSession], bool]]] = []
        self._depth = 0

    # --- attachment ---------------------------------------------------------------------------------

    def attach(self, identity: Identity, sink: ReportSink) -> ExchangeSession:
        session = ExchangeSession(identity, sink)
        self.sessions.append(session)
        return session

    def detach(self, session: ExchangeSession) -> None:
        if session in self.sessions:
            self.sessions.remove(session)

    def is_human(self, extension: str | None) -> bool:
        return any(s.identity.extension == extension for s in self.sessions)

    def is_simulated(self, extension: str | None) -> bool:
        """A colleague nobody is logged in as acts on its own when the world's colleagues are on."""
        if extension is None or self.is_human(extension) or not self.context.org.world.colleagues:
            return False
        user = self.context.org.user_by_extension(extension)
        return user is None or user.simulated

    def is_present(self, extension: str) -> bool:
        return self.is_human(extension) or self.is_simulated(extension)

    # --- delivery -----------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Collect what changes during one operation and deliver it after, in order (no re-entrancy)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def _flush(self) -> None:
        while self._outbox:
            outbox, self._outbox = self._outbox, []
            for report, wants in outbox:
                for session in list(self.sessions):
                    if wants(session):
                        session.sink(report)

    def send(self, report: cmd.Report, wants: Callable[[ExchangeSession], bool]) -> None:
        self._outbox.append((report, wants))
        if self._depth == 0:
            self._flush()

    def publish(self, leg: Leg, before: set[str] | None = None) -> None:
        """Tell every session watching the leg's lines (now, or just before this change) its new state."""
        lines = leg.lines | (before or set())
        call = leg.call
        if call.monitor:
            self.send(cmd.CallUpdate(call), lambda s: s.watches(lines) and may_see(s.identity, call))
            return
        self.send(cmd.CallUpdate(call), lambda session: session.watches(lines))

    def notice(self, extension: str | None, level: ActivityName, code: ErrorCode, message: str, call_id: str) -> None:
        notice = cmd.Notice(level, code, message, call_id)
        self.send(notice, lambda session: session.identity.extension == extension)

    def later(self, delay: float, action: Callable[[], None]) -> Timer:
        """Run ``action`` after ``delay`` clock seconds, batching what it changes."""

        def fire() -> None:
            with self.batch():
                action()

        return self.context.clock.call_later(delay, fire)
