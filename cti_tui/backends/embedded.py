"""The embedded backend: one session on an in-process :class:`~cti_tui.pbx.exchange.Exchange`.

The default: no network, no set-up. Several backends (one per connector) may share one exchange, which
is how tests put an agent and a supervisor on the same PBX, and how the server hosts many sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from cti_tui.backends.registry import BackendOptions
from cti_tui.core import commands as cmd
from cti_tui.core.backend import ALL_OPERATIONS, Capabilities, ReportSink
from cti_tui.core.model import DirectoryEntry, ErrorCode, Identity
from cti_tui.pbx.exchange import Exchange, ExchangeSession

if TYPE_CHECKING:
    from cti_tui.core.backend import Authenticator


class EmbeddedBackend:
    name = "embedded PBX"

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.capabilities = Capabilities(
            operations=ALL_OPERATIONS,
            park_slots=exchange.org.park_slots,
            policies=exchange.org.policies,
            agent_states=True,
            consult_transfer=True,
            mute=True,
        )
        self._identity: Identity | None = None
        self._session: ExchangeSession | None = None

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        return self._remember(self.exchange.authenticate(credentials))

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return self._remember(self.exchange.two_factor_auth(nonce, code))

    def _remember(self, outcome: cmd.AuthOutcome) -> cmd.AuthOutcome:
        if isinstance(outcome, cmd.LoggedIn):
            self._identity = outcome.identity
        return outcome

    async def open(self, sink: ReportSink) -> None:
        if self._identity is None:
            raise ConnectionError("not authenticated")
        self._session = self.exchange.open_session(self._identity, sink)

    async def close(self) -> None:
        if self._session is not None:
            self.exchange.close_session(self._session)
        self._session = None
        self._identity = None

    async def directory(self) -> list[DirectoryEntry]:
        return self.exchange.directory()

    def now(self) -> datetime:
        """The simulated world's time (virtual in tests, sped up with --speed)."""
        return self.exchange.clock.now()

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        if self._session is None:
            return cmd.CommandResult.error(ErrorCode.NOT_CONNECTED, "not logged in")
        return self.exchange.execute(self._session, command)


class EmbeddedProvider:
    """The demo PBX in this process, built on first need: every session's backend shares one exchange."""

    name = "embedded"
    label = "Embedded demo PBX"

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self._exchange: Exchange | None = None

    @property
    def exchange(self) -> Exchange:
        if self._exchange is None:
            from cti_tui.pbx.runtime import load_organisation, start_exchange

            org = self.options.org or load_organisation(seed=self.options.seed, rate=self.options.rate)
            self._exchange = start_exchange(org, self.options.clock, traffic=False)
        return self._exchange

    @property
    def authenticator(self) -> Authenticator:
        return self.exchange.auth  # the PBX's own login checks, usable without the exchange

    def prepare(self) -> None:
        _ = self.exchange

    def new_backend(self) -> EmbeddedBackend:
        return EmbeddedBackend(self.exchange)

    def start(self) -> None:
        world = self.exchange.world
        if self.options.traffic and world is not None:
            world.start()

    def now(self) -> datetime:
        return self.options.clock.now()

    @property
    def queue_targets(self) -> dict[str, float]:
        """Each queue's service-level target in seconds, from the org file (read by the queue figures)."""
        return {queue.id: queue.service_level_seconds for queue in self.exchange.context.org.queues}
