#!/usr/bin/env python3
"""A real Asterisk 22 on this machine, for the tests and for anyone who wants a PBX to point cti-tui at.

Asterisk is not in Debian 12 (bookworm), so the lab runs it from Debian's archive in a root built by
``mmdebstrap`` (sid, or forky if sid cannot be built), as measured in the project's notes
(asterisk-test-pbx.md): no mounts, the root shares the host's network, Asterisk runs as root inside it with
``asterisk -f`` (foreground, no console) and stays a child of whoever started it.

    python3 tools/asterisk_lab.py build               # build or reuse the cached root (20-60 s the first time)
    python3 tools/asterisk_lab.py start [--base N]    # write a config, start Asterisk, wait for FullyBooted
    python3 tools/asterisk_lab.py start --phones 1001-1004 [--answer auto] --traffic 6/min   # + phones, callers
    python3 tools/asterisk_lab.py status | stop       # by the PIDs recorded at start (phones, callers too)
    python3 tools/asterisk_lab.py cli 'queue show'    # the Asterisk CLI of a running lab

The root is cached in ``$CTI_TUI_ASTERISK_CACHE`` (default: ``<cti-tui data dir>/asterisk``), keyed on the
build recipe: a root built by another recipe is rebuilt, a matching one is reused in well under a second.
One build at a time (a lock file); a half-built root is never used (it is built beside and renamed).

Each running lab is an *instance* with its own name, its own config/run/log/spool/db folders inside the
root (``/lab/<name>``) and its own ports, all derived from one base port (see :class:`Ports`), so several
labs — parallel test runs, a user's lab — share one root without colliding. The AMI secret and the SIP
passwords are random per instance, kept in ``lab.json`` (mode 0600) in the instance folder and never
printed.

What the config holds: PJSIP users 1001-1008 (agents) and 1100 (a supervisor), each registering with a
password; an ``anonymous`` endpoint that takes any other caller on loopback (sipp, as an outside caller);
a ``trunk`` endpoint for numbers of 5+ digits or E.164 (``+``), sent to ``127.0.0.1:<trunk port>`` (a
sipp UAS in the tests); queues ``sales`` (6001: 1001, 1002) and ``support`` (6002: 1003, 1004);
the park lot 700/701-710; a ConfBridge room 800; an IVR on 7000 (1 → sales, 2 → support).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# --- the root ------------------------------------------------------------------------------------------------

SUITES = ("sid", "forky")  # asterisk is in sid and forky, not in trixie; the first that builds wins
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"  # bookworm's keyring verifies sid and forky
EATMYDATA_HOOK = "/usr/share/mmdebstrap/hooks/eatmydata"  # ~5 s faster builds (no fsync while unpacking)
RECIPE = {
    "version": 1,  # bump when the build steps change: every cached root is then rebuilt
    "variant": "minbase",
    "include": ["asterisk"],  # its Depends bring asterisk-modules and asterisk-config
    # The archive's sid/forky Release files may be past Valid-Until (the notes' gotcha 1): accept them.
    "aptopt": ['Acquire::Check-Valid-Until "false"'],
}


class LabError(RuntimeError):
    """Something the lab could not do; the message says what and where to look."""


def data_dir() -> Path:
    override = os.environ.get("CTI_TUI_DATA_DIR")
    if override:
        return Path(override)
    with contextlib.suppress(ImportError):
        import platformdirs

        return Path(platformdirs.user_data_path("cti-tui"))
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cti-tui"


def cache_dir() -> Path:
    override = os.environ.get("CTI_TUI_ASTERISK_CACHE")
    return Path(override) if override else data_dir() / "asterisk"


def recipe_key() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def mirror() -> str:
    """The Debian archive apt on this machine already uses (its deb822 or one-line sources)."""
    sources = Path("/etc/apt/sources.list.d")
    candidates = [*sorted(sources.glob("*.sources")), Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]
    for path in candidates:
        with contextlib.suppress(OSError):
            text = path.read_text()
            for uri in re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(
                r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M
            ):
                if "security" not in uri and "debian" in uri:
                    return uri.rstrip("/")
    raise LabError("no Debian archive found in /etc/apt/sources.list(.d); set CTI_TUI_DEBIAN_MIRROR")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def root_path() -> Path:
    return cache_dir() / "root"


def root_ready(root: Path | None = None) -> bool:
    root = root or root_path()
    stamp = root / ".cti-lab-recipe"
    return (root / "usr/sbin/asterisk").exists() and stamp.exists() and stamp.read_text().strip() == recipe_key()


def build_root(log=print) -> Path:
    """The cached root, built now if missing or built by another recipe. Needs root and mmdebstrap."""
    root = root_path()
    if root_ready(root):
        return root
    with _locked(cache_dir() / "build.lock"):
        if root_ready(root):  # built by someone else while we waited
            return root
        if os.geteuid() != 0:
            raise LabError("building the Asterisk root needs root (mmdebstrap root mode creates device nodes)")
        if shutil.which("mmdebstrap") is None:
            raise LabError("mmdebstrap is not installed (Debian: apt-get install mmdebstrap)")
        archive = os.environ.get("CTI_TUI_DEBIAN_MIRROR") or mirror()
        suites = tuple(s for s in os.environ.get("CTI_TUI_ASTERISK_SUITES", " ".join(SUITES)).split() if s)
        problems = []
        for suite in suites:
            partial = cache_dir() / f"root.building-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            command = [
                "mmdebstrap",
                f"--variant={RECIPE['variant']}",
                f"--include={','.join(RECIPE['include'])}",
                *(f"--aptopt={option}" for option in RECIPE["aptopt"]),
                *([f"--hook-dir={EATMYDATA_HOOK}"] if Path(EATMYDATA_HOOK).is_dir() else []),
                suite,
                str(partial),
                f"deb [signed-by={KEYRING}] {archive} {suite} main",
            ]
            log(f"building the Asterisk root ({suite}) in {partial} ...")
            started = time.monotonic()
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if done.returncode != 0:
                tail = " / ".join(done.stderr.strip().splitlines()[-3:])
                problems.append(f"{suite}: mmdebstrap exited {done.returncode}: {tail}")
                shutil.rmtree(partial, ignore_errors=True)
                continue
            (partial / "lab").mkdir(exist_ok=True)
            (partial / ".cti-lab-recipe").write_text(recipe_key() + "\n")
            (partial / ".cti-lab-suite").write_text(suite + "\n")
            shutil.rmtree(root, ignore_errors=True)
            partial.rename(root)
            log(f"built the {suite} root in {time.monotonic() - started:.1f} s: {root}")
            return root
        raise LabError("could not build the Asterisk root: " + "; ".join(problems))


# --- an instance: ports, config, start, stop -------------------------------------------------------------------

AGENTS = tuple(str(n) for n in range(1001, 1009))
SUPERVISOR = "1100"
QUEUES = {"sales": ("1001", "1002"), "support": ("1003", "1004")}  # static members; 6001 and 6002 ring them
AMI_USER = "cti"
BLOCK = 400
"""Ports per instance, from its base: see :class:`Ports`."""
FIRST_BASE, LAST_BASE = 10000, 19600
"""Instances take blocks below the softphone tests' 20000-32699 and below Linux's ephemeral range."""

# Modules that open listeners, need hardware, a database or a config this lab does not write; without these
# lines they log ERRORs or decline, and the startup log should show only what is wrong (notes: "Configs").
NOLOAD_WORDS = (
    # listeners, hardware, other protocols
    "chan_iax2 chan_unistim chan_motif chan_console chan_audiosocket res_audiosocket app_audiosocket pbx_dundi "
    "res_xmpp app_jack chan_websocket res_pjsip_transport_websocket res_http_post res_ari_events "
    # databases, realtime, remote CDR/CEL
    "res_odbc res_odbc_transaction res_config_odbc res_config_pgsql res_config_ldap res_config_sqlite3 "
    "res_config_curl func_odbc pbx_realtime res_sorcery_realtime cdr_adaptive_odbc cdr_odbc cdr_pgsql "
    "cdr_radius cdr_tds cdr_sqlite3_custom cdr_custom cdr_csv cel_odbc cel_pgsql cel_radius cel_tds "
    "cel_sqlite3_custom cel_custom app_voicemail_odbc pbx_lua pbx_ael res_cdrel_custom "
    # monitoring, calendars, identity, provisioning, misc. services
    "res_snmp res_hep res_hep_pjsip res_hep_rtcp res_prometheus res_statsd res_calendar res_calendar_caldav "
    "res_calendar_ews res_calendar_exchange res_calendar_icalendar res_stir_shaken res_pjsip_stir_shaken "
    "res_phoneprov res_pjsip_phoneprov_provider res_geolocation res_pjsip_geolocation res_aeap res_speech_aeap "
    "res_smdi res_stun_monitor res_resolver_unbound "
    # deprecated (each logs a WARNING that it may be removed)
    "res_adsi app_adsiprog app_getcpeid "
    # applications that decline without their own config
    "app_voicemail app_directory app_minivm app_agent_pool app_amd app_followme app_festival app_sms "
    "app_alarmreceiver res_fax res_fax_spandsp"
)
EMPTY_CONFIG_WORDS = (
    "cdr_custom cel acl udptl pjproject pjsip_wizard pjsip_notify ccss stasis musiconhold cli_aliases "
    "queuerules ari websocket_client http res_http_media_cache"
)
NOLOAD, EMPTY_CONFIGS = NOLOAD_WORDS.split(), EMPTY_CONFIG_WORDS.split()


@dataclass(frozen=True, slots=True)
class Ports:
    """One instance's ports, all from ``base`` (a block of :data:`BLOCK`).

    base+0 AMI (TCP) · base+2 Asterisk SIP (UDP) · base+4 the trunk's far end (a sipp UAS) · base+6 sipp as
    a caller · base+10+2i phone i's SIP (i < 10; 2 apart: baresip also binds TLS on +1) · base+30+i phone i's
    ctrl_tcp · base+100..199 Asterisk RTP · base+200+10i..+9 phone i's RTP · base+300..399 sipp media.
    """

    base: int

    @property
    def ami(self) -> int:
        return self.base

    @property
    def sip(self) -> int:
        return self.base + 2

    @property
    def trunk(self) -> int:
        return self.base + 4

    @property
    def sipp(self) -> int:
        return self.base + 6

    @property
    def rtp(self) -> tuple[int, int]:
        return self.base + 100, self.base + 199

    def phone_sip(self, index: int) -> int:
        return self.base + 10 + 2 * index

    def phone_ctrl(self, index: int) -> int:
        return self.base + 30 + index

    def phone_rtp(self, index: int) -> tuple[int, int]:
        return self.base + 200 + 10 * index, self.base + 209 + 10 * index

    def sipp_media(self, index: int = 0) -> int:
        return self.base + 300 + 10 * index


def _port_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base(seed: int | None = None) -> int:
    """A base whose ports (all 400) are free on 127.0.0.1 now, starting from a spot derived from ``seed``."""
    count = (LAST_BASE - FIRST_BASE) // BLOCK + 1
    first = (os.getpid() if seed is None else seed) * 7 % count
    for step in range(count):
        base = FIRST_BASE + ((first + step) % count) * BLOCK
        if all(_port_free(base + offset) for offset in range(BLOCK)):
            return base
    raise LabError(f"no free block of {BLOCK} ports between {FIRST_BASE} and {LAST_BASE + BLOCK} on 127.0.0.1")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it dies (a killed test run leaves no
    PBX behind). Linux only; elsewhere nothing happens."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def sweep(prefix: str = "pytest-", root: Path | None = None) -> list[str]:
    """Stop and remove labs named ``<prefix><pid>`` whose process is gone (a test run that was killed)."""
    swept = []
    for state in sorted(((root or root_path()) / "lab").glob(f"{prefix}*/lab.json")):
        name = state.parent.name
        owner = name[len(prefix) :]
        if owner.isdigit() and Path(f"/proc/{owner}").exists():
            continue
        with contextlib.suppress(LabError, OSError):
            lab = Lab.load(name, root)
            lab.stop()
            lab.remove()
            swept.append(name)
    return swept


@dataclass
class Lab:
    """One configured Asterisk in the shared root: write its config, start it, wait until it is ready, stop it.

    Secrets live in :attr:`ami_secret` and :attr:`sip_passwords` (and lab.json, mode 0600); :meth:`__repr__`
    leaves them out so a test failure never prints them.
    """

    name: str
    base: int
    root: Path = field(default_factory=root_path)
    ami_secret: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    sip_passwords: dict[str, str] = field(
        default_factory=lambda: {u: secrets.token_urlsafe(9) for u in (*AGENTS, SUPERVISOR)}, repr=False
    )
    pid: int | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", self.name):
            raise LabError(f"bad lab name {self.name!r}: letters, digits, '.', '_', '-'")
        self.root = Path(self.root)
        self.process: subprocess.Popen[bytes] | None = None

    # paths: `inside` as Asterisk sees them (chroot), `host` as we do
    @property
    def inside(self) -> str:
        return f"/lab/{self.name}"

    @property
    def host(self) -> Path:
        return self.root / "lab" / self.name

    @property
    def ports(self) -> Ports:
        return Ports(self.base)

    @property
    def conf(self) -> str:
        return f"{self.inside}/etc/asterisk.conf"

    @property
    def state_file(self) -> Path:
        return self.host / "lab.json"

    @property
    def log_path(self) -> Path:
        return self.host / "asterisk.out"

    @property
    def messages_log(self) -> Path:
        return self.host / "log" / "messages.log"

    @property
    def ami_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.ports.ami)

    @property
    def sip_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.ports.sip)

    def url(self) -> str:
        return f"asterisk://{AMI_USER}@127.0.0.1:{self.ports.ami}"

    def save(self) -> None:
        self.host.mkdir(parents=True, exist_ok=True)
        state = {
            "name": self.name,
            "base": self.base,
            "root": str(self.root),
            "pid": self.pid,
            "ami": {"host": "127.0.0.1", "port": self.ports.ami, "user": AMI_USER, "secret": self.ami_secret},
            "sip": {"host": "127.0.0.1", "port": self.ports.sip, "passwords": self.sip_passwords},
            "ports": asdict(self.ports),
        }
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, indent=1)

    @classmethod
    def load(cls, name: str, root: Path | None = None) -> Lab:
        path = (root or root_path()) / "lab" / name / "lab.json"
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise LabError(f"no lab {name!r} here ({path}): {exc}") from None
        return cls(
            state["name"],
            state["base"],
            Path(state["root"]),
            state["ami"]["secret"],
            state["sip"]["passwords"],
            state.get("pid"),
        )

    # --- config -------------------------------------------------------------------------------------------

    def write_config(self) -> None:
        if not root_ready(self.root):
            raise LabError(f"no Asterisk root at {self.root}: run `python3 tools/asterisk_lab.py build` first")
        for sub in ("etc", "run", "log", "spool", "db", "keys", "cache"):
            (self.host / sub).mkdir(parents=True, exist_ok=True)
        etc = self.host / "etc"
        for name, text in self.configs().items():
            (etc / name).write_text(text)
        os.chmod(etc / "manager.conf", 0o600)
        os.chmod(etc / "pjsip.conf", 0o600)
        self._write_hosts()
        sample = self.root / "etc/asterisk/indications.conf"
        if sample.exists():
            shutil.copyfile(sample, etc / "indications.conf")
        self.save()

    def _write_hosts(self) -> None:
        """The root has no /etc/hosts: without one Asterisk's lookup of the host's name fails, it falls back
        to resolving A.ROOT-SERVERS.NET (no DNS here) and logs an ERROR for each at the first outbound call."""
        text = f"127.0.0.1 localhost {socket.gethostname()}\n::1 localhost ip6-localhost\n"
        hosts = self.root / "etc/hosts"
        with contextlib.suppress(OSError):
            if hosts.read_text() == text:
                return
        partial = hosts.with_name(f"hosts.{os.getpid()}")
        partial.write_text(text)
        partial.replace(hosts)  # atomic: parallel labs share the root

    def _moddir(self) -> str:
        found = sorted(self.root.glob("usr/lib/*/asterisk/modules"))
        return "/" + str(found[0].relative_to(self.root)) if found else "/usr/lib/asterisk/modules"

    def configs(self) -> dict[str, str]:
        p, inside = self.ports, self.inside
        rtp_low, rtp_high = p.rtp
        files = {f"{name}.conf": "" for name in EMPTY_CONFIGS}
        files["asterisk.conf"] = f"""\
[directories]
astcachedir => {inside}/cache
astetcdir => {inside}/etc
astmoddir => {self._moddir()}
astvarlibdir => /var/lib/asterisk
astdbdir => {inside}/db
astkeydir => {inside}
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {inside}/spool
astrundir => {inside}/run
astlogdir => {inside}/log
astsbindir => /usr/sbin

[options]
verbose = 3
nocolor = yes
hideconnect = yes
"""
        files["logger.conf"] = """\
[general]
[logfiles]
console => notice,warning,error
messages.log => notice,warning,error,verbose
"""
        files["modules.conf"] = "[modules]\nautoload = yes\n" + "".join(f"noload => {m}.so\n" for m in NOLOAD)
        files["manager.conf"] = f"""\
[general]
enabled = yes
bindaddr = 127.0.0.1
port = {p.ami}
timestampevents = yes
; every channel event carries these (as ChanVariable headers): cti-tui tags the channels it originates
channelvars = CTI_CALL,CTI_AGENT

[{AMI_USER}]
secret = {self.ami_secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""
        files["rtp.conf"] = f"[general]\nrtpstart = {rtp_low}\nrtpend = {rtp_high}\n"
        files["cdr.conf"] = "[general]\nenable = yes\n"
        files["cdr_manager.conf"] = "[general]\nenabled = yes\n"
        users = [(u, f"Agent {u}") for u in AGENTS] + [(SUPERVISOR, "Supervisor")]
        media = (
            "disallow = all\nallow = ulaw,alaw\ndirect_media = no\n"
            "rtp_symmetric = yes\nforce_rport = yes\nrewrite_contact = yes\n"
        )
        pjsip = [
            "[global]\ntype = global\nuser_agent = cti-tui lab\n",
            f"[transport-udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:{p.sip}\n",
            # any caller on loopback that is not one of the users (sipp as an outside caller)
            f"[anonymous]\ntype = endpoint\ncontext = from-outside\n{media}",
            # the way out: numbers of 5+ digits and E.164 go to whatever listens on the trunk port (sipp UAS)
            # DTMF as SIP INFO: a sipp UAS can check the digits cti-tui sends (PlayDTMF) in the messages
            f"[trunk]\ntype = endpoint\ncontext = from-outside\naors = trunk\ndtmf_mode = info\n{media}",
            f"[trunk]\ntype = aor\ncontact = sip:127.0.0.1:{p.trunk}\n",
        ]
        for user, display in users:
            pjsip += [
                f"[{user}]\ntype = endpoint\ncontext = internal\nauth = {user}\naors = {user}\n"
                f'callerid = "{display}" <{user}>\n{media}',
                f"[{user}]\ntype = auth\nauth_type = userpass\nusername = {user}\n"
                f"password = {self.sip_passwords[user]}\n",
                f"[{user}]\ntype = aor\nmax_contacts = 1\nremove_existing = yes\nqualify_frequency = 30\n",
            ]
        files["pjsip.conf"] = "\n".join(pjsip)
        files["extensions.conf"] = """\
[general]
static = yes
writeprotect = yes

[internal]
include => parkedcalls
exten => _1XXX,1,NoOp(Dial ${EXTEN})
 same => n,Dial(PJSIP/${EXTEN},30,tT)
 same => n,Hangup()
exten => 6001,1,NoOp(Queue sales)
 same => n,Answer()
 same => n,Queue(sales,tr)
 same => n,Hangup()
exten => 6002,1,NoOp(Queue support)
 same => n,Answer()
 same => n,Queue(support,tr)
 same => n,Hangup()
exten => 7000,1,Goto(ivr,s,1)
exten => 800,1,NoOp(Conference 800)
 same => n,Answer()
 same => n,ConfBridge(800)
 same => n,Hangup()
exten => _XXXX.,1,NoOp(Outside ${EXTEN})
 same => n,Dial(PJSIP/${EXTEN}@trunk,30,T)
 same => n,Hangup()
exten => _+X.,1,NoOp(Outside ${EXTEN})
 same => n,Dial(PJSIP/${EXTEN}@trunk,30,T)
 same => n,Hangup()

[from-outside]
exten => _1XXX,1,NoOp(Outside caller for ${EXTEN})
 same => n,Dial(PJSIP/${EXTEN},30,t)
 same => n,Hangup()
exten => 6001,1,Goto(internal,6001,1)
exten => 6002,1,Goto(internal,6002,1)
exten => 7000,1,Goto(ivr,s,1)
exten => 800,1,Goto(internal,800,1)

[ivr]
exten => s,1,Answer()
 same => n,WaitExten(10)
 same => n,Hangup()
exten => 1,1,Goto(internal,6001,1)
exten => 2,1,Goto(internal,6002,1)
exten => i,1,Hangup()
exten => t,1,Hangup()
"""
        queue = (
            "strategy = ringall\ntimeout = 15\nretry = 2\nringinuse = no\nautopause = no\n"
            "joinempty = yes\nleavewhenempty = no\n"
        )
        files["queues.conf"] = "[general]\npersistentmembers = no\n" + "".join(
            f"\n[{name}]\n{queue}" + "".join(f"member => PJSIP/{u},0,Agent {u},PJSIP/{u}\n" for u in members)
            for name, members in QUEUES.items()
        )
        files["res_parking.conf"] = """\
[general]
[default]
parkext => 700
parkpos => 701-710
context => parkedcalls
parkingtime => 120
comebacktoorigin = yes
findslot => next
"""
        # the AMI Atxfer action "presses" the atxfer feature code on the transferer's channel: without one it
        # fails ("No attended transfer feature code found"). Only the agents' side of a bridge gets the
        # transfer features (Dial's t: the called agent, T: the calling agent): never an outside party, who
        # could otherwise transfer by pressing the codes (hence from-outside dials agents itself, with t)
        # blindxfer is off (the AMI BlindTransfer action needs no code): with it, a '#' the agent's phone sends
        # as DTMF would start a transfer instead of reaching the far end
        files["features.conf"] = "[general]\n[featuremap]\nblindxfer =>\natxfer => *2\n"
        files["confbridge.conf"] = (
            "[general]\n[default_bridge]\ntype = bridge\n[default_user]\ntype = user\nquiet = yes\n"
        )
        return files

    # --- process ------------------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0, *, detach: bool = False) -> None:
        """Write the config, start Asterisk in the root and wait (bounded) for AMI's FullyBooted.

        The process stays this process's child (``detach=False``, for tests: we reap it) or is left to
        run on its own (the CLI's ``start``; ``stop`` then finds it by the PID in lab.json).
        """
        if self.running():
            raise LabError(f"lab {self.name!r} is already running (pid {self.pid})")
        self.write_config()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-f", "-C", self.conf],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=detach,  # a detached lab outlives the terminal; a test's dies with its runner
                preexec_fn=None if detach else _die_with_parent,
            )
        self.pid = self.process.pid
        self.save()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        if detach:
            self.process = None  # not ours to wait for any more

    def wait_ready(self, timeout: float) -> None:
        """Log in to AMI and wait for ``FullyBooted`` (a stop sent before it is ignored: notes, gotcha 5)."""
        sys.path.insert(0, str(REPO))
        from cti_tui.protocol.ami import AmiParser, Event, Response, encode_login

        deadline = time.monotonic() + timeout
        problem = "AMI never answered"
        while time.monotonic() < deadline:
            if not self.alive():
                raise LabError(f"Asterisk exited while starting{self._log_tail()}; see {self.log_path}")
            try:
                with socket.create_connection(self.ami_address, timeout=1.0) as sock:
                    sock.settimeout(max(0.1, deadline - time.monotonic()))
                    parser = AmiParser()
                    sock.sendall(encode_login(AMI_USER, self.ami_secret, "lab-login", events="system"))
                    while True:
                        data = sock.recv(65536)
                        if not data:
                            raise OSError("AMI closed the connection")
                        for item in parser.feed(data):
                            if isinstance(item, Response) and item.action_id == "lab-login" and not item.ok:
                                raise LabError(f"AMI refused the lab's login: {item.message}")
                            if isinstance(item, Event) and item.name == "FullyBooted":
                                return
            except (OSError, TimeoutError) as exc:
                problem = str(exc)
                time.sleep(0.05)  # bounded start-up wait for a process we do not control
        raise LabError(f"Asterisk not ready within {timeout:g} s ({problem}){self._log_tail()}")

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.running()

    def running(self) -> bool:
        """The recorded PID is this lab's Asterisk, and not a zombie (notes, gotcha 6)."""
        if not self.pid:
            return False
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        zombie = re.search(r"^State:\s+Z", status, re.M) is not None
        return not zombie and self.conf.encode() in cmdline

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (Asterisk exits in about 0.75 s), then SIGKILL after ``grace`` — by PID, never by name."""
        if self.process is not None:
            process, self.process = self.process, None
            if process.poll() is None:
                for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, sig)
                    try:
                        process.wait(wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        elif self.running():
            assert self.pid is not None
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, sig)
                deadline = time.monotonic() + wait
                while self.running() and time.monotonic() < deadline:
                    time.sleep(0.02)  # not our child: nothing to wait on but its /proc entry
                if not self.running():
                    break
        self.pid = None
        if self.host.exists():
            self.save()

    def remove(self) -> None:
        """Delete the instance folder (config, logs, secrets) from the root."""
        shutil.rmtree(self.host, ignore_errors=True)

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """One Asterisk CLI command through the instance's control socket."""
        done = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf, "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return done.stdout + done.stderr

    def _log_tail(self, lines: int = 3) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").strip().splitlines()
            problems = [line for line in text if "ERROR" in line or "WARNING" in line] or text
            if problems:
                return ": " + " / ".join(problems[-lines:])
        return ""

    def problems(self) -> list[str]:
        """ERROR lines Asterisk logged so far (the startup log should have none)."""
        with contextlib.suppress(OSError):
            return [line for line in self.log_path.read_text(errors="replace").splitlines() if "ERROR[" in line]
        return []


# --- phones and outside traffic (the CLI's `start --phones --traffic`) ---------------------------------------

TRAFFIC_QUEUES = ("6001", "6002")
"""Outside traffic alternates between the two queues: one sipp UAC each, at half the rate."""
MAX_RATE_PER_MINUTE = 60.0


def parse_users(text: str) -> list[str]:
    """``1001-1004`` or ``1001,1003`` → agent extensions (each must be one of the lab's agents)."""
    users: list[str] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if not (first.isdigit() and (not last or last.isdigit())):
            raise LabError(f"bad --phones {text!r}: give extensions like 1001-1004 or 1001,1003")
        users += [str(n) for n in range(int(first), int(last or first) + 1)]
    unknown = [u for u in users if u not in AGENTS]
    if unknown or not users:
        raise LabError(f"--phones: {', '.join(unknown) or 'none'} not among the agents {AGENTS[0]}-{AGENTS[-1]}")
    return list(dict.fromkeys(users))


def parse_rate(text: str) -> float:
    """``6/min`` (or ``90/h``) → calls per minute, between 0 and :data:`MAX_RATE_PER_MINUTE`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*(min|h)\s*", text)
    if not match:
        raise LabError(f"bad --traffic {text!r}: give a rate like 6/min or 90/h")
    per_minute = float(match[1]) / (60.0 if match[2] == "h" else 1.0)
    if not 0 < per_minute <= MAX_RATE_PER_MINUTE:
        raise LabError(f"--traffic {text!r}: between 0 and {MAX_RATE_PER_MINUTE:g} calls a minute")
    return per_minute


def _pid_file(lab: Lab) -> Path:
    return lab.host / "extras.json"


def _record(lab: Lab, kind: str, pid: int, marker: str) -> None:
    """Remember a process the lab started (``marker``: a word of its command line, so ``stop`` never kills a
    process that merely reused the PID)."""
    path = _pid_file(lab)
    recorded = json.loads(path.read_text()) if path.exists() else []
    recorded.append({"kind": kind, "pid": pid, "marker": marker})
    path.write_text(json.dumps(recorded, indent=1))


def recorded_processes(lab: Lab) -> list[dict[str, object]]:
    """The phones and traffic generators ``start`` recorded that still run (checked against their marker)."""
    path = _pid_file(lab)
    if not path.exists():
        return []
    alive = []
    for entry in json.loads(path.read_text()):
        try:
            cmdline = Path(f"/proc/{entry['pid']}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{entry['pid']}/status").read_text()
        except OSError:
            continue
        if entry["marker"].encode() in cmdline and not re.search(r"^State:\s+Z", status, re.M):
            alive.append(entry)
    return alive


def start_phones(lab: Lab, users: list[str], answermode: str, timeout: float = 15.0) -> None:
    """A baresip per agent, registered to the lab with its password (sent over the control socket, never
    written), each in its own session so it outlives this command; ``stop`` ends them by PID."""
    import asyncio

    sys.path.insert(0, str(REPO))
    from cti_tui.backends.softphone import BaresipError, ManagedBaresip

    for user in users:
        index = AGENTS.index(user)
        folder = lab.host / "phones" / user
        phone = ManagedBaresip(
            folder,
            sip_port=lab.ports.phone_sip(index),
            ctrl_port=lab.ports.phone_ctrl(index),
            user=user,
            display_name=f"Agent {user}",
            answermode=answermode,
            rtp_ports=lab.ports.phone_rtp(index),
            registrar="{}:{}".format(*lab.sip_address),
            password=lab.sip_passwords[user],
        )
        try:
            asyncio.run(phone.start(timeout))
        except BaresipError as exc:
            raise LabError(f"phone {user}: {exc}") from None
        assert phone.pid is not None
        _record(lab, f"phone {user}", phone.pid, str(folder))


def start_traffic(lab: Lab, per_minute: float, calls: int, hold_seconds: int) -> None:
    """sipp UACs calling the queues at ``per_minute`` in all, at most ``calls`` calls and 4 at once each,
    loopback only; each caller hangs up ``hold_seconds`` after it is answered."""
    if shutil.which("sipp") is None:
        raise LabError("sipp is not installed (Debian: apt-get install sip-tester)")
    folder = lab.host / "traffic"
    folder.mkdir(parents=True, exist_ok=True)
    share = per_minute / len(TRAFFIC_QUEUES)
    each = max(1, -(-calls // len(TRAFFIC_QUEUES)))
    for index, queue in enumerate(TRAFFIC_QUEUES):
        errors = folder / f"sipp-{queue}.errors"
        command = [
            "sipp", "-sn", "uac", "-s", queue, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local",
            "-p", str(lab.ports.sipp + 2 * index), "-mp", str(lab.ports.sipp_media(8 + index)),
            "-r", f"{share:g}", "-rp", "60000", "-m", str(each), "-l", "4", "-d", str(hold_seconds * 1000),
            "-nostdin", "-trace_err", "-error_file", str(errors), "{}:{}".format(*lab.sip_address),
        ]  # fmt: skip
        with open(folder / f"sipp-{queue}.out", "ab") as out:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=out, cwd=folder,
                start_new_session=True,
            )  # fmt: skip
        _record(lab, f"traffic {queue}", process.pid, str(errors))


def stop_extras(lab: Lab, grace: float = 3.0) -> list[str]:
    """SIGTERM, then SIGKILL after ``grace``, each recorded phone and caller still running — by PID."""
    stopped = []
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 3.0)):
        running = recorded_processes(lab)
        for entry in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry["pid"]), sig)  # type: ignore[call-overload]
            stopped.append(str(entry["kind"]))
        deadline = time.monotonic() + wait
        while recorded_processes(lab) and time.monotonic() < deadline:
            time.sleep(0.05)  # not our children: nothing to wait on but their /proc entries
        if not recorded_processes(lab):
            break
    with contextlib.suppress(OSError):
        _pid_file(lab).unlink()
    return list(dict.fromkeys(stopped))


READ_SECRET = 'python3 -c \'import json,sys; print(json.load(open(sys.argv[1]))["ami"]["secret"])\''
"""Prints the secret into a `$(...)`: the shell keeps it, nothing is echoed."""


def next_steps(lab: Lab) -> str:
    """What to run next: the secret is read from lab.json into the environment, never printed."""
    return f"""\
next     export CTI_TUI_AMI_SECRET="$({READ_SECRET} {lab.state_file})"
         cti-tui --pbx {lab.url()}
         (log in as 1001@lab, any password: the lab's phones are the agents' desk phones)"""


# --- command line ----------------------------------------------------------------------------------------------


def _summary(lab: Lab) -> str:
    p = lab.ports
    users = ", ".join(AGENTS)
    return f"""\
Asterisk lab {lab.name!r} is running (pid {lab.pid}), root {lab.root}
  AMI      127.0.0.1:{p.ami}  user {AMI_USER!r}; its secret and the SIP passwords: {lab.state_file} (mode 0600)
  SIP/UDP  127.0.0.1:{p.sip}  users {users} (agents), {SUPERVISOR} (supervisor); anyone else is an outside caller
  dial     1001-1008, 1100 · 6001 queue sales (1001, 1002) · 6002 queue support (1003, 1004) · 7000 IVR
           700 park (701-710) · 800 conference · 5+ digits or +E.164 → the trunk at 127.0.0.1:{p.trunk}
  CLI      python3 tools/asterisk_lab.py cli --name {lab.name} 'pjsip show contacts'
  stop     python3 tools/asterisk_lab.py stop --name {lab.name}
  log      {lab.log_path}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build or reuse the cached Asterisk root")
    start = commands.add_parser("start", help="configure and start a lab (builds the root first if needed)")
    start.add_argument("--base", type=int, default=None, help=f"first of {BLOCK} ports (default: a free block)")
    start.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for FullyBooted")
    start.add_argument("--phones", default="", help="agents to start a registered baresip for, e.g. 1001-1004")
    start.add_argument("--answer", choices=("manual", "auto"), default="manual", help="the phones' answer mode")
    start.add_argument("--traffic", nargs="?", const="6/min", default="", help="sipp calls into 6001/6002 (6/min)")
    start.add_argument("--calls", type=int, default=100, help="at most this many traffic calls (default 100)")
    start.add_argument("--hold", type=int, default=20, help="seconds a traffic caller stays once answered")
    helps = {"stop": "stop a lab (by its PID)", "status": "is a lab running? (exit 3 if not)", "cli": "Asterisk CLI"}
    for name in ("start", "stop", "status", "cli"):
        sub = start if name == "start" else commands.add_parser(name, help=helps[name])
        sub.add_argument("--name", default="lab", help="the lab's name (default: lab)")
    commands.choices["stop"].add_argument("--remove", action="store_true", help="also delete its folder")
    commands.choices["cli"].add_argument("words", nargs="+", help="an Asterisk CLI command")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr)  # noqa: E731 - progress goes to stderr
    try:
        if args.command == "build":
            print(build_root(log))
        elif args.command == "start":
            build_root(log)
            existing = None
            with contextlib.suppress(LabError):
                existing = Lab.load(args.name)
            if existing is not None and existing.running():
                raise LabError(f"lab {args.name!r} is already running (pid {existing.pid})")
            users = parse_users(args.phones) if args.phones else []
            rate = parse_rate(args.traffic) if args.traffic else 0.0
            if not 1 <= args.calls <= 10000 or not 1 <= args.hold <= 3600:
                raise LabError("--calls 1-10000 and --hold 1-3600 seconds")
            if users and shutil.which("baresip") is None:
                raise LabError("baresip is not installed (Debian: apt-get install baresip-core)")
            base = args.base if args.base is not None else free_base()
            lab = Lab(args.name, base)
            stop_extras(lab)  # phones or callers left by a lab of this name that died without `stop`
            lab.start(args.timeout, detach=True)
            try:
                start_phones(lab, users, args.answer)
                if rate:
                    start_traffic(lab, rate, args.calls, args.hold)
            except BaseException:
                stop_extras(lab)
                lab.stop()
                raise
            print(_summary(lab))
            for entry in recorded_processes(lab):
                print(f"  {entry['kind']:<14} pid {entry['pid']}")
            print(next_steps(lab))
        elif args.command == "stop":
            lab = Lab.load(args.name)
            stopped = stop_extras(lab)
            lab.stop()
            if stopped:
                print(f"stopped {', '.join(stopped)}")
            if args.remove:
                lab.remove()
            print(f"lab {args.name!r} stopped")
        elif args.command == "status":
            lab = Lab.load(args.name)
            print(_summary(lab) if lab.running() else f"lab {args.name!r} is not running")
            for entry in recorded_processes(lab):
                print(f"  {entry['kind']:<14} pid {entry['pid']}")
            return 0 if lab.running() else 3
        elif args.command == "cli":
            print(Lab.load(args.name).cli(" ".join(args.words)), end="")
    except LabError as exc:
        print(f"asterisk_lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
