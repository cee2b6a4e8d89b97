"""Organisation files: errors name the file, the line and the field; a custom org loads and works."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from conftest import Pbx

from cti_tui.core.model import ActivityName, CallStatus, Cause, ErrorCode, Operation, Role
from cti_tui.pbx.org import OrgError, hash_password, load_demo, load_org, parse_org, verify_password

DEMO = resources.files("cti_tui.pbx").joinpath("demo.toml").read_text(encoding="utf-8")
HASH = hash_password("pw", "tiny-salt", 1000)

TINY = f"""\
[organisation]
name = "Tiny Co"
park_slots = 2

[[users]]
extension = "10"
name = "Ann"
email = "ann@tiny.test"
password_hash = "{HASH}"
number = "+12025550410"

[[users]]
extension = "11"
name = "Ben"
email = "ben@tiny.test"
role = "supervisor"
password_hash = "{HASH}"

[[queues]]
id = "help"
name = "Help desk"
extension = "50"
members = ["10"]
offer_timeout = 5
service_level_seconds = 30

[world]
inbound_per_minute = 0
colleagues = false
ring_seconds = 1

[[world.numbers]]
number = "+12025550499"
name = "Always Busy"
behaviour = "busy"
"""


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based number of the ``nth`` line containing ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) > nth, f"{needle!r} not in the text"
    return hits[nth]


def error_of(text: str, source: str = "org.toml") -> str:
    with pytest.raises(OrgError) as caught:
        parse_org(text, source)
    return str(caught.value)


def swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- errors name the line and the field ---------------------------------------------------------------------


def test_bad_extension() -> None:
    text = swap(DEMO, 'extension = "1003"', 'extension = "10a3"')
    line = line_of(text, 'extension = "10a3"')
    assert error_of(text) == f"org.toml:{line}: users[2].extension: an extension is 2–6 digits, got '10a3'"


@pytest.mark.parametrize("bad", ["1", "1234567", "", "12 3"])
def test_extension_shapes(bad: str) -> None:
    written = f'extension = "{bad}"'
    text = swap(TINY, 'extension = "11"', written)
    assert error_of(text).startswith(f"org.toml:{line_of(text, written)}: users[1].extension: ")


def test_service_level_target_must_be_positive() -> None:
    text = swap(TINY, "service_level_seconds = 30", "service_level_seconds = 0")
    line = line_of(text, "service_level_seconds = 0")
    assert error_of(text) == f"org.toml:{line}: queues[0].service_level_seconds: must be positive seconds"


def test_unknown_role() -> None:
    text = swap(DEMO, 'role = "supervisor"', 'role = "boss"')
    line = line_of(text, 'role = "boss"')
    assert error_of(text) == f"org.toml:{line}: users[8].role: expected agent or supervisor, got 'boss'"


def test_bad_behaviour_in_a_nested_array_of_tables() -> None:
    text = swap(DEMO, 'behaviour = "busy"', 'behaviour = "sometimes"')
    line = line_of(text, 'behaviour = "sometimes"')
    assert error_of(text) == (
        f"org.toml:{line}: world.numbers[1].behaviour: "
        "expected one of answer, busy, no_answer, unreachable, got 'sometimes'"
    )


def test_bad_rings_names_its_own_entry() -> None:
    text = swap(DEMO, "rings = 3", "rings = 300")
    assert error_of(text) == f"org.toml:{line_of(text, 'rings = 300')}: world.numbers[0].rings: expected 0–100, got 300"


def test_duplicate_extension_names_the_second_one() -> None:
    text = swap(DEMO, 'extension = "1003"', 'extension = "1002"')
    line = line_of(text, 'extension = "1002"', nth=1)
    assert error_of(text) == f"org.toml:{line}: users[2].extension: extension 1002 is used twice"


def test_a_queue_may_not_reuse_a_users_extension() -> None:
    text = swap(DEMO, 'extension = "6002"', 'extension = "1001"')
    line = line_of(text, 'extension = "1001"', nth=1)
    assert error_of(text) == f"org.toml:{line}: queues[1].extension: extension 1001 is used twice"


def test_nothing_may_take_the_park_extension() -> None:
    text = swap(DEMO, 'extension = "7000"', 'extension = "700"')
    line = line_of(text, 'extension = "700"', nth=1)  # nth=0 is park_extension itself
    assert error_of(text) == f"org.toml:{line}: conferences[0].extension: extension 700 is used twice"


def test_duplicate_email_names_the_second_one() -> None:
    text = swap(DEMO, 'email = "chloe@demo.local"', 'email = "AGENT@demo.local"')
    line = line_of(text, 'email = "AGENT@demo.local"')
    assert error_of(text) == f"org.toml:{line}: users[2].email: email AGENT@demo.local is used twice"


def test_unknown_queue_member() -> None:
    text = swap(DEMO, 'members = ["1001", "1002", "1003", "1004"]', 'members = ["1001", "1009"]')
    line = line_of(text, 'members = ["1001", "1009"]')
    assert error_of(text) == f"org.toml:{line}: queues[0].members: no user with extension '1009'"


def test_ivr_option_to_an_unknown_line() -> None:
    text = swap(DEMO, '"2" = "queue:support"', '"2" = "queue:nowhere"')
    line = line_of(text, "options = {")
    assert error_of(text) == f"org.toml:{line}: ivrs[0].options: option '2' goes to unknown line 'queue:nowhere'"


def test_toml_syntax_error_names_the_line() -> None:
    text = swap(DEMO, 'name = "Sales"', "name = Sales")
    line = line_of(text, "name = Sales")
    message = error_of(text, "custom.toml")
    assert message.startswith("custom.toml: not valid TOML: ")
    assert f"line {line}" in message


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("seed = 7", 'seed = "seven"', "world.seed", "expected int, got str 'seven'"),
        ("park_slots = 10", "park_slots = 0", "organisation.park_slots", "expected 1–999, got 0"),
        (
            "inbound_per_minute = 4.0",
            "inbound_per_minute = -1",
            "world.inbound_per_minute",
            "must not be negative",
        ),
        (
            'id = "sales"',
            'id = "sales team"',
            "queues[0].id",
            "use letters, digits, - and _ (1–32), got 'sales team'",
        ),
        ("menu_seconds = 6", 'menu_seconds = "six"', "ivrs[0].menu_seconds", "expected float, got str 'six'"),
        (
            'number = "+12025550112"',
            'number = "12345"',
            "users[1].number",
            "expected an E.164 number like +12025550100, got '12345'",
        ),
        ('email = "bruno@demo.local"', 'email = "bruno"', "users[1].email", "not an email address: 'bruno'"),
        (
            'totp_secret = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"',
            'totp_secret = "short"',
            "users[7].totp_secret",
            "expected a base32 secret (A–Z, 2–7, at least 16 chars)",
        ),
    ],
)
def test_field_errors(old: str, new: str, field: str, problem: str) -> None:
    text = swap(DEMO, old, new)
    assert error_of(text) == f"org.toml:{line_of(text, new)}: {field}: {problem}"


def test_missing_field_names_its_entry() -> None:
    text = swap(DEMO, 'email = "chloe@demo.local"\n', "")
    header = line_of(text, 'extension = "1003"') - 1
    assert error_of(text) == f"org.toml:{header}: users[2].email: missing"


def test_bad_password_hash() -> None:
    text = swap(TINY, f'password_hash = "{HASH}"\nnumber', 'password_hash = "plain"\nnumber')
    assert error_of(text).startswith(f"org.toml:{line_of(text, 'plain')}: users[0].password_hash: expected pbkdf2")


def test_unknown_role_table() -> None:
    text = TINY + '\n[roles.boss]\nwatch = ["*"]\n'
    assert error_of(text) == f"org.toml:{line_of(text, '[roles.boss]')}: roles.boss: roles are agent and supervisor"


def test_unknown_operation_in_a_role() -> None:
    text = TINY + '\n[roles.agent]\nact_on_watched = ["fly"]\n'
    message = error_of(text)
    assert message.startswith(f"org.toml:{line_of(text, 'act_on_watched')}: roles.agent.act_on_watched: ")
    assert "fly" in message


def test_bad_range_pair() -> None:
    text = swap(TINY, "ring_seconds = 1", "ring_seconds = 1\ntalk_seconds = [10, 5]")
    line = line_of(text, "talk_seconds")
    assert error_of(text) == f"org.toml:{line}: world.talk_seconds: expected 0 <= low <= high, got [10, 5]"


def test_no_users() -> None:
    assert error_of('[organisation]\nname = "Empty"\n') == (
        "org.toml: users: an organisation needs at least one [[users]] entry"
    )


def test_users_not_tables() -> None:
    assert error_of("users = 3\n") == "org.toml:1: users: expected [[users]] tables"


# --- files --------------------------------------------------------------------------------------------------


def test_load_org_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(OrgError, match=r"nope\.toml: cannot read"):
        load_org(path)


def test_load_org_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Café"'.encode("latin-1"))
    with pytest.raises(OrgError, match="not a UTF-8 text file"):
        load_org(path)


def test_load_org_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(swap(TINY, 'role = "supervisor"', 'role = "chief"'), encoding="utf-8")
    with pytest.raises(OrgError) as caught:
        load_org(path)
    assert str(caught.value).startswith(f"{path}:{line_of(path.read_text(), 'chief')}: users[1].role: ")


def test_the_demo_loads() -> None:
    org = load_demo()
    assert org.name == "Demo Call Center"
    assert [u.extension for u in org.users] == [
        "1001",
        "1002",
        "1003",
        "1004",
        "1005",
        "1006",
        "1007",
        "1008",
        "1100",
    ]
    agent = org.user_by_email("agent@demo.local")
    assert agent is not None and agent.check_password("demo") and not agent.check_password("Demo")
    assert agent.check_api_key("demo-api-key") and not agent.check_api_key("demo")
    assert org.user_by_extension("1100").role is Role.SUPERVISOR
    assert org.user_by_email("secure@demo.local").totp_secret
    assert (org.queue("sales").number, org.queue("sales").members) == (
        "+12025550120",
        ("1001", "1002", "1003", "1004"),
    )
    assert org.ivr("main").options == {"1": "queue:sales", "2": "queue:support"}
    assert org.conference("room1").extension == "7000"
    assert org.park_slots == 10
    assert {n.number: n.behaviour for n in org.world.numbers} == {
        "+12025550101": "answer",
        "+12025550102": "busy",
        "+12025550103": "no_answer",
        "+12025550104": "unreachable",
    }
    assert org.world.behaviour_of("+12025550177").behaviour == "answer"
    assert "callpark" in org.nodes() and "ivr:main" in org.nodes()


def test_passwords() -> None:
    stored = hash_password("secret", "salt", 1000)
    assert verify_password(stored, "secret")
    assert not verify_password(stored, "Secret")
    assert not verify_password("md5$1$salt$abc", "secret")
    assert not verify_password("garbage", "secret")


# --- a custom org works end to end --------------------------------------------------------------------------


def test_the_tiny_org_parses() -> None:
    org = parse_org(TINY, "tiny.toml")
    assert org.name == "Tiny Co"
    assert org.park_slots == 2
    assert org.park_extension == "700"
    assert [u.role for u in org.users] == [Role.AGENT, Role.SUPERVISOR]
    assert org.queue("help").offer_timeout == 5
    assert org.queue("help").service_level_seconds == 30.0
    assert org.ivrs == () and org.conferences == ()
    assert org.world.colleagues is False and org.world.ring_seconds == 1
    assert org.policies[Role.SUPERVISOR].act_on_watched >= {Operation.HANGUP}


async def test_a_custom_org_loads_and_works(tmp_path: Path, pbx_factory) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    pbx: Pbx = pbx_factory(load_org(path))
    ann = await pbx.login("ann@tiny.test", "pw")
    ben = await pbx.login("ben@tiny.test", "pw")
    assert ben.connector.identity.role is Role.SUPERVISOR
    # an internal call
    call_id = (await ann.connector.call("11")).value
    pbx.advance(1)
    (offered,) = ben.ringing()
    await ben.connector.answer(offered.id)
    assert ann.last(call_id).status is CallStatus.CONNECTED
    await ann.connector.terminate(call_id)
    # the world file's own numbers behave as written
    busy = (await ann.connector.call("+12025550499")).value
    pbx.advance(2)
    assert (ann.last(busy).status, ann.last(busy).cause) == (CallStatus.CANCEL, Cause.BUSY)
    # an unlisted number answers after the default 2 rings of 1 s
    await ann.connector.set_auto_answer(True)
    other = (await ann.connector.call("+12025550477")).value
    pbx.advance(1.99)
    assert ann.last(other).status is CallStatus.RINGING
    pbx.advance(0.01)
    assert ann.last(other).status is CallStatus.CONNECTED
    # a 2-slot park lot
    mark = len(ann.events)
    assert not await ann.connector.park(other, 3)
    assert (ann.events[mark].name, ann.events[mark].code) == (ActivityName.ERROR, ErrorCode.BAD_REQUEST)
    assert await ann.connector.park(other)
    assert ann.last(other).park_slot == 1
    assert await ben.connector.unpark(1)
    # the queue with its 5 s offer timeout
    await ben.connector.subscribe("queue:help")
    leg = pbx.exchange.inbound_call("+12025550111", "50")
    assert [c.id for c in ann.ringing()] == [leg.id]
    pbx.advance(5)
    assert ben.last(leg.id).line in ("queue:help", "user:10")  # back, then offered again to its only member
    assert pbx.exchange.legs[leg.id].live
    # the DID of a user rings that user
    direct = pbx.exchange.inbound_call("+12025550111", "+12025550410")
    assert direct.line == "user:10"


@pytest.mark.parametrize("target", ["conf:room1", "callpark", "ivr:main"])
def test_ivr_option_to_a_line_a_menu_cannot_route_to(target: str) -> None:
    text = swap(DEMO, '"2" = "queue:support"', f'"2" = "{target}"')
    line = line_of(text, "options = {")
    problem = f"option '2' goes to '{target}': a menu leads to a queue:ID or a user:EXT"
    assert error_of(text) == f"org.toml:{line}: ivrs[0].options: {problem}"


async def test_ivr_option_to_a_user(pbx_factory) -> None:
    text = swap(DEMO, '"2" = "queue:support"', '"2" = "user:1002"')
    text = swap(text, '"1" = "queue:sales", ', "")
    text = swap(text, "inbound_per_minute = 4.0", "inbound_per_minute = 0\ncolleagues = false")
    pbx: Pbx = pbx_factory(parse_org(text, "ivr.toml"))
    bruno = await pbx.login("bruno@demo.local")
    leg = pbx.exchange.inbound_call("+12025550199", "+12025550100", "Menu Caller")
    pbx.advance(6)
    (ringing,) = bruno.ringing()
    assert (ringing.id, ringing.line, ringing.source) == (leg.id, "user:1002", "+12025550199")
    await bruno.connector.answer(leg.id)
    assert bruno.last(leg.id).status is CallStatus.CONNECTED


@pytest.mark.parametrize(
    ("key", "value"),
    [("ring_seconds", "0"), ("no_answer_timeout", "-1"), ("pickup_seconds", "-0.5"), ("ring_seconds", "nan")],
)
def test_world_timings_must_be_usable(key: str, value: str) -> None:
    text = DEMO.replace("[world]\n", f"[world]\n{key} = {value}\n")
    with pytest.raises(OrgError) as caught:
        parse_org(text, "org.toml")
    assert f"world.{key}: expected" in str(caught.value)
    assert "org.toml:" in str(caught.value)
