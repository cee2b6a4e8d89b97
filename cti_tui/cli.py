"""Command line: ``cti-tui`` (the app), ``cti-tui events`` (JSON lines), ``cti-tui serve``, ``hash-password``.

Argument parsing only: it checks the flags, loads a user's organisation file, and hands a typed request to
the composition root (:mod:`cti_tui.assembly`). Heavy imports are deferred so ``--help`` is instant. Every
expected failure (a bad org file, a bad flag, an unknown backend) ends with one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cti_tui import __version__

SECRET_FROM_INPUT = "-"
"""A secret flag given as ``-`` is read from the terminal (a prompt without echo) or else the next stdin line:
a value on the command line is visible to every user of the machine in ``ps`` and /proc."""
MAX_SECRET_BYTES = 4096
IN_PS = "visible in ps: prefer {env} or '-' to be asked (or read from the next stdin line)"
MAX_SPEED = 10_000.0  # simulated time past this overflows the clock's date arithmetic within the run
AMI_SECRET_ENV = "CTI_TUI_AMI_SECRET"  # cti_tui.backends.asterisk_pbx.SECRET_ENV (not imported: --help is instant)

if TYPE_CHECKING:
    from cti_tui.backends.registry import BackendOptions
    from cti_tui.config import AppConfig
    from cti_tui.pbx.org import Organisation
    from cti_tui.server.limits import ServerLimits


def _add_engine_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The same options before or after the command; a subcommand's copy never clobbers the top's value."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("embedded PBX")
    group.add_argument(
        "--org",
        type=Path,
        metavar="FILE",
        default=default(None),
        help="organisation TOML file (default: the demo); with --pbx asterisk://…, who is who on the "
        "Asterisk (docs/asterisk.md; or asterisk_org in the config file)",
    )
    group.add_argument(
        "--seed", type=int, default=default(None), help="seed of the simulated world (same seed, same calls)"
    )
    group.add_argument("--speed", type=float, default=default(1.0), help="simulated time speed factor (default 1)")
    group.add_argument(
        "--demo-rate",
        type=float,
        metavar="PER_MIN",
        default=default(None),
        help="random inbound calls per minute (0: none)",
    )
    group.add_argument(
        "--demo-org-size",
        type=int,
        metavar="N",
        default=default(None),
        help="the demo plus N generated agents in ~N/50 queues (load tests; not with --org)",
    )
    group.add_argument(
        "--no-history",
        action="store_true",
        default=default(False),
        help="do not write the call history database",
    )


def _add_backend_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Which world to drive: the embedded demo by default, a CTI server, or a baresip softphone."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--server", metavar="URL", default=default(None), help="log in to a CTI server (cti-tui serve) at URL"
    )
    parser.add_argument(
        "--softphone",
        metavar="HOST:PORT",
        nargs="?",
        const="",
        default=default(None),
        help="drive a baresip softphone: attach to its ctrl_tcp at HOST:PORT, or (no value) start one",
    )
    parser.add_argument(
        "--pbx",
        metavar="ADDRESS",
        default=default(None),
        help="a real PBX instead of the demo: asterisk://USER@HOST[:PORT] (AMI; the secret from "
        f"{AMI_SECRET_ENV}, the keyring, or prompted)",
    )
    sip = parser.add_argument_group(
        "softphone account (a baresip cti-tui starts; the SIP password is typed or in the keyring)"
    )
    sip.add_argument(
        "--sip-registrar",
        metavar="HOST[:PORT]",
        default=default(None),
        help="register the softphone there and dial numbers via it (e.g. pbx.example.com:5060)",
    )
    sip.add_argument("--sip-proxy", metavar="HOST[:PORT]", default=default(None), help="an outbound SIP proxy")
    sip.add_argument(
        "--sip-user",
        metavar="USER",
        default=default(None),
        help="the SIP account's user (default: the login's local part)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cti-tui",
        description="A terminal softphone-controller dashboard for call-center agents and supervisors.",
        epilog="With no command, cti-tui opens the dashboard on the embedded demo PBX "
        "(log in as agent@demo.local or supervisor@demo.local, password demo).",
    )
    parser.add_argument("--version", action="version", version=f"cti-tui {__version__}")
    parser.add_argument("--email", help="prefill the login form's email")
    parser.add_argument(
        "--api-key",
        help="prefill the login form's API key; " + IN_PS.format(env="CTI_TUI_API_KEY"),
    )
    parser.add_argument("--browser", action="store_true", help=argparse.SUPPRESS)  # a tab of `cti-tui web`
    _add_backend_options(parser, top=True)
    _add_engine_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    events = commands.add_parser(
        "events",
        help="stream events as JSON lines on stdout; read commands as JSON lines on stdin",
        description="Log in and stream every event as one JSON object per line; each stdin line is a "
        'command such as {"action":"call","destination":"+12025550101"}. See docs/events.md.',
    )
    login = events.add_argument_group("login (default: the demo agent)")
    login.add_argument("--email", help="account email")
    login.add_argument(
        "--password",
        help="account password (prompted on a terminal if missing); " + IN_PS.format(env="CTI_TUI_PASSWORD"),
    )
    login.add_argument(
        "--api-key", help="API key instead of email and password; " + IN_PS.format(env="CTI_TUI_API_KEY")
    )
    login.add_argument(
        "--otp", help="two-factor code, when the account asks for one; " + IN_PS.format(env="CTI_TUI_OTP")
    )
    events.add_argument(
        "--subscribe",
        action="append",
        default=[],
        metavar="NODE",
        help="watch a line: user:ID, queue:ID, ivr:ID, conf:ID or callpark (repeatable)",
    )
    events.add_argument("--exit-on-eof", action="store_true", help="stop when stdin ends (default: keep streaming)")
    _add_backend_options(events, top=False)
    _add_engine_options(events, top=False)

    serve = commands.add_parser(
        "serve",
        help="run the CTI server: one PBX for many agents and supervisors",
        description="Serve the HTTP API and the WebSocket sessions (docs/protocol.md) over a PBX: many agents "
        "and supervisors share one connection to it.",
    )
    serve.add_argument(
        "--pbx",
        metavar="NAME|ADDRESS",
        default=argparse.SUPPRESS,
        help="the PBX to serve: embedded (the default, the demo PBX) or asterisk://USER@HOST[:PORT] with "
        f"--org FILE (the AMI secret from {AMI_SECRET_ENV}, the keyring, or prompted)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--tls-cert", type=Path, metavar="FILE", help="TLS certificate (PEM); with --tls-key")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="TLS private key (PEM)")
    serve.add_argument(
        "--grace",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long a session outlives its last connection (default 300)",
    )
    limits = serve.add_argument_group("limits (docs/security.md)")
    limits.add_argument(
        "--max-connections",
        type=int,
        default=10_000,
        metavar="N",
        help="open connections in all; past it, 503 (default 10000)",
    )
    limits.add_argument(
        "--max-connections-per-address",
        type=int,
        default=2_000,
        metavar="N",
        help="open connections from one address, an office behind NAT included; past it, 503 (default 2000)",
    )
    limits.add_argument(
        "--handshake-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time for a request head, for a request body, and for a WebSocket to open a session (default 10)",
    )
    limits.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="an idle HTTP keep-alive connection is closed after this (default 5)",
    )
    limits.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (scheme://host[:port]) whose pages may use the server (repeatable); a browser "
        "request from any other origin is refused with 403 (default: none)",
    )
    limits.add_argument(
        "--new-connections-per-second",
        type=float,
        default=100.0,
        metavar="N",
        help="new connections one address may open a second, in bursts of twice that; the rest are dropped "
        "unread (default 100)",
    )
    limits.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (IP address or network, repeatable) whose X-Forwarded-For and X-Forwarded-Proto "
        "headers are believed; from anyone else they are ignored (default: none, not even 127.0.0.1)",
    )
    limits.add_argument(
        "--ws-deflate",
        action="store_true",
        help="offer permessage-deflate on WebSockets (default off; bounded by the 64 KiB message limit)",
    )
    _add_engine_options(serve, top=False)

    _add_web_command(commands)
    wall = commands.add_parser(
        "wall",
        help="a read-only full-screen wallboard of queue service levels (for a TV or a spare terminal)",
        description="Log in (as a supervisor) and show each queue's service level in large figures; "
        "q quits. Runs on any backend, as the dashboard does.",
    )
    wall.add_argument(
        "--queue", action="append", default=[], metavar="ID", help="show this queue (repeatable; default: all)"
    )
    _add_backend_options(wall, top=False)
    _add_engine_options(wall, top=False)

    hashing = commands.add_parser("hash-password", help="print a password hash for an organisation file")
    hashing.add_argument("--iterations", type=int, default=200_000)
    return parser


def _add_web_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = commands.add_parser(
        "web",
        help="serve the app to a browser (textual-serve); 127.0.0.1 by default",
        description="Serve the same app, with the same login form, to browser tabs: each tab runs its own app "
        "on the backend the flags name (the demo, or --server URL to share one cti-tui serve).",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    web.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when not http://HOST:PORT (behind a TLS reverse proxy: https://...)",
    )
    web.add_argument(
        "--max-tabs", type=int, default=50, metavar="N", help="tabs open at once, each an app process (default 50)"
    )
    web.add_argument("--server", metavar="URL", default=None, help="each tab logs in to this CTI server")
    _add_engine_options(web, top=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "hash-password":
            return _hash_password(args.iterations)
        if args.command == "events":
            return _events(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "web":
            return _web(args)
        if args.command == "wall":
            return _app(args, front="wall", wall_queues=tuple(args.queue))
        return _app(args)
    except KeyboardInterrupt:
        return 130


def _hash_password(iterations: int) -> int:
    import getpass
    import secrets

    from cti_tui.pbx.org import hash_password

    password = getpass.getpass("password: ")
    if not password:
        print("cti-tui: error: empty password", file=sys.stderr)
        return 2
    print(hash_password(password, secrets.token_hex(8), iterations))
    return 0


def _world_flags_ok(args: argparse.Namespace) -> bool:
    if not 0 < args.speed <= MAX_SPEED:  # NaN fails this too
        print(f"cti-tui: error: --speed must be a positive number up to {MAX_SPEED:g}", file=sys.stderr)
        return False
    if args.demo_rate is not None and args.demo_rate < 0:
        print("cti-tui: error: --demo-rate must not be negative", file=sys.stderr)
        return False
    return True


def _organisation(args: argparse.Namespace) -> Organisation | None:
    """The organisation the flags ask for, or None after one clear line on stderr."""
    from cti_tui.pbx.org import OrgError
    from cti_tui.pbx.runtime import load_organisation

    if not _world_flags_ok(args):
        return None
    size = getattr(args, "demo_org_size", None)
    if size is not None:
        from cti_tui.pbx.bigorg import MAX_SIZE, generate_org

        if args.org is not None:
            print("cti-tui: error: --demo-org-size and --org cannot be used together", file=sys.stderr)
            return None
        if not 0 <= size <= MAX_SIZE:
            print(f"cti-tui: error: --demo-org-size must be 0–{MAX_SIZE}", file=sys.stderr)
            return None
        return generate_org(size, rate=args.demo_rate, seed=7 if args.seed is None else args.seed)
    try:
        return load_organisation(args.org, seed=args.seed, rate=args.demo_rate)
    except OrgError as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return None


def _backend_options(args: argparse.Namespace, org: Organisation | None) -> BackendOptions:
    from cti_tui.backends.registry import BackendOptions
    from cti_tui.core.clock import RealClock

    return BackendOptions(clock=RealClock(args.speed), org=org, seed=args.seed, rate=args.demo_rate)


def _real_pbx_options(args: argparse.Namespace, address: str) -> BackendOptions | None:
    """The options of a real PBX at ``address`` (``asterisk://…``): its org file (``--org`` or the config's
    ``asterisk_org``) and the AMI secret (prompted on a terminal when neither the environment nor the
    keyring has it); None after one clear line on stderr."""
    import getpass

    from cti_tui.assembly import softphone_settings
    from cti_tui.backends.asterisk_pbx import parse_address
    from cti_tui.backends.registry import BackendOptions, BackendUnavailable

    if getattr(args, "demo_org_size", None) is not None:
        print("cti-tui: error: --demo-org-size is for the embedded PBX, not --pbx", file=sys.stderr)
        return None
    try:
        ami = parse_address(address)
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return None
    config = _config_with_sip_flags(args)  # the agent's phone, attached when a registrar is set
    if config is None:
        return None
    org_file = args.org
    if org_file is None:
        configured = config.asterisk_org
        org_file = Path(configured).expanduser() if configured else None
    secret = os.environ.get(AMI_SECRET_ENV)
    if not secret:
        from cti_tui.credentials import CredentialStore

        secret = CredentialStore().load(ami.keyring_account)
    if not secret and sys.stdin.isatty():
        secret = getpass.getpass(f"AMI secret for {ami.user}@{ami.host}:{ami.port}: ")
    if not secret:
        print(
            f"cti-tui: error: no AMI secret for {ami}: set {AMI_SECRET_ENV}, store it in the keyring "
            f"(account {ami.keyring_account}) or run on a terminal to be asked",
            file=sys.stderr,
        )
        return None
    return BackendOptions(address=address, org_file=org_file, secret=secret, softphone=softphone_settings(config))


def _app(args: argparse.Namespace, *, front: str = "dashboard", wall_queues: tuple[str, ...] = ()) -> int:
    # A user's organisation is checked before the screen is taken over (its errors go to stderr); the bundled
    # demo is loaded with the engine, once the login form is drawn (bench/README.md, startup.py).
    if args.pbx not in (None, "embedded"):
        return _app_on_pbx(args, front=front, wall_queues=wall_queues)
    org = None
    if args.org is not None or getattr(args, "demo_org_size", None) is not None:
        org = _organisation(args)
        if org is None:
            return 2
    elif not _world_flags_ok(args):
        return 2
    from cti_tui.ui.textual_ext.memory import pause_collection

    pause_collection()  # until the login form is drawn (cti_tui.ui.textual_ext.memory)
    from cti_tui.assembly import build_app
    from cti_tui.core.clock import RealClock

    config = _config_with_sip_flags(args)
    if config is None:
        return 2
    credentials = None
    if args.browser:  # a tab of `cti-tui web`: the server account's keyring and last email are not the visitor's
        from cti_tui.ui.web import BrowserCredentials

        credentials, config.email = BrowserCredentials(), None

    app = build_app(
        credentials=credentials,
        remember_email=not args.browser,
        org=org,
        demo_seed=args.seed,
        demo_rate=args.demo_rate,
        clock=RealClock(args.speed),
        history=not args.no_history,
        config=config,
        email=args.email,
        api_key=_secret(args.api_key, "CTI_TUI_API_KEY", "API key"),
        server_url=args.server,
        softphone=args.softphone,
        front=front,
        wall_queues=wall_queues,
    )
    try:
        app.run()
    finally:
        if app.services.history is not None:
            app.services.history.close()  # a clean close checkpoints and removes the WAL
    return app.return_code or 0  # 143 / 129 after SIGTERM / SIGHUP, the terminal restored


def _app_on_pbx(args: argparse.Namespace, *, front: str, wall_queues: tuple[str, ...]) -> int:
    """The app on a real PBX (``--pbx asterisk://…``), checked before the screen is taken over."""
    from cti_tui.assembly import build_app, pbx_choice, wiring_of
    from cti_tui.backends.registry import BackendUnavailable
    from cti_tui.config import load_config

    if args.server is not None or args.softphone is not None:
        print("cti-tui: error: --pbx, --server and --softphone cannot be used together", file=sys.stderr)
        return 2
    try:
        kind_name, address = pbx_choice(args.pbx)
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return 2
    if not address:
        print("cti-tui: error: --pbx takes an address such as asterisk://USER@HOST:5038", file=sys.stderr)
        return 2
    options = _real_pbx_options(args, address)
    if options is None:
        return 2
    try:
        app = build_app(
            pbx=(kind_name, options),
            history=not args.no_history,
            config=load_config(),
            email=args.email,
            api_key=args.api_key or os.environ.get("CTI_TUI_API_KEY"),
            front=front,
            wall_queues=wall_queues,
        )
        wiring_of(app).provider(kind_name).prepare()
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return 2
    try:
        app.run()
    finally:
        if app.services.history is not None:
            app.services.history.close()
    return app.return_code or 0


def _web(args: argparse.Namespace) -> int:
    """``cti-tui web``: the flags are checked here, once; each tab's app is started with the same ones."""
    from cti_tui.ui.web import exposure_warning, public_url, serve

    if not 0 < args.port < 65536 or args.max_tabs < 1:
        print("cti-tui: error: --port must be 1–65535 and --max-tabs at least 1", file=sys.stderr)
        return 2
    if args.public_url is not None and not re.fullmatch(r"https?://[^\s/?#]+/?", args.public_url):
        print(f"cti-tui: error: --public-url is http(s)://HOST[:PORT], not {args.public_url!r}", file=sys.stderr)
        return 2
    if args.public_url is None and args.host in ("0.0.0.0", "::", "[::]"):
        print(
            f"cti-tui: error: listening on every address ({args.host}), give --public-url: the address browsers "
            "use (the page's WebSocket is built from it)",
            file=sys.stderr,
        )
        return 2
    if (args.org is not None or args.demo_org_size is not None) and _organisation(args) is None:
        return 2
    if not _world_flags_ok(args):
        return 2
    forwarded: list[str] = []
    for flag, value in (
        ("--server", args.server),
        ("--org", args.org and args.org.resolve()),
        ("--seed", args.seed),
        ("--demo-rate", args.demo_rate),
        ("--demo-org-size", args.demo_org_size),
    ):
        if value is not None:
            forwarded += [flag, str(value)]
    forwarded += ["--speed", str(args.speed)] + (["--no-history"] if args.no_history else [])
    url = (args.public_url or public_url(args.host, args.port)).rstrip("/")
    warning = exposure_warning(args.host)
    if warning:
        print(warning, file=sys.stderr)
    print(f"cti-tui web: {url}  (one app per browser tab; Ctrl+C stops)", flush=True)
    try:
        serve(forwarded, host=args.host, port=args.port, public_url=url, max_tabs=args.max_tabs)
    except OSError as exc:
        print(f"cti-tui: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    from cti_tui.assembly import make_server, open_history, open_pbx, pbx_choice
    from cti_tui.backends.registry import BackendUnavailable

    try:
        kind_name, address = pbx_choice(args.pbx or "embedded")
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return 2
    org = None
    if not address:
        org = _organisation(args)
        if org is None:
            return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("cti-tui: error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            print(f"cti-tui: error: {path}: no such file", file=sys.stderr)
            return 2
    if not 0 < args.port < 65536 or args.grace <= 0:
        print("cti-tui: error: --port must be 1–65535 and --grace positive", file=sys.stderr)
        return 2
    limits = _server_limits(args)
    if limits is None:
        return 2
    options = _backend_options(args, org)
    if address:
        real = _real_pbx_options(args, address)
        if real is None:
            return 2
        options = real
    try:
        provider = open_pbx(kind_name, options)
        provider.prepare()  # a PBX that does not answer, or refuses the secret: one line, before listening
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return 2
    from cti_tui.store.history import HistoryError

    history = None
    if not args.no_history:
        try:
            history = open_history()
        except (HistoryError, OSError) as exc:
            print(f"cti-tui: warning: call history is off: {exc}", file=sys.stderr)
    parts = make_server(
        provider,
        options.clock,
        host=args.host,
        port=args.port,
        history=history,
        grace_seconds=args.grace,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        log_level="info",
        limits=limits,
    )
    scheme = "https" if args.tls_cert else "http"
    print(
        f"cti-tui serve: {scheme}://{args.host}:{args.port} on the {provider.label}  "
        "(log in with the app: cti-tui --server URL)"
    )
    try:
        parts.server.run()
    except OSError as exc:
        print(f"cti-tui: error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        if history is not None:
            history.close()
    return 0


def _server_limits(args: argparse.Namespace) -> ServerLimits | None:
    """The limits the serve flags ask for (fitted to the descriptors the process may open), or None after
    one clear line on stderr."""
    from cti_tui.server.limits import ServerLimits

    flags = {
        "max_connections": "--max-connections",
        "max_connections_per_address": "--max-connections-per-address",
        "keep_alive_timeout": "--keep-alive-timeout",
        "new_connections_per_second": "--new-connections-per-second",
    }
    try:
        limits = ServerLimits(
            max_connections=args.max_connections,
            max_connections_per_address=args.max_connections_per_address,
            head_timeout=args.handshake_timeout,
            body_timeout=args.handshake_timeout,
            session_timeout=args.handshake_timeout,
            keep_alive_timeout=args.keep_alive_timeout,
            ws_deflate=args.ws_deflate,
            allowed_origins=frozenset(args.allow_origin),
            trusted_proxies=frozenset(args.trusted_proxy),
            new_connections_per_second=args.new_connections_per_second,
        )
    except ValueError as exc:
        field = str(exc).split()[0]
        print(f"cti-tui: error: {flags.get(field, '--handshake-timeout')} must be positive", file=sys.stderr)
        return None
    limits, note = limits.fitted_to_descriptors()
    if note is not None:
        print(f"cti-tui: warning: {note}", file=sys.stderr)
    return limits


def _config_with_sip_flags(args: argparse.Namespace) -> AppConfig | None:
    """The config file's settings, the softphone account flags over them; None after a clear line on stderr."""
    from cti_tui.config import load_config, valid_sip_host

    config = load_config()
    for flag, key in (("sip_registrar", "softphone_registrar"), ("sip_proxy", "softphone_proxy")):
        value = getattr(args, flag, None)
        if value is None:
            continue
        if not valid_sip_host(value):
            print(f"cti-tui: error: --{flag.replace('_', '-')} is HOST or HOST:PORT, not {value!r}", file=sys.stderr)
            return None
        setattr(config, key, value)
    user = getattr(args, "sip_user", None)
    if user is not None:
        if not re.fullmatch(r"[A-Za-z0-9._+-]{1,64}", user):
            print(f"cti-tui: error: --sip-user {user!r}: letters, digits and . _ + - only", file=sys.stderr)
            return None
        config.softphone_user = user
    return config


def _events_backend(args: argparse.Namespace) -> tuple[str, str] | None:
    """The backend ``cti-tui events`` drives and its address, or None after one clear line on stderr."""
    from cti_tui.assembly import pbx_choice
    from cti_tui.backends.registry import BackendUnavailable

    server, softphone = getattr(args, "server", None), getattr(args, "softphone", None)
    pbx = getattr(args, "pbx", None)
    if sum(option is not None for option in (server, softphone, pbx)) > 1:
        print("cti-tui: error: --pbx, --server and --softphone cannot be used together", file=sys.stderr)
        return None
    if server is not None:
        return "server", server
    if softphone is not None:
        return "softphone", softphone
    if pbx is not None:
        try:
            return pbx_choice(pbx)
        except BackendUnavailable as exc:
            print(f"cti-tui: error: {exc}", file=sys.stderr)
            return None
    return "embedded", ""


def _events(args: argparse.Namespace) -> int:
    import asyncio
    import getpass

    from cti_tui.assembly import EventsRequest, run_events, softphone_settings
    from cti_tui.backends.registry import BackendUnavailable
    from cti_tui.headless import EventsOptions

    chosen = _events_backend(args)
    config = _config_with_sip_flags(args)
    if chosen is None or config is None:
        return 2
    backend, address = chosen
    org = None
    real = None
    if backend != "embedded" and backend not in ("server", "softphone"):
        real = _real_pbx_options(args, address)
        if real is None:
            return 2
    elif backend == "embedded":
        org = _organisation(args)
        if org is None:
            return 2
    elif args.org is not None or getattr(args, "demo_org_size", None) is not None:
        print(f"cti-tui: error: --org and --demo-org-size are for the embedded PBX, not --{backend}", file=sys.stderr)
        return 2
    elif not _world_flags_ok(args):
        return 2
    email = getattr(args, "email", None)
    password = _secret(getattr(args, "password", None), "CTI_TUI_PASSWORD", f"password for {email}")
    api_key = _secret(getattr(args, "api_key", None), "CTI_TUI_API_KEY", "API key")
    if email and password is None and api_key is None and sys.stdin.isatty():
        password = getpass.getpass(f"password for {email}: ")
    login = EventsOptions(
        email=email,
        password=password,
        api_key=api_key,
        otp=_secret(getattr(args, "otp", None), "CTI_TUI_OTP", "two-factor code"),
        subscribe=list(getattr(args, "subscribe", [])),
        exit_on_eof=getattr(args, "exit_on_eof", False),
    )
    options = dataclasses.replace(
        _backend_options(args, org),
        address=address,
        user=(email or "agent").partition("@")[0],
        softphone=softphone_settings(config),
    )
    if real is not None:
        options = dataclasses.replace(real, clock=options.clock)
    request = EventsRequest(backend, options, history=not args.no_history)
    try:
        return asyncio.run(run_events(request, login))
    except BackendUnavailable as exc:
        print(f"cti-tui: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


def _secret(given: str | None, env: str, what: str) -> str | None:
    """A secret from its flag, ``-`` (asked for: see :data:`SECRET_FROM_INPUT`) or the environment variable."""
    if given == SECRET_FROM_INPUT:
        return _read_secret(what)
    return given or os.environ.get(env) or None


def _read_secret(what: str) -> str:
    """Ask on the terminal without echo; otherwise take the next line of stdin, byte by byte, so that what
    follows it (``cti-tui events``' commands) stays unread for the command reader."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{what}: ")
    line = bytearray()
    while len(line) <= MAX_SECRET_BYTES and (byte := os.read(sys.stdin.fileno(), 1)) not in (b"", b"\n"):
        line += byte
    return line.decode("utf-8", "replace").removesuffix("\r")
