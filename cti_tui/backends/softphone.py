"""The softphone backend: a real baresip driven over its ``ctrl_tcp`` control socket.

A thin asyncio shell around :mod:`cti_tui.protocol.baresip`: one TCP connection (TCP_NODELAY and
TCP_QUICKACK, or responses stall ~40 ms on delayed ACKs), one command in flight at a time, responses matched by
token, events turned into reports by the codec's :class:`~baresip_codec.CallBook`. baresip's commands act on
the *current call*, so every call command first selects its call with ``callfind <Call-ID>``.

baresip allows one control client: a new connection silently replaces the old one and events sent while nobody
listens are lost. When the socket drops, the backend reports LinkDown, reconnects, resynchronises from
``listcalls``/``callstat`` (a Snapshot) and reports LinkUp.

Login: a softphone has no user directory. ``login`` accepts any credentials and logs in as the SIP account the
backend drives (the ``account`` AOR given, or the managed instance's, or the first one baresip lists); the
identity's extension is the AOR's user part and its name the account's display name. The e-mail typed is kept
as the identity's e-mail, so history and the status bar show who sat at the phone.

What it can do (:attr:`SoftphoneBackend.capabilities`): answer, reject (hang up an unanswered inbound call:
baresip answers 486), hang up, hold/resume, blind transfer (REFER), supervised transfer (see
:meth:`SoftphoneBackend._supervised`) and DTMF. No park, merge, subscriptions, click-to-call, auto-answer
switch, API keys or 2FA: those are hidden by the capabilities, not faked.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cti_tui import paths
from cti_tui.backends.registry import BackendOptions, BackendUnavailable
from cti_tui.core import commands as cmd
from cti_tui.core.backend import Capabilities, ReportSink
from cti_tui.core.model import (
    ActivityName,
    CallStatus,
    DirectoryEntry,
    ErrorCode,
    Identity,
    Operation,
    Role,
)
from cti_tui.protocol.baresip import (
    BaresipEvent,
    CallBook,
    FrameError,
    NetstringDecoder,
    Response,
    Tokens,
    encode_command,
    number_of,
    parse_callstat,
    parse_listcalls,
    parse_message,
    parse_reginfo,
    split_name_addr,
)

DEFAULT_CONTROL = ("127.0.0.1", 4444)
COMMAND_TIMEOUT = 5.0
START_TIMEOUT = 10.0
DIAL_ID_TIMEOUT = 3.0
REGISTER_TIMEOUT = 8.0
SUPERVISED_TIMEOUT = 30.0
MAX_BACKOFF = 5.0
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # baresip colours its log lines,
RED = "\x1b[31m"  # its errors in red

SOFTPHONE_OPERATIONS = frozenset(
    {
        Operation.ANSWER,
        Operation.REJECT,
        Operation.HANGUP,
        Operation.HOLD,
        Operation.RESUME,
        Operation.TRANSFER,
        Operation.SUPERVISED_TRANSFER,
        Operation.DTMF,
    }
)


def softphone_capabilities() -> Capabilities:
    return Capabilities(
        operations=SOFTPHONE_OPERATIONS,
        subscribe=False,
        click_to_call=False,
        auto_answer=False,
        two_factor=False,
        api_key_login=False,
        park_slots=0,
        sip_uris=True,
    )


class BaresipError(ConnectionError):
    """baresip could not be started, reached, or did not answer as expected."""


class NowhereToDial(ValueError):
    """A bare number without a registrar to send it to."""


def _tune(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:  # Linux only; re-armed before each read because the kernel clears it
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


class ControlLink:
    """One ctrl_tcp connection: send a command, await its response (by token); events go to ``on_event``."""

    def __init__(self, host: str, port: int, on_event: Callable[[BaresipEvent], None]) -> None:
        self.host, self.port = host, port
        self.on_event = on_event
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[Response]] = {}
        self._tokens = Tokens()
        self._lock = asyncio.Lock()
        self.closed = asyncio.Event()
        self.problem = ""

    async def connect(self, timeout: float = COMMAND_TIMEOUT) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        except (OSError, TimeoutError) as exc:
            raise BaresipError(f"cannot reach baresip ctrl_tcp at {self.host}:{self.port}: {exc}") from None
        self._reader, self._writer = reader, writer
        self._sock = writer.get_extra_info("socket")
        _tune(self._sock)
        self.closed.clear()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        decoder = NetstringDecoder()
        assert self._reader is not None
        try:
            while True:
                _tune(self._sock)
                data = await self._reader.read(65536)
                if not data:
                    self.problem = "baresip closed the control connection"
                    return
                try:
                    messages = decoder.feed(data)
                except FrameError as exc:
                    for message in exc.messages:
                        self._dispatch(message)
                    self.problem = f"baresip sent a bad frame: {exc}"
                    return
                for message in messages:
                    self._dispatch(message)
        except (OSError, ConnectionError) as exc:
            self.problem = f"control connection lost: {exc}"
        finally:
            self._fail_pending(self.problem or "control connection closed")
            if self._writer is not None:
                self._writer.close()
            self.closed.set()

    def _dispatch(self, message: dict[str, object]) -> None:
        parsed = parse_message(message)
        if isinstance(parsed, Response):
            future = self._pending.pop(parsed.token or "", None)
            if future is not None and not future.done():
                future.set_result(parsed)
        elif isinstance(parsed, BaresipEvent):
            self.on_event(parsed)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(BaresipError(reason))
        self._pending.clear()

    async def request(self, command: str, params: str | None = None, timeout: float = COMMAND_TIMEOUT) -> Response:
        """Send one command and wait for its response; one command in flight at a time."""
        async with self._lock:
            if self._writer is None or self.closed.is_set():
                raise BaresipError(self.problem or "not connected to baresip")
            token = self._tokens.next()
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self._pending[token] = future
            try:
                self._writer.write(encode_command(command, params, token))
                await self._writer.drain()
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise BaresipError(f"baresip did not answer {command!r} within {timeout:g} s") from None
            except (OSError, ConnectionError) as exc:
                raise BaresipError(f"control connection: {exc}") from None
            finally:
                self._pending.pop(token, None)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.closed.set()


# --- a baresip of our own ---------------------------------------------------------------------------------


@dataclass
class ManagedBaresip:
    """A headless baresip started and stopped by cti-tui, its config in its own ``folder``.

    Loopback by default, audio from ``ausine`` into ``aubridge`` sinks (no sound card). Without a
    ``registrar`` its one account has ``regint=0`` and its AOR is its own address (callers dial that). With a
    ``registrar`` (``host[:port]``, the SIP domain) the account is ``sip:USER@REGISTRAR``, registers there
    (through ``proxy`` when given) and is added over the control socket (``uanew``) once baresip is up, so
    the SIP ``password`` never touches the disk. SIP ports should be at least 2 apart: baresip also binds TLS
    on ``sip_port+1``.
    """

    folder: Path
    sip_port: int
    ctrl_port: int
    user: str = "1001"
    display_name: str = "Agent"
    answermode: str = "manual"
    host: str = "127.0.0.1"
    rtp_ports: tuple[int, int] | None = None
    binary: str = "baresip"
    registrar: str = ""
    proxy: str = ""
    auth_user: str = ""
    password: str = field(default="", repr=False)
    regint: int = 600

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def aor(self) -> str:
        """The account's address of record: what callers dial to reach this phone."""
        if self.registrar:
            return f"sip:{self.user}@{self.registrar}"
        return f"sip:{self.user}@{self.host}:{self.sip_port}"

    def account_line(self, with_password: bool) -> str:
        """The account as baresip's ``accounts`` syntax (the password only for ``uanew``, never a file)."""
        name = self.display_name.replace('"', "")
        line = f'"{name}" <{self.aor}>;answermode={self.answermode}'
        if not self.registrar:
            return f"{line};regint=0"
        line += f";regint={self.regint}"
        if self.auth_user:
            line += f";auth_user={self.auth_user}"
        if self.proxy:
            line += f';outbound="sip:{self.proxy};lr"'
        if with_password and self.password:
            line += f";auth_pass={self.password}"
        return line

    @property
    def control(self) -> tuple[str, int]:
        return (self.host, self.ctrl_port)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def log_path(self) -> Path:
        return self.folder / "baresip.log"

    def write_config(self) -> None:
        low, high = self.rtp_ports or (30000 + (self.sip_port % 1000) * 20, 30000 + (self.sip_port % 1000) * 20 + 19)
        self.folder.mkdir(parents=True, exist_ok=True)
        config = f"""\
poll_method epoll
sip_listen {self.host}:{self.sip_port}
net_interface {self.host}
dns_server 127.0.0.1:53
call_max_calls 4
audio_player aubridge,sink
audio_source ausine,440
audio_alert aubridge,alert
ausrc_srate 48000
ausrc_channels 2
rtp_ports {low}-{high}
module_path /usr/lib/baresip/modules
module g711.so
module aubridge.so
module ausine.so
module_tmp uuid.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen {self.host}:{self.ctrl_port}
"""
        (self.folder / "config").write_text(config)
        # with a registrar the account comes over the control socket (uanew): its password stays off the disk
        (self.folder / "accounts").write_text("" if self.registrar else self.account_line(with_password=False) + "\n")

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Write the config, spawn ``baresip -4 -f FOLDER`` and wait (bounded) until it is ours and answers."""
        if self.process is not None and self.process.poll() is None:
            return
        self.write_config()
        with open(self.log_path, "ab") as log:
            try:
                self.process = subprocess.Popen(
                    [self.binary, "-4", "-f", str(self.folder)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise BaresipError(f"cannot start {self.binary}: {exc}") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.01
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise BaresipError(f"baresip exited with {code}{self._log_tail()}; see {self.log_path}")
            try:
                if await self._answers_as_ours(max(0.2, deadline - loop.time())):
                    return
                await self.stop()
                raise BaresipError(f"{self.host}:{self.ctrl_port} answers, but not as {self.aor}")
            except (OSError, TimeoutError):
                pass
            if loop.time() >= deadline:
                said = self._log_tail()  # (before stopping it: it then logs its own end)
                await self.stop()
                raise BaresipError(f"baresip did not open its control socket within {timeout:g} s{said}")
            await asyncio.sleep(delay)  # bounded start-up wait for a process we do not control
            delay = min(0.1, delay * 2)

    def _log_tail(self, lines: int = 2) -> str:
        """': ' and what baresip last logged as an error (in red: a port in use, a module missing), else its
        last lines — for the error at hand, so nobody has to open the log to learn why."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(max(0, log.seek(0, os.SEEK_END) - 4096))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        logged = [(RED in line, ANSI.sub("", line).strip()) for line in text.splitlines()]
        errors = [line for red, line in logged if red and line]
        said = errors or [line for _, line in logged if line]
        return f": {' / '.join(said[-lines:])}" if said else ""

    async def _answers_as_ours(self, timeout: float) -> bool:
        link = ControlLink(self.host, self.ctrl_port, lambda _event: None)
        try:
            await link.connect(timeout)
        except BaresipError as exc:
            raise OSError(str(exc)) from None
        try:
            response = await link.request("uafind", self.aor, timeout)
            if self.registrar and self.aor not in response.data:
                agents = await link.request("reginfo", timeout=timeout)
                if "User Agents (0)" in agents.data:  # our own baresip, just started: add the account
                    await link.request("uanew", self.account_line(with_password=True), timeout)
                    response = await link.request("uafind", self.aor, timeout)
        except BaresipError as exc:
            raise OSError(str(exc)) from None
        finally:
            await link.close()
        return response.ok and self.aor in response.data

    async def stop(self, grace: float = 1.0) -> None:
        """``quit``, a grace period, SIGTERM twice, then SIGKILL — always by this process's PID."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(BaresipError, OSError):
            link = ControlLink(self.host, self.ctrl_port, lambda _event: None)
            await link.connect(0.5)
            with contextlib.suppress(BaresipError):
                await link.request("quit", timeout=0.5)
            await link.close()
        for sig in (None, signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, sig)
            try:
                await asyncio.to_thread(process.wait, grace)
                return
            except subprocess.TimeoutExpired:
                continue


# --- the backend --------------------------------------------------------------------------------------------


class SoftphoneBackend:
    """Drive a real baresip: attach to one already running (``control``) or start a :class:`ManagedBaresip`."""

    name = "softphone (baresip)"

    def __init__(
        self,
        control: tuple[str, int] | None = None,
        *,
        managed: ManagedBaresip | None = None,
        account: str | None = None,
        dial_domain: str | None = None,
        reconnect: bool = True,
        command_timeout: float = COMMAND_TIMEOUT,
        stored_password: Callable[[], str | None] | None = None,
    ) -> None:
        """``dial_domain`` (``host[:port]``) is where numbers are sent: ``sip:<number>@<dial_domain>``. By
        default the registrar of a managed baresip that has one; an attached baresip's account domain; and
        none for a managed baresip without a registrar (bare numbers are then refused: only SIP URIs).
        ``stored_password`` looks up the SIP password (the keyring) when none is typed at login."""
        self.managed = managed
        self.control = control or (managed.control if managed else DEFAULT_CONTROL)
        self.account = account or (managed.aor if managed else None)
        self.dial_domain = dial_domain
        self.reconnect = reconnect
        self.command_timeout = command_timeout
        self.capabilities = softphone_capabilities()
        self.identity: Identity | None = None
        self.book: CallBook | None = None
        self._link: ControlLink | None = None
        self._sink: ReportSink | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._started_managed = False
        self._supervised: dict[str, asyncio.Task[None]] = {}
        self._consults: dict[str, str] = {}  # consult call id -> original call id
        self._event_listeners: list[Callable[[BaresipEvent], None]] = []
        self._stored_password = stored_password
        self._hold_refresh: asyncio.Task[None] | None = None
        self._hold_again = False

    # --- plumbing ---------------------------------------------------------------------------------------

    def add_event_listener(self, listener: Callable[[BaresipEvent], None]) -> None:
        """Raw baresip events, for diagnostics and tests (e.g. the DTMF digits a far end received)."""
        self._event_listeners.append(listener)

    def received_dtmf(self, call_id: str) -> str:
        """The DTMF digits baresip reported receiving on this call (CALL_DTMF_START)."""
        return self.book.dtmf.get(call_id, "") if self.book else ""

    def _report(self, report: cmd.Report) -> None:
        if self._sink is not None:
            self._sink(report)

    def _on_event(self, event: BaresipEvent) -> None:
        for listener in list(self._event_listeners):
            listener(event)
        if self.book is None:
            return
        if event.type == "REGISTER_FAIL" and event.account in ("", self.account):
            reason = event.param or "no reason given"
            why = f"registration of {self.account} failed ({reason}): calls to it may not arrive"
            self._report(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, why))
        for report in self.book.on_event(event):
            self._report(report)
        up = len(self.book.established())
        if (event.type == "CALL_ESTABLISHED" and up >= 2) or (event.type == "CALL_CLOSED" and up >= 1):
            self._refresh_hold()

    def _refresh_hold(self) -> None:
        """Read hold back from ``listcalls`` soon (baresip holds and resumes calls on its own when several
        are up; it says so only there). One refresh at a time; asked again meanwhile, it runs once more."""
        if self._hold_refresh is not None and not self._hold_refresh.done():
            self._hold_again = True
            return
        self._hold_refresh = asyncio.create_task(self._read_hold())

    async def _read_hold(self) -> None:
        again = True
        while again and self.book is not None and not self._closing:
            self._hold_again = False
            try:
                rows = parse_listcalls((await self._request("listcalls")).data)
            except BaresipError:
                return  # the link is down: the resync after reconnecting reads hold from listcalls anyway
            for report in self.book.apply_listed_hold(rows):
                self._report(report)
            again = self._hold_again

    async def _request(self, command: str, params: str | None = None) -> Response:
        link = self._link
        if link is None:
            raise BaresipError("not connected to baresip")
        return await link.request(command, params, self.command_timeout)

    async def _connect(self) -> None:
        link = ControlLink(*self.control, self._on_event)
        await link.connect(self.command_timeout)
        self._link = link

    # --- session ----------------------------------------------------------------------------------------

    async def login(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        password = ""
        match credentials:
            case cmd.PasswordLogin(email=email, password=password):
                pass
            case cmd.Vouched(identity=identity):
                email = identity.email
            case _:
                return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "the softphone takes any e-mail and password")
        managed = self.managed
        if managed is not None and managed.registrar and not managed.password:
            managed.password = password or (self._stored_password() if self._stored_password else None) or ""
        if managed is not None and (managed.process is None or managed.process.poll() is not None):
            await managed.start()
            self._started_managed = True
        if self._link is None or self._link.closed.is_set():
            await self._connect()
        if managed is not None and managed.registrar:
            problem = await self._registration_problem(managed)
            if problem:
                await self.close()
                managed.password = ""  # a wrong one is not kept for the next try
                return cmd.AuthFailed(ErrorCode.BAD_CREDENTIALS, problem)
        aor, name = await self._find_account()
        if aor is None:
            await self.close()
            return cmd.AuthFailed(ErrorCode.BACKEND_FAILURE, f"baresip has no account {self.account or ''}".strip())
        self.account = aor
        number = number_of(aor)
        self.identity = Identity(aor, email or aor, name or number, Role.AGENT, number)
        self.book = CallBook(self.identity.line, number, name, account=aor)
        if self.dial_domain is None and managed is not None and managed.registrar:
            self.dial_domain = managed.registrar
        elif self.dial_domain is None and managed is None and "@" in aor:
            self.dial_domain = aor.split("@", 1)[1].split(";", 1)[0]
        self.name = f"baresip {aor}"  # the status bar shows it: the address callers dial
        return cmd.LoggedIn(self.identity)

    async def _registration_problem(self, managed: ManagedBaresip) -> str:
        """Wait (bounded) for the account's registration: "" when the registrar accepted it, else why not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REGISTER_TIMEOUT
        delay = 0.02
        while True:
            state = parse_reginfo((await self._request("reginfo")).data).get(managed.aor, "")
            if state == "OK":
                return ""
            if state == "ERR":
                said = managed._log_tail(1)
                hint = "" if managed.password else " (no SIP password was typed or stored)"
                return f"the registrar {managed.registrar} refused {managed.aor}{said}{hint}"
            if loop.time() >= deadline:
                return f"no answer from the registrar {managed.registrar} within {REGISTER_TIMEOUT:g} s"
            await asyncio.sleep(delay)  # registration is the registrar's pace: poll, bounded
            delay = min(0.2, delay * 2)

    async def _find_account(self) -> tuple[str | None, str]:
        if self.account:
            response = await self._request("uafind", self.account)
            if response.refused or self.account not in response.data:
                return None, ""
            aor = self.account
        else:
            response = await self._request("reginfo")
            rows = [line.strip().lstrip(">").strip() for line in response.data.splitlines() if "sip:" in line]
            if not rows:
                return None, ""
            aor = rows[0].split()[0]
        name = self.managed.display_name if self.managed and self.managed.aor == aor else ""
        return aor, name

    async def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        return cmd.AuthFailed(ErrorCode.NOT_SUPPORTED, "the softphone has no two-factor login")

    async def open(self, sink: ReportSink) -> None:
        if self.identity is None or self._link is None:
            raise ConnectionError("not authenticated")
        self._closing = False
        self._sink = sink
        sink(await self._resync())
        self._watcher = asyncio.create_task(self._watch())

    async def _resync(self) -> cmd.Snapshot:
        """The present from ``listcalls`` and, per line, ``line N`` + ``callstat`` (which has the Call-ID)."""
        assert self.book is not None
        listed = parse_listcalls((await self._request("listcalls")).data)
        present = []
        for row in listed:
            await self._request("line", str(row.line))
            stat = parse_callstat((await self._request("callstat")).data)
            if stat is not None:
                present.append((row, stat))
        return self.book.resync(present)

    async def _watch(self) -> None:
        """Keep the control link: on loss, LinkDown, reconnect with backoff, resynchronise, LinkUp. When the
        baresip cti-tui started has died, its calls end (``interrupted``) and it is started again."""
        while not self._closing:
            link = self._link
            assert link is not None
            await link.closed.wait()
            if self._closing:
                return
            death = await self._managed_death()
            if death is not None:
                await self._restart(death)
                continue
            if not self.reconnect:
                self._report(cmd.LinkDown(f"baresip control link lost: {link.problem}", retrying=False))
                return
            self._report(cmd.LinkDown(f"baresip control link lost ({link.problem}); reconnecting…", retrying=True))
            delay = 0.05
            while not self._closing:
                try:
                    await self._connect()
                    snapshot = await self._resync()
                except BaresipError:
                    death = await self._managed_death(0.0)
                    if death is not None:
                        await self._restart(death)
                        break
                    await asyncio.sleep(delay)
                    delay = min(MAX_BACKOFF, delay * 2)
                    continue
                self._report(snapshot)
                self._report(cmd.LinkUp("reconnected to baresip; calls resynchronised"))
                break

    async def _managed_death(self, grace: float = 0.5) -> str | None:
        """How the baresip we started ended (waiting up to ``grace`` s: its socket closes as it exits), or
        None while it runs (the link was lost for another reason, e.g. a second control client)."""
        managed = self.managed
        process = managed.process if managed is not None and self._started_managed else None
        if process is None:
            return None
        try:
            code = await asyncio.to_thread(process.wait, grace)
        except subprocess.TimeoutExpired:
            return None
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
            return f"killed by signal {-code}"
        return f"exited with status {code}"

    async def _restart(self, death: str) -> None:
        """The managed baresip died: its calls end (history keeps them, cause ``interrupted``), the user
        is told, and it is started again (with backoff) until it answers or the session closes."""
        assert self.managed is not None and self.book is not None
        self._report(cmd.LinkDown(f"baresip {death}; restarting it…", retrying=True))
        ended = self.book.interrupt_all()
        for report in ended:
            self._report(report)
        lost = f"; {len(ended)} call{'s' if len(ended) != 1 else ''} interrupted" if ended else ""
        self._report(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, f"baresip {death}{lost}"))
        delay = 0.05
        while not self._closing:
            try:
                await self.managed.start()
                await self._connect()
                problem = await self._registration_problem(self.managed) if self.managed.registrar else ""
                if problem:
                    raise BaresipError(problem)
                snapshot = await self._resync()
            except BaresipError as exc:
                self._report(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, f"restarting baresip: {exc}"))
                await asyncio.sleep(delay)  # back-off between restarts of a phone that keeps failing
                delay = min(MAX_BACKOFF, delay * 2)
                continue
            self._report(snapshot)
            self._report(cmd.LinkUp(f"baresip restarted ({self.managed.aor}){lost}"))
            return

    async def close(self) -> None:
        self._closing = True
        for task in self._supervised.values():
            task.cancel()
        self._supervised.clear()
        if self._hold_refresh is not None:
            self._hold_refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._hold_refresh
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self._link is not None:
            await self._link.close()
        self._link = None
        self._sink = None
        if self.managed is not None and self._started_managed:
            await self.managed.stop()
            self._started_managed = False

    async def directory(self) -> list[DirectoryEntry]:
        return []

    def now(self) -> datetime:
        """The phone's calls happen in real time: this machine's clock."""
        return datetime.now(UTC)

    # --- commands ---------------------------------------------------------------------------------------

    def _uri(self, destination: str) -> str:
        """A SIP URI as given; a number via the registrar (``sip:1002@registrar``)."""
        if destination.lower().startswith(("sip:", "sips:")):
            return destination
        if self.dial_domain is None:
            raise NowhereToDial(
                f"{destination}: no SIP registrar is set, so a number has nowhere to go — dial a SIP address "
                "(sip:user@host:port) or set a registrar (--sip-registrar, softphone_registrar)"
            )
        return f"sip:{destination}@{self.dial_domain}"

    async def _select(self, call_id: str) -> cmd.CommandResult | None:
        """Make ``call_id`` the current call; a refusal when baresip does not know it."""
        response = await self._request("callfind", call_id)
        if response.refused:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"baresip has no call {call_id}")
        return None

    async def _act(self, call_id: str, command: str, params: str | None = None) -> cmd.CommandResult:
        refusal = await self._select(call_id)
        if refusal is not None:
            return refusal
        response = await self._request(command, params)
        if response.refused:
            text = response.data.strip() or "refused"
            return cmd.CommandResult.info(ErrorCode.WRONG_STATE, f"baresip: {command}: {text}")
        return cmd.CommandResult.done()

    async def execute(self, command: cmd.Command) -> cmd.CommandResult:
        if self._link is None or self.book is None:
            return cmd.CommandResult.error(ErrorCode.NOT_CONNECTED, "not connected to baresip")
        try:
            return await self._execute(command)
        except NowhereToDial as exc:
            return cmd.CommandResult.info(ErrorCode.BAD_NUMBER, str(exc))
        except BaresipError as exc:
            return cmd.CommandResult.error(ErrorCode.BACKEND_FAILURE, str(exc))

    async def _execute(self, command: cmd.Command) -> cmd.CommandResult:
        book = self.book
        assert book is not None
        match command:
            case cmd.Dial(destination=number):
                call_id = await self._dial(self._uri(number))
                if call_id is None:
                    return cmd.CommandResult.error(ErrorCode.BACKEND_FAILURE, f"baresip did not dial {number}")
                return cmd.CommandResult.done(call_id)
            case cmd.Answer(call_id=call_id):
                return await self._act(call_id, "accept")
            case cmd.Reject(call_id=call_id):
                book.intend(call_id, "reject")
                return await self._act(call_id, "hangup")
            case cmd.Hangup(call_id=call_id):
                book.intend(call_id, "hangup")
                return await self._act(call_id, "hangup")
            case cmd.Hold(call_id=call_id) | cmd.Resume(call_id=call_id):
                held = isinstance(command, cmd.Hold)
                result = await self._act(call_id, "hold" if held else "resume")
                if result.ok:
                    for report in book.set_hold(call_id, held):
                        self._report(report)
                    if len(book.established()) >= 2:
                        self._refresh_hold()
                return result
            case cmd.Transfer(call_id=call_id, destination=number):
                return await self._act(call_id, "transfer", self._uri(number))
            case cmd.SupervisedTransfer(call_id=call_id, destination=number, invite_timeout=timeout):
                return await self._start_supervised(call_id, number, timeout)
            case cmd.CancelSupervisedTransfer(call_id=call_id):
                original = self._consults.get(call_id, call_id)
                task = self._supervised.get(original)
                if task is None or task.done():
                    return cmd.CommandResult.info(ErrorCode.BAD_REQUEST, f"no supervised transfer on {call_id}")
                task.cancel()
                return cmd.CommandResult.done()
            case cmd.SendDtmf(call_id=call_id, digits=digits):
                return await self._act(call_id, "sndcode", digits)
        return cmd.CommandResult.info(ErrorCode.NOT_SUPPORTED, f"the softphone cannot {type(command).__name__}")

    async def _dial(self, uri: str) -> str | None:
        """``dial`` returns no call id: take it from ``callstat`` (the new call is current), else from the
        first event for that peer URI."""
        assert self.book is not None
        loop = asyncio.get_running_loop()
        first: asyncio.Future[str] = loop.create_future()

        def watch(event: BaresipEvent) -> None:
            if event.peer_uri == uri and event.direction == "outgoing" and event.call_id and not first.done():
                first.set_result(event.call_id)

        self._event_listeners.append(watch)
        try:
            response = await self._request("dial", uri)
            if response.refused:
                return None
            if not first.done():
                stat = parse_callstat((await self._request("callstat")).data)
                if stat is not None and split_name_addr(stat.peer_uri)[1] == uri and not first.done():
                    first.set_result(stat.call_id)
            try:
                call_id = await asyncio.wait_for(asyncio.shield(first), DIAL_ID_TIMEOUT)
            except TimeoutError:
                return None
        finally:
            self._event_listeners.remove(watch)
        if self.book.get(call_id) is None:  # known before any event: show it ringing at once
            stat_reports = self.book.on_event(
                BaresipEvent("CALL_OUTGOING", "call", call_id, "outgoing", uri, "", uri, self.account or "")
            )
            for report in stat_reports:
                self._report(report)
        return call_id

    # --- supervised transfer ----------------------------------------------------------------------------

    async def _start_supervised(self, call_id: str, number: str, timeout: float | None) -> cmd.CommandResult:
        assert self.book is not None
        for done in [key for key, task in self._supervised.items() if task.done()]:
            del self._supervised[done]
        if call_id in self._supervised:
            return cmd.CommandResult.info(ErrorCode.BAD_REQUEST, f"a supervised transfer of {call_id} is under way")
        original = self.book.get(call_id)
        if original is None or original.ended:
            return cmd.CommandResult.info(ErrorCode.UNKNOWN_CALL, f"no live call {call_id}")
        if original.status is CallStatus.CONNECTED:
            result = await self._act(call_id, "hold")
            if not result.ok:
                return result
            for report in self.book.set_hold(call_id, True):
                self._report(report)
        consult = await self._dial(self._uri(number))
        if consult is None:
            await self._give_up(call_id, None, "the consult call could not be placed")
            return cmd.CommandResult.info(ErrorCode.TRANSFER_FAILED, f"could not call {number}")
        self._consults[consult] = call_id
        self._supervised[call_id] = asyncio.create_task(
            self._supervised_run(call_id, consult, number, timeout or SUPERVISED_TIMEOUT)
        )
        return cmd.CommandResult.done(consult)

    async def _supervised_run(self, call_id: str, consult: str, number: str, timeout: float) -> None:
        """Supervised transfer, built from what baresip 1.0.0 has (it has no attended transfer / REFER with
        Replaces): the original call is held, the target is dialled (the consult leg); when it answers, the held
        call is blind-transferred (REFER) to the target and the consult leg is hung up. If the target does not
        answer in ``timeout`` seconds, rejects, or the transfer is cancelled, the consult leg is dropped and the
        original call resumed (CONNECTED again) with an INFO ``transfer_failed``."""
        assert self.book is not None
        book = self.book
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        outcome: asyncio.Future[bool] = loop.create_future()

        def watch(event: BaresipEvent) -> None:
            if event.call_id != consult or outcome.done():
                return
            if event.type == "CALL_ESTABLISHED":
                outcome.set_result(True)
            elif event.type == "CALL_CLOSED":
                outcome.set_result(False)

        self._event_listeners.append(watch)
        try:
            current = book.get(consult)
            if current is not None and current.status is CallStatus.CONNECTED:
                outcome.set_result(True)
            elif current is not None and current.ended:
                outcome.set_result(False)
            try:
                answered = await asyncio.wait_for(asyncio.shield(outcome), max(0.0, deadline - loop.time()))
            except TimeoutError:
                answered = False
            if not answered:
                await self._give_up(call_id, consult, f"{number} did not answer")
                return
            result = await self._act(call_id, "transfer", self._uri(number))
            if not result.ok:
                await self._give_up(call_id, consult, result.message)
                return
            with contextlib.suppress(BaresipError):
                book.intend(consult, "hangup")
                await self._act(consult, "hangup")
        except asyncio.CancelledError:
            await self._give_up(call_id, consult, "the supervised transfer was cancelled")
            raise
        except BaresipError as exc:
            self._report(cmd.Notice(ActivityName.ERROR, ErrorCode.BACKEND_FAILURE, str(exc), call_id))
        finally:
            self._event_listeners.remove(watch)
            self._consults.pop(consult, None)

    async def _give_up(self, call_id: str, consult: str | None, why: str) -> None:
        assert self.book is not None
        book = self.book
        with contextlib.suppress(BaresipError):
            if consult is not None:
                leg = book.get(consult)
                if leg is not None and not leg.ended:
                    book.intend(consult, "hangup")
                    await self._act(consult, "hangup")
            original = book.get(call_id)
            if original is not None and original.status is CallStatus.ON_HOLD:
                result = await self._act(call_id, "resume")
                if result.ok:
                    for report in book.set_hold(call_id, False):
                        self._report(report)
        self._report(cmd.Notice(ActivityName.INFO, ErrorCode.TRANSFER_FAILED, f"supervised transfer: {why}", call_id))


SIP_USER = re.compile(r"[A-Za-z0-9._+-]{1,64}")
ACCOUNT_URI = re.compile(r"sip:([A-Za-z0-9._+-]{1,64})@([A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)", re.IGNORECASE)
SIP_PASSWORD_ENV = "CTI_TUI_SIP_PASSWORD"


def stored_sip_password(aor: str) -> str | None:
    """``CTI_TUI_SIP_PASSWORD``, else the keyring's entry for the AOR (``sip:1001@pbx.example``); never a file."""
    from_env = os.environ.get(SIP_PASSWORD_ENV)
    if from_env:
        return from_env
    from cti_tui.credentials import CredentialStore

    return CredentialStore().load(aor)


def parse_account(text: str) -> tuple[str, str] | None:
    """``sip:USER@REGISTRAR[:PORT]`` → (user, registrar); None when it is not one."""
    match = ACCOUNT_URI.fullmatch(text.strip())
    return (match.group(1), match.group(2)) if match else None


class SoftphoneProvider:
    """One baresip: attached at its ctrl_tcp ``host:port``, or started by cti-tui with the configured
    interface and ports (its SIP user is the login's local part). The address may instead be the account,
    ``sip:USER@REGISTRAR[:PORT]`` (the login form's one field, ``--softphone``): start one registered there.
    One user: the phone's own."""

    name = "softphone"
    label = "baresip"
    authenticator = None

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        self.control: tuple[str, int] | None = None
        account = parse_account(options.address) if options.address.lower().startswith("sip:") else None
        if options.address.lower().startswith("sip:") and account is None:
            raise BackendUnavailable(f"a SIP account is sip:USER@REGISTRAR[:PORT], not {options.address!r}")
        if account is not None:
            user, registrar = account
            options = dataclasses.replace(
                options,
                address="",
                softphone=dataclasses.replace(options.softphone, sip_user=user, registrar=registrar),
            )
            self.options = options
        if options.address:
            host, _, port = options.address.strip().rpartition(":")
            if not port.isdigit() or not 0 < int(port) < 65536:
                raise BackendUnavailable(
                    f"baresip's control address is HOST:PORT (or sip:USER@REGISTRAR to register one), "
                    f"not {options.address!r}"
                )
            self.control = (host.strip("[]") or "127.0.0.1", int(port))

    def prepare(self) -> None:
        pass

    def new_backend(self) -> SoftphoneBackend:
        settings = self.options.softphone
        if self.control is not None:
            return SoftphoneBackend(self.control, dial_domain=settings.registrar or None)
        wanted = settings.sip_user or self.options.user
        user = wanted if SIP_USER.fullmatch(wanted) else "agent"
        managed = ManagedBaresip(
            settings.folder or paths.data_dir() / "baresip",
            sip_port=settings.sip_port,
            ctrl_port=settings.ctrl_port,
            user=user,
            display_name=settings.display_name or user,
            host=settings.interface,
            registrar=settings.registrar,
            proxy=settings.proxy,
            auth_user=settings.auth_user,
        )
        return SoftphoneBackend(managed=managed, stored_password=lambda: stored_sip_password(managed.aor))

    def start(self) -> None:
        pass

    def now(self) -> datetime:
        return datetime.now(UTC)
