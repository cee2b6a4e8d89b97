"""An organisation: users, queues, IVRs, conference rooms, the park lot and the simulated world.

Loaded from TOML (the demo ships as ``demo.toml``). A bad file raises :class:`OrgError` whose message
names the file, the line and the field, because whoever edits an org file needs to know exactly where.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from cti_tui.core.model import Operation, Role
from cti_tui.core.numbers import InvalidNumber, parse_destination
from cti_tui.core.permissions import DEFAULT_POLICIES, RolePolicy

BEHAVIOURS = ("answer", "busy", "no_answer", "unreachable")
IVR_TARGETS = ("queue:", "user:")
_EXTENSION = re.compile(r"^\d{2,6}$")
_IDENT = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_HEADER = re.compile(r"^\s*\[\[?\s*[A-Za-z_]")


class OrgError(ValueError):
    """An organisation file is unusable; the message says where and why."""


class Dialable(Protocol):
    """Whatever has an extension of its own: a user, a queue, an IVR, a conference room."""

    @property
    def name(self) -> str: ...

    @property
    def extension(self) -> str: ...

    @property
    def number(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class User:
    extension: str
    name: str
    email: str
    role: Role
    password_hash: str = field(repr=False)
    number: str | None = None
    api_key_sha256: tuple[str, ...] = field(default=(), repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    # whether the simulated world plays this user while nobody is logged in as them (the demo's own
    # accounts are not played: logging in must never find calls someone else took on your line)
    simulated: bool = True

    @property
    def line(self) -> str:
        return f"user:{self.extension}"

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)

    def check_api_key(self, api_key: str) -> bool:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        return any(hmac.compare_digest(digest, known) for known in self.api_key_sha256)


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    name: str
    extension: str
    members: tuple[str, ...]
    number: str | None = None
    offer_timeout: float = 15.0
    wrap_up_seconds: float | None = None  # after-call work once a call from this queue ends (None: the org's)
    service_level_seconds: float = 20.0  # a caller answered within this counts toward the service level

    @property
    def line(self) -> str:
        return f"queue:{self.id}"


@dataclass(frozen=True, slots=True)
class Ivr:
    id: str
    name: str
    extension: str
    options: dict[str, str]
    number: str | None = None
    menu_seconds: float = 6.0

    @property
    def line(self) -> str:
        return f"ivr:{self.id}"


@dataclass(frozen=True, slots=True)
class Conference:
    id: str
    name: str
    extension: str
    number: str | None = None

    @property
    def line(self) -> str:
        return f"conf:{self.id}"


@dataclass(frozen=True, slots=True)
class WorldNumber:
    """An outside number with scripted behaviour when dialled."""

    number: str
    name: str
    behaviour: str
    rings: int = 2


@dataclass(frozen=True, slots=True)
class WorldSettings:
    """How the simulated outside world and colleagues behave (the ``[world]`` table); the world itself is
    :class:`~cti_tui.pbx.world.SimulatedWorld`. Every random choice comes from ``seed``."""

    seed: int = 7
    inbound_per_minute: float = 4.0
    ring_seconds: float = 2.0
    pickup_seconds: float = 1.0
    no_answer_timeout: float = 30.0
    default_rings: int = 2
    colleagues: bool = True
    colleague_answer_seconds: tuple[float, float] = (2.0, 8.0)
    talk_seconds: tuple[float, float] = (20.0, 120.0)
    caller_patience_seconds: tuple[float, float] = (30.0, 120.0)
    numbers: tuple[WorldNumber, ...] = ()

    def behaviour_of(self, number: str) -> WorldNumber:
        for known in self.numbers:
            if known.number == number:
                return known
        return WorldNumber(number, "", "answer", self.default_rings)


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """The ``[agents]`` table: the codes agents choose from, and the after-call work of a call that came
    from no queue (a queue's own ``wrap_up_seconds`` wins). 0 seconds: no wrap-up."""

    break_reasons: tuple[str, ...] = ("lunch", "training", "meeting", "personal")
    dispositions: tuple[str, ...] = ("resolved", "sale", "callback", "escalated", "no_action")
    wrap_up_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    users: tuple[User, ...]
    queues: tuple[Queue, ...] = ()
    ivrs: tuple[Ivr, ...] = ()
    conferences: tuple[Conference, ...] = ()
    park_slots: int = 10
    park_extension: str = "700"
    world: WorldSettings = WorldSettings()
    agents: AgentSettings = AgentSettings()
    policies: dict[Role, RolePolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    # lookup tables built on first use (the organisation never changes; ``dataclasses.replace`` gives a
    # new, empty one), so the exchange's hot paths stay O(1) in an organisation of thousands of users
    _index: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def _lookup(self, name: str) -> Any:
        table = self._index.get(name)
        if table is None:
            if name == "extension":
                table = {}
                for user in self.users:
                    table.setdefault(user.extension, user)  # the first one wins, as a scan would find it
            elif name == "number":
                table = {}
                for user in self.users:
                    if user.number is not None:
                        table.setdefault(user.number, user)
            elif name == "queue":
                table = {}
                for queue in self.queues:
                    table.setdefault(queue.id, queue)
            else:  # "nodes"
                table = frozenset(self.nodes())
            self._index[name] = table
        return table

    def user_by_extension(self, extension: str) -> User | None:
        return self._lookup("extension").get(extension)

    def user_by_number(self, number: str) -> User | None:
        """The user whose outside (DID) number this is."""
        return self._lookup("number").get(number)

    def has_node(self, node: str) -> bool:
        return node in self._lookup("nodes")

    def user_by_email(self, email: str) -> User | None:
        email = email.strip().lower()
        return next((u for u in self.users if u.email.lower() == email), None)

    def queue(self, queue_id: str) -> Queue | None:
        return self._lookup("queue").get(queue_id)

    def ivr(self, ivr_id: str) -> Ivr | None:
        return next((i for i in self.ivrs if i.id == ivr_id), None)

    def conference(self, conf_id: str) -> Conference | None:
        return next((c for c in self.conferences if c.id == conf_id), None)

    def nodes(self) -> list[str]:
        """Every line one can subscribe to, in directory order."""
        return (
            [u.line for u in self.users]
            + [q.line for q in self.queues]
            + [i.line for i in self.ivrs]
            + [c.line for c in self.conferences]
            + ["callpark"]
        )


# --- passwords ------------------------------------------------------------------------------------


def hash_password(password: str, salt: str, iterations: int = 200_000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations)).hex()
    return hmac.compare_digest(computed, digest)


# --- loading --------------------------------------------------------------------------------------


def load_demo() -> Organisation:
    text = resources.files("cti_tui.pbx").joinpath("demo.toml").read_text(encoding="utf-8")
    return parse_org(text, "demo.toml")


def read_org_text(path: Path) -> str:
    """An org file's text; :class:`OrgError` names the file when it cannot be read or is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise OrgError(f"{path}: not a UTF-8 text file") from None


def load_org(path: Path) -> Organisation:
    return parse_org(read_org_text(path), str(path))


def parse_org(text: str, source: str) -> Organisation:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OrgError(f"{source}: not valid TOML: {exc}") from None
    return _OrgReader(text, source).organisation(data)


Path_ = tuple[str | int, ...]


class _OrgReader:
    """Typed field access that knows where each field sits in the file, for error messages."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    # where in the file ---------------------------------------------------------------------------

    def _line_of(self, path: Path_) -> int | None:
        """Best-effort line number of ``path`` (e.g. ("users", 2, "extension")) in the source text."""
        start, end = 0, len(self.lines)
        header = ""
        block: int | None = None  # the header line of the innermost table found so far
        keys = list(path)
        while len(keys) > 1 and isinstance(name := keys[0], str):
            del keys[0]
            header = f"{header}.{name}" if header else name
            # a sub-table's header ([[world.numbers]]) follows its parent's block, not inside it
            if keys and isinstance(index := keys[0], int):
                del keys[0]
                found = self._nth_header(f"[[{header}]]", index, start, len(self.lines))
            else:
                found = self._nth_header(f"[{header}]", 0, start, len(self.lines))
            if found is None:
                continue  # not written as a header of its own, e.g. no [roles] above [roles.agent]
            block = found
            start, end = found, self._block_end(found)
        if keys and isinstance(keys[-1], str):
            pattern = re.compile(rf"^\s*\"?{re.escape(keys[-1])}\"?\s*=")
            for number in range(start, end):
                if pattern.match(self.lines[number]):
                    return number + 1
            table = f"{header}.{keys[-1]}" if header else keys[-1]
            for form in (f"[{table}]", f"[[{table}]]"):
                found = self._nth_header(form, 0, start, len(self.lines))
                if found is not None:
                    return found + 1
        return block + 1 if block is not None else None

    def _nth_header(self, header: str, index: int, start: int, end: int) -> int | None:
        seen = 0
        for number in range(start, end):
            if self.lines[number].strip().split("#")[0].strip() == header:
                if seen == index:
                    return number
                seen += 1
        return None

    def _block_end(self, header_line: int) -> int:
        for number in range(header_line + 1, len(self.lines)):
            if _HEADER.match(self.lines[number]):
                return number
        return len(self.lines)

    def fail(self, path: Path_, problem: str) -> OrgError:
        dotted = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
        line = self._line_of(path)
        where = f"{self.source}:{line}" if line else self.source
        return OrgError(f"{where}: {dotted}: {problem}")

    # typed access --------------------------------------------------------------------------------

    def get(self, table: dict[str, Any], path: Path_, key: str, kind: type, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail((*path, key), "missing")
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail((*path, key), f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def text(self, table: dict[str, Any], path: Path_, key: str, default: Any = ...) -> Any:
        value = self.get(table, path, key, str, default)
        if isinstance(value, str) and not value.strip() and default is ...:
            raise self.fail((*path, key), "must not be empty")
        return value

    def extension(self, table: dict[str, Any], path: Path_, key: str = "extension") -> str:
        value = self.text(table, path, key)
        if not _EXTENSION.match(value):
            raise self.fail((*path, key), f"an extension is 2–6 digits, got {value!r}")
        return value

    def number(self, table: dict[str, Any], path: Path_, key: str = "number", required: bool = False) -> Any:
        value = self.text(table, path, key, ... if required else None)
        if value is None:
            return None
        try:
            parsed = parse_destination(value)
        except InvalidNumber as exc:
            raise self.fail((*path, key), str(exc)) from None
        if parsed.is_extension:
            raise self.fail((*path, key), f"expected an E.164 number like +12025550100, got {value!r}")
        return parsed.number

    def ident(self, table: dict[str, Any], path: Path_) -> str:
        value = self.text(table, path, "id")
        if not _IDENT.match(value):
            raise self.fail((*path, "id"), f"use letters, digits, - and _ (1–32), got {value!r}")
        return value

    def seconds(
        self, table: dict[str, Any], path: Path_, key: str, default: float, *, allow_zero: bool = False
    ) -> float:
        value = self.get(table, path, key, float, default)
        if not (value > 0 or (allow_zero and value == 0)) or value == float("inf"):
            expected = "0 or more" if allow_zero else "positive"
            raise self.fail((*path, key), f"expected {expected} seconds, got {value!r}")
        return value

    def pair(self, table: dict[str, Any], path: Path_, key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = self.get(table, path, key, list, list(default))
        if len(value) != 2 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise self.fail((*path, key), f"expected [low, high] seconds, got {value!r}")
        low, high = float(value[0]), float(value[1])
        if not 0 <= low <= high:
            raise self.fail((*path, key), f"expected 0 <= low <= high, got {value!r}")
        return low, high

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail((key,), f"expected [[{key}]] tables")
        return value

    # sections ------------------------------------------------------------------------------------

    def organisation(self, data: dict[str, Any]) -> Organisation:
        head = self.get(data, (), "organisation", dict, {})
        users = tuple(self.user(u, ("users", i)) for i, u in enumerate(self.tables(data, "users")))
        if not users:
            raise self.fail(("users",), "an organisation needs at least one [[users]] entry")
        queues = tuple(self.queue(q, ("queues", i)) for i, q in enumerate(self.tables(data, "queues")))
        ivrs = tuple(self.ivr(v, ("ivrs", i)) for i, v in enumerate(self.tables(data, "ivrs")))
        confs = tuple(self.conference(c, ("conferences", i)) for i, c in enumerate(self.tables(data, "conferences")))
        park_slots = self.get(head, ("organisation",), "park_slots", int, 10)
        if not 1 <= park_slots <= 999:
            raise self.fail(("organisation", "park_slots"), f"expected 1–999, got {park_slots}")
        org = Organisation(
            name=self.text(head, ("organisation",), "name", "Organisation"),
            users=users,
            queues=queues,
            ivrs=ivrs,
            conferences=confs,
            park_slots=park_slots,
            park_extension=self.extension(head, ("organisation",), "park_extension")
            if "park_extension" in head
            else "700",
            world=self.world(self.get(data, (), "world", dict, {})),
            agents=self.agents(self.get(data, (), "agents", dict, {})),
            policies=self.policies(self.get(data, (), "roles", dict, {})),
        )
        self.check_references(org)
        return org

    def user(self, table: dict[str, Any], path: Path_) -> User:
        extension = self.extension(table, path)
        name = self.text(table, path, "name")
        role_text = self.text(table, path, "role", "agent")
        try:
            role = Role(role_text)
        except ValueError:
            raise self.fail((*path, "role"), f"expected agent or supervisor, got {role_text!r}") from None
        email = self.text(table, path, "email")
        if "@" not in email:
            raise self.fail((*path, "email"), f"not an email address: {email!r}")
        keys = self.get(table, path, "api_key_sha256", list, [])
        if not all(isinstance(k, str) and re.fullmatch(r"[0-9a-f]{64}", k) for k in keys):
            raise self.fail((*path, "api_key_sha256"), "expected a list of 64-hex-digit SHA-256 digests")
        # a user who logs in only with an API key (a script, a wallboard) needs no password: "" matches none
        password_hash = self.text(table, path, "password_hash", "" if keys else ...)
        if password_hash and (not password_hash.startswith("pbkdf2_sha256$") or password_hash.count("$") != 3):
            raise self.fail(
                (*path, "password_hash"),
                "expected pbkdf2_sha256$<iterations>$<salt>$<hex> (make one with `cti-tui hash-password`)",
            )
        totp = self.text(table, path, "totp_secret", None)
        if totp is not None and not re.fullmatch(r"[A-Z2-7]{16,}=*", totp):
            raise self.fail((*path, "totp_secret"), "expected a base32 secret (A–Z, 2–7, at least 16 chars)")
        return User(
            extension=extension,
            name=name,
            email=email,
            role=role,
            password_hash=password_hash,
            number=self.number(table, path),
            api_key_sha256=tuple(keys),
            totp_secret=totp,
            simulated=self.get(table, path, "simulated", bool, True),
        )

    def queue(self, table: dict[str, Any], path: Path_) -> Queue:
        members = self.get(table, path, "members", list, [])
        if not all(isinstance(m, str) for m in members):
            raise self.fail((*path, "members"), "expected a list of extensions as strings")
        offer = self.get(table, path, "offer_timeout", float, 15.0)
        if offer <= 0:
            raise self.fail((*path, "offer_timeout"), "must be positive seconds")
        target = self.get(table, path, "service_level_seconds", float, 20.0)
        if target <= 0:
            raise self.fail((*path, "service_level_seconds"), "must be positive seconds")
        return Queue(
            id=self.ident(table, path),
            name=self.text(table, path, "name"),
            extension=self.extension(table, path),
            members=tuple(members),
            number=self.number(table, path),
            offer_timeout=offer,
            wrap_up_seconds=self.seconds(table, path, "wrap_up_seconds", 0.0, allow_zero=True)
            if "wrap_up_seconds" in table
            else None,
            service_level_seconds=target,
        )

    def codes(self, table: dict[str, Any], path: Path_, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A list of short codes (a break reason, a disposition): identifiers, each once, at least one."""
        value = self.get(table, path, key, list, list(default))
        if not value or not all(isinstance(v, str) and _IDENT.match(v) for v in value):
            raise self.fail((*path, key), f"expected a list of codes (letters, digits, - and _), got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail((*path, key), "a code is listed twice")
        return tuple(value)

    def agents(self, table: dict[str, Any]) -> AgentSettings:
        path: Path_ = ("agents",)
        defaults = AgentSettings()
        return AgentSettings(
            break_reasons=self.codes(table, path, "break_reasons", defaults.break_reasons),
            dispositions=self.codes(table, path, "dispositions", defaults.dispositions),
            wrap_up_seconds=self.seconds(table, path, "wrap_up_seconds", defaults.wrap_up_seconds, allow_zero=True),
        )

    def ivr(self, table: dict[str, Any], path: Path_) -> Ivr:
        options = self.get(table, path, "options", dict, {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
            raise self.fail((*path, "options"), 'expected { "1" = "queue:sales", ... }')
        return Ivr(
            id=self.ident(table, path),
            name=self.text(table, path, "name"),
            extension=self.extension(table, path),
            options=dict(options),
            number=self.number(table, path),
            menu_seconds=self.seconds(table, path, "menu_seconds", 6.0, allow_zero=True),
        )

    def conference(self, table: dict[str, Any], path: Path_) -> Conference:
        return Conference(
            id=self.ident(table, path),
            name=self.text(table, path, "name"),
            extension=self.extension(table, path),
            number=self.number(table, path),
        )

    def world(self, table: dict[str, Any]) -> WorldSettings:
        path: Path_ = ("world",)
        numbers = []
        for i, entry in enumerate(self.tables(table, "numbers")):
            where = ("world", "numbers", i)
            behaviour = self.text(entry, where, "behaviour", "answer")
            if behaviour not in BEHAVIOURS:
                raise self.fail((*where, "behaviour"), f"expected one of {', '.join(BEHAVIOURS)}, got {behaviour!r}")
            rings = self.get(entry, where, "rings", int, 2)
            if not 0 <= rings <= 100:
                raise self.fail((*where, "rings"), f"expected 0–100, got {rings}")
            numbers.append(
                WorldNumber(
                    self.number(entry, where, required=True),
                    self.text(entry, where, "name", ""),
                    behaviour,
                    rings,
                )
            )
        rate = self.get(table, path, "inbound_per_minute", float, 4.0)
        if rate < 0:
            raise self.fail((*path, "inbound_per_minute"), "must not be negative")
        return WorldSettings(
            seed=self.get(table, path, "seed", int, 7),
            inbound_per_minute=rate,
            ring_seconds=self.seconds(table, path, "ring_seconds", 2.0),
            pickup_seconds=self.seconds(table, path, "pickup_seconds", 1.0, allow_zero=True),
            no_answer_timeout=self.seconds(table, path, "no_answer_timeout", 30.0),
            default_rings=self.get(table, path, "default_rings", int, 2),
            colleagues=self.get(table, path, "colleagues", bool, True),
            colleague_answer_seconds=self.pair(table, path, "colleague_answer_seconds", (2.0, 8.0)),
            talk_seconds=self.pair(table, path, "talk_seconds", (20.0, 120.0)),
            caller_patience_seconds=self.pair(table, path, "caller_patience_seconds", (30.0, 120.0)),
            numbers=tuple(numbers),
        )

    def policies(self, table: dict[str, Any]) -> dict[Role, RolePolicy]:
        policies = dict(DEFAULT_POLICIES)
        for role_name, entry in table.items():
            path: Path_ = ("roles", role_name)
            try:
                role = Role(role_name)
            except ValueError:
                raise self.fail(path, "roles are agent and supervisor") from None
            if not isinstance(entry, dict):
                raise self.fail(path, "expected a table")
            watch = self.get(entry, path, "watch", list, list(policies[role].watch))
            acts = self.get(entry, path, "act_on_watched", list, [o.value for o in policies[role].act_on_watched])
            try:
                ops = frozenset(Operation(a) for a in acts)
            except ValueError as exc:
                raise self.fail((*path, "act_on_watched"), str(exc)) from None
            policies[role] = RolePolicy(tuple(str(w) for w in watch), ops)
        return policies

    def check_references(self, org: Organisation) -> None:
        seen: dict[str, Path_] = {}
        sections: tuple[tuple[str, tuple[Dialable, ...]], ...] = (
            ("users", org.users),
            ("queues", org.queues),
            ("ivrs", org.ivrs),
            ("conferences", org.conferences),
        )
        for kind, items in sections:
            for i, item in enumerate(items):
                if item.extension in seen or item.extension == org.park_extension:
                    raise self.fail((kind, i, "extension"), f"extension {item.extension} is used twice")
                seen[item.extension] = (kind, i)
        emails: set[str] = set()
        for i, user in enumerate(org.users):
            if user.email.lower() in emails:
                raise self.fail(("users", i, "email"), f"email {user.email} is used twice")
            emails.add(user.email.lower())
        for i, queue in enumerate(org.queues):
            for member in queue.members:
                if org.user_by_extension(member) is None:
                    raise self.fail(("queues", i, "members"), f"no user with extension {member!r}")
        lines = set(org.nodes())
        for i, ivr in enumerate(org.ivrs):
            for digit, target in ivr.options.items():
                if target not in lines:
                    raise self.fail(("ivrs", i, "options"), f"option {digit!r} goes to unknown line {target!r}")
                if not target.startswith(IVR_TARGETS):  # the exchange routes a menu choice to these only
                    raise self.fail(
                        ("ivrs", i, "options"),
                        f"option {digit!r} goes to {target!r}: a menu leads to a queue:ID or a user:EXT",
                    )
