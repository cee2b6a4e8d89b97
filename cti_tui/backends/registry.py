"""Backends by name: ``embedded``, ``server``, ``softphone``, ``asterisk``.

A front end asks for a backend by the name a user typed (``cti-tui serve --pbx embedded``, the login
form's choice) and gets a :class:`Provider`: where that world's backends come from, one per logged-in
session. Only the composition root (:mod:`cti_tui.assembly`) calls this; nothing else imports a concrete
adapter. Adapters are imported when first asked for, so ``--help`` and the login form stay quick.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cti_tui.core.clock import Clock, RealClock

if TYPE_CHECKING:  # types only: the login form is drawn before the engine's modules load (startup.py)
    from cti_tui.core.backend import Authenticator, Backend
    from cti_tui.pbx.org import Organisation


class BackendUnavailable(Exception):
    """A backend name or address that cannot be used; the message says why, for one line on stderr."""


@dataclass(frozen=True, slots=True)
class SoftphoneSettings:
    """How cti-tui starts its own baresip when given no control address (config file, CLI flags, login form).

    With a ``registrar`` (``host[:port]``, the SIP domain) the account ``sip:USER@REGISTRAR`` registers
    there (through ``proxy`` when set) and numbers are dialled via it. The SIP password is never here: it is
    typed at login or read from the keyring.
    """

    folder: Path | None = None
    interface: str = "127.0.0.1"
    sip_port: int = 5070
    ctrl_port: int = 4470
    display_name: str = ""
    registrar: str = ""
    proxy: str = ""
    sip_user: str = ""  # the account's user part; "" takes the login's local part
    auth_user: str = ""  # the digest user name, when the registrar wants another than sip_user


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """What any backend may need; each takes what it uses and ignores the rest."""

    clock: Clock = field(default_factory=RealClock)
    address: str = ""  # server: its URL; softphone: baresip's ctrl_tcp host:port ("" starts one); asterisk: AMI
    org: Organisation | None = None  # embedded: the organisation (None: the bundled demo)
    seed: int | None = None  # embedded demo: the simulated world's seed
    rate: float | None = None  # embedded demo: random inbound calls per minute
    traffic: bool = True  # embedded: simulated callers and colleagues once started
    user: str = ""  # softphone started by cti-tui: its SIP user (the login's local part)
    softphone: SoftphoneSettings = field(default_factory=SoftphoneSettings)
    org_file: Path | None = None  # asterisk: who is who (users → endpoints); None: extension logins
    secret: str | None = field(default=None, repr=False)  # asterisk: the AMI secret a front end prompted for


class Provider(Protocol):
    """One outside world for one process: where its sessions' backends come from."""

    @property
    def name(self) -> str:
        """The registered name."""
        ...

    @property
    def label(self) -> str:
        """What the login form and the status bar call this world."""
        ...

    @property
    def authenticator(self) -> Authenticator | None:
        """Present when the world vouches for many users itself (what `cti-tui serve` needs); else each
        backend authenticates in its own login."""
        ...

    def prepare(self) -> None:
        """Build what the first session needs (idempotent); may be slow, so the UI runs it behind its form."""
        ...

    def new_backend(self) -> Backend:
        """A backend for one more session."""
        ...

    def start(self) -> None:
        """Start live activity (the demo's simulated traffic) on the running loop."""
        ...

    def now(self) -> datetime:
        """This world's time (the demo PBX may run on virtual or sped-up time)."""
        ...


@dataclass(frozen=True, slots=True)
class BackendKind:
    name: str
    summary: str
    serves_many: bool  # can front `cti-tui serve` (authenticates many users over one connection)
    factory: str  # "module:callable" taking BackendOptions, returning a Provider

    def open(self, options: BackendOptions) -> Provider:
        module, _, attribute = self.factory.partition(":")
        build: Callable[[BackendOptions], Provider] = getattr(importlib.import_module(module), attribute)
        return build(options)


KINDS: dict[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind("embedded", "the embedded demo PBX", True, "cti_tui.backends.embedded:EmbeddedProvider"),
        BackendKind("server", "a CTI server (cti-tui serve) at a URL", False, "cti_tui.backends.server:ServerProvider"),
        BackendKind(
            "softphone", "a baresip softphone (ctrl_tcp)", False, "cti_tui.backends.softphone:SoftphoneProvider"
        ),
        BackendKind(
            "asterisk",
            "an Asterisk PBX over AMI (asterisk://USER@HOST:PORT); many users with an org file",
            True,
            "cti_tui.backends.attached_phone:AttachedPhoneProvider",
        ),
    )
}


def kind(name: str) -> BackendKind:
    found = KINDS.get(name)
    if found is None:
        raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(KINDS)}")
    return found


def open_provider(name: str, options: BackendOptions) -> Provider:
    """The provider registered as ``name``, or :class:`BackendUnavailable` saying why not."""
    return kind(name).open(options)
