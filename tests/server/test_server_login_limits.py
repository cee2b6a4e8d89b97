"""Login limits that punish the right people (issue 14, item 4).

Only failures count, per account and per address, each with exponential back-off and ``Retry-After`` on 429:
a thousand agents behind one NAT log in freely, six wrong passwords lock that account and nobody else. Logins
must be JSON (415 otherwise) and browsers from other origins are refused (403). Password hashing runs on
threads, never on the event loop, and an unknown email costs the same hash as a known one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pyotp
from conftest import quiet_demo
from limited_server import serving
from wire_attacks import Raw

from cti_tui.core import commands as cmd
from cti_tui.core.clock import VirtualClock
from cti_tui.pbx.auth import Authenticator
from cti_tui.pbx.bigorg import EMAIL_DOMAIN, generate_org
from cti_tui.server.limits import ServerLimits
from cti_tui.server.throttle import BUSY_RETRY, LoginThrottle

TOTP_SECRET = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"
AGENT = {"email": "agent@demo.local", "password": "demo"}
WRONG = {"email": "agent@demo.local", "password": "guess"}


def too_many(response: httpx.Response) -> float:
    """The Retry-After of a 429 too_many_attempts (fails on anything else)."""
    assert response.status_code == 429, (response.status_code, response.text)
    body = response.json()
    assert (body["status"], body["code"]) == (429, "too_many_attempts") and body["message"], body
    return float(response.headers["retry-after"])


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def fake_time(server: Any) -> FakeTime:
    now = FakeTime()
    server.hub.account_failures.now = now
    server.hub.address_failures.now = now
    return now


# --- per account ----------------------------------------------------------------------------------------------


async def test_six_wrong_passwords_lock_that_account_and_no_one_else(cti_server) -> None:
    """Before: every attempt counted, 5 a minute per account and 20 per address, right or wrong, and 429 said
    nothing about when to come back."""
    server = await cti_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for _ in range(6):
            assert (await http.post("/api/login", json=WRONG)).status_code == 401
        wait = too_many(await http.post("/api/login", json=AGENT))  # even the right password
        assert 25 <= wait <= 30, wait
        # the account key ignores case and spaces
        too_many(await http.post("/api/login", json={"email": " AGENT@demo.local ", "password": "demo"}))
        # the same address logs everybody else in
        for email in ("bruno@demo.local", "supervisor@demo.local"):
            assert (await http.post("/api/login", json={"email": email, "password": "demo"})).status_code == 200
        assert (await http.post("/api/login", json={"apiKey": "demo-api-key"})).status_code == 200


async def test_the_lock_doubles_with_each_failure_and_a_success_forgets(cti_server) -> None:
    server = await cti_server()
    now = fake_time(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for _ in range(6):
            await http.post("/api/login", json=WRONG)
        assert too_many(await http.post("/api/login", json=WRONG)) == 30
        now.t += 30
        assert (await http.post("/api/login", json=WRONG)).status_code == 401  # one guess per lock ...
        assert too_many(await http.post("/api/login", json=WRONG)) == 60  # ... and the next lock is twice as long
        now.t += 60
        assert (await http.post("/api/login", json=AGENT)).status_code == 200
        for _ in range(5):  # the right password forgot the failures: five free ones again
            assert (await http.post("/api/login", json=WRONG)).status_code == 401


async def test_a_burst_of_guesses_gets_no_more_than_the_guesses_left(cti_server) -> None:
    """Twenty wrong passwords sent at once: the account had five free failures, so at most five (and the one
    that locks it) are checked; the others wait, told for how long."""
    server = await cti_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        answers = await asyncio.gather(*(http.post("/api/login", json=WRONG) for _ in range(20)))
    checked = [a for a in answers if a.status_code == 401]
    assert 1 <= len(checked) <= 6, [a.status_code for a in answers]
    assert all(too_many(a) > 0 for a in answers if a.status_code != 401)


# --- per address ----------------------------------------------------------------------------------------------


def from_address(address: str, base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=5, transport=httpx.AsyncHTTPTransport(local_address=address))


async def test_an_address_that_fails_too_often_is_locked_for_every_account() -> None:
    async with (
        serving(failures_per_address=3) as server,
        from_address("127.0.0.1", server.url) as http,
        from_address("127.0.0.2", server.url) as other,
    ):
        for name in ("agent", "bruno", "chloe", "dmitri"):  # one failure each: no account is near its limit
            wrong = {"email": f"{name}@demo.local", "password": "x"}
            assert (await http.post("/api/login", json=wrong)).status_code == 401
        assert too_many(await http.post("/api/login", json={"email": "elena@demo.local", "password": "demo"})) == 30
        assert too_many(await http.post("/api/login", json={"apiKey": "demo-api-key"})) == 30
        assert too_many(await http.post("/api/2fa", json={"nonce": "n", "code": "123456"})) == 30
        assert (await other.post("/api/login", json=AGENT)).status_code == 200  # another address is not


async def test_api_keys_count_failures_per_address_and_not_successes() -> None:
    async with serving(failures_per_address=3) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for _ in range(10):
            assert (await http.post("/api/login", json={"apiKey": "demo-api-key"})).status_code == 200
        for _ in range(4):
            assert (await http.post("/api/login", json={"apiKey": "demo-api-kez"})).status_code == 401
        too_many(await http.post("/api/login", json={"apiKey": "demo-api-key"}))


async def test_a_thousand_agents_log_in_from_one_address_within_a_minute() -> None:
    """One office behind one NAT at 9 o'clock (before: 20 a minute per address; 1,000 agents needed 56
    addresses). 1,000 different accounts, 16 at a time, all from 127.0.0.1."""
    org = generate_org(1000, rate=0.0)
    org = dataclasses.replace(org, world=dataclasses.replace(org.world, colleagues=False))
    async with serving(org=org) as server:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(1000):
                queue.put_nowait(n)
            codes: list[int] = []

            async def agent() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    body = {"email": f"agent{n}@{EMAIL_DOMAIN}", "password": "demo"}
                    codes.append((await http.post("/api/login", json=body)).status_code)

            started = time.monotonic()
            await asyncio.wait_for(asyncio.gather(*(agent() for _ in range(16))), 60)
            seconds = time.monotonic() - started
    assert codes == [200] * 1000, {code: codes.count(code) for code in set(codes)}
    assert seconds < 60, seconds


# --- two-factor -----------------------------------------------------------------------------------------------


async def test_wrong_codes_count_against_the_account_and_a_new_nonce_brings_no_new_guesses(cti_server) -> None:
    server = await cti_server(speed=1.0)
    secure = {"email": "secure@demo.local", "password": "demo"}
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        right = pyotp.TOTP(TOTP_SECRET).at(server.clock.now())
        wrong = "000000" if right != "000000" else "111111"
        nonce = (await http.post("/api/login", json=secure)).json()["nonce"]
        assert (await http.post("/api/2fa", json={"nonce": nonce, "code": wrong})).status_code == 401
        assert (await http.post("/api/2fa", json={"nonce": nonce, "code": right})).status_code == 200
        # the right code forgot that failure; now guess: 5 codes use up the nonce (and the free failures) ...
        nonce = (await http.post("/api/login", json=secure)).json()["nonce"]
        for _ in range(5):
            assert (await http.post("/api/2fa", json={"nonce": nonce, "code": wrong})).status_code == 401
        # ... the right password gives a new nonce, but no new guesses: the next wrong code locks the account
        nonce = (await http.post("/api/login", json=secure)).json()["nonce"]
        assert (await http.post("/api/2fa", json={"nonce": nonce, "code": wrong})).status_code == 401
        too_many(await http.post("/api/2fa", json={"nonce": nonce, "code": right}))
        too_many(await http.post("/api/login", json=secure))


# --- what a web page can do: post text/plain, and say where it comes from ---------------------------------------


async def test_a_login_that_is_not_json_is_refused_with_415(cti_server) -> None:
    """A page can make the browser post text/plain or a form anywhere without asking; not application/json.
    (Before: a text/plain body with JSON in it logged in, or counted against the account.)"""
    server = await cti_server()
    body = b'{"email": "agent@demo.local", "password": "demo"}'
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for path in ("/api/login", "/api/2fa"):
            for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
                headers = {"content-type": content_type} if content_type else {}
                response = await http.post(path, content=body, headers=headers)
                assert response.status_code == 415, (path, content_type, response.text)
                assert response.json()["code"] == "unsupported_media_type"
        ok = await http.post("/api/login", content=body, headers={"content-type": "Application/JSON; charset=utf-8"})
        assert ok.status_code == 200
    assert server.hub.account_failures.failures("account:agent@demo.local") == 0


async def test_browsers_from_other_origins_are_refused() -> None:
    limits = ServerLimits(allowed_origins=frozenset({"https://desk.example.com"}))
    async with serving(limits) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            for origin in ("https://evil.example", "null", server.url):  # its own address is no exception
                response = await http.post("/api/login", json=AGENT, headers={"origin": origin})
                assert response.status_code == 403, (origin, response.text)
                assert response.json() == {
                    "status": 403,
                    "code": "origin_not_allowed",
                    "message": "this origin may not use the server",
                }
            allowed = await http.post("/api/login", json=AGENT, headers={"origin": "https://desk.example.com"})
            assert allowed.status_code == 200
            assert (await http.post("/api/login", json=AGENT)).status_code == 200  # no Origin: not a browser
        port = int(server.url.rsplit(":", 1)[1])
        for origin, status in (("https://evil.example", 403), ("https://DESK.example.com", 101), (None, 101)):
            raw = await Raw.connect(port)
            try:
                assert await raw.upgrade(origin=origin) == status, origin
            finally:
                raw.close()


# --- hashing: off the loop, and the same for unknown users ------------------------------------------------------


class Recording:
    """An authenticator that notes the thread of each call (and can hold calls until released)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.threads: list[int] = []
        self.release = threading.Event()
        self.release.set()

    def authenticate(self, credentials: cmd.Credentials) -> cmd.AuthOutcome:
        self.threads.append(threading.get_ident())
        assert self.release.wait(10)
        return self.inner.authenticate(credentials)

    def two_factor_auth(self, nonce: str, code: str) -> cmd.AuthOutcome:
        self.threads.append(threading.get_ident())
        return self.inner.two_factor_auth(nonce, code)


async def test_passwords_are_checked_off_the_event_loop(cti_server) -> None:
    """Before: PBKDF2 ran on the loop, and at 121 logins/s every session's ping rose to 122 ms p50."""
    server = await cti_server()
    recording = server.hub.authenticator = Recording(server.hub.authenticator)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        assert (await http.post("/api/login", json=AGENT)).status_code == 200
        assert (await http.post("/api/login", json=WRONG)).status_code == 401
        await http.post("/api/2fa", json={"nonce": "n", "code": "1"})
    assert len(recording.threads) == 3
    assert threading.get_ident() not in recording.threads  # the test's thread is the server's loop


async def test_logins_waiting_for_a_thread_are_bounded() -> None:
    async with serving(max_pending_logins=2, hash_workers=1) as server:
        recording = server.hub.authenticator = Recording(server.hub.authenticator)
        recording.release.clear()  # every check waits
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            held = [asyncio.ensure_future(http.post("/api/login", json=AGENT)) for _ in range(2)]
            await wait_until(lambda: server.hub.pending_logins == 2)
            busy = await http.post("/api/login", json={"email": "bruno@demo.local", "password": "demo"})
            assert busy.status_code == 503 and busy.json()["code"] == "server_busy"
            assert busy.headers["retry-after"] == "1"
            recording.release.set()
            assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def counting_pbkdf2(monkeypatch) -> list[int]:
    """Every PBKDF2 computation from now on, by its iteration count."""
    calls: list[int] = []
    real = hashlib.pbkdf2_hmac

    def pbkdf2_hmac(name: str, password: bytes, salt: bytes, iterations: int, *rest: Any) -> bytes:
        calls.append(iterations)
        return real(name, password, salt, iterations, *rest)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", pbkdf2_hmac)
    return calls


def test_an_unknown_email_costs_the_same_hash_as_a_known_one(monkeypatch) -> None:
    """Before: an unknown user was answered without hashing (2.3 ms against 7.0 ms): timing told who exists."""
    auth = Authenticator(quiet_demo(), VirtualClock())
    calls = counting_pbkdf2(monkeypatch)
    known = auth.authenticate(cmd.PasswordLogin("agent@demo.local", "guess"))
    unknown = auth.authenticate(cmd.PasswordLogin("nobody@demo.local", "guess"))
    assert known == unknown  # the same answer ...
    assert calls == [20_000, 20_000]  # ... after the same work (the demo's hashes have 20,000 rounds)
    assert isinstance(auth.authenticate(cmd.PasswordLogin("agent@demo.local", "demo")), cmd.LoggedIn)


async def test_over_http_an_unknown_email_is_hashed_too(cti_server, monkeypatch) -> None:
    server = await cti_server()
    calls = counting_pbkdf2(monkeypatch)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        answer = await http.post("/api/login", json={"email": "nobody@demo.local", "password": "demo"})
    assert answer.status_code == 401 and answer.json()["message"] == "wrong email or password"
    assert calls == [20_000]


# --- the throttle itself ------------------------------------------------------------------------------------------


def test_throttle_counts_failures_and_backs_off_exponentially() -> None:
    now = FakeTime()
    throttle = LoginThrottle(2, base=10, cap=35, forget_after=100, now=now)
    for _ in range(2):
        assert throttle.wait("a") is None
        throttle.begin("a")
        throttle.end("a", failed=True)
    assert throttle.wait("a") is None  # two free failures, no lock yet
    throttle.begin("a")
    throttle.end("a", failed=True)
    assert throttle.wait("a") == 10
    assert throttle.wait("b") is None  # keys are independent
    for lock in (20, 35, 35):  # doubled, up to the cap
        now.t += 35
        throttle.begin("a")
        throttle.end("a", failed=True)
        assert throttle.wait("a") == lock
    now.t += 35 + 99  # the last lock (35 s) is over, then 99 s of quiet
    assert throttle.failures("a") == 6
    now.t += 1  # 100 s after the end of the last lock: forgotten
    assert throttle.failures("a") == 0 and throttle.wait("a") is None


def test_waiting_out_a_lock_does_not_bring_the_free_failures_back() -> None:
    """At best ~8 guesses an hour at one account, whatever the guesser's rhythm (see docs/security.md)."""
    now = FakeTime()
    throttle = LoginThrottle(5, now=now)
    for _ in range(6):
        throttle.begin("a")
        throttle.end("a", failed=True)
    now.t += 30 + 3599  # the lock, then just under an hour of quiet: the failures are still counted
    throttle.begin("a")
    throttle.end("a", failed=True)
    assert throttle.wait("a") == 60


def test_throttle_bounds_attempts_under_way_and_keys_kept() -> None:
    now = FakeTime()
    throttle = LoginThrottle(3, now=now, max_keys=10)
    for _ in range(3):
        throttle.begin("a")
    assert throttle.wait("a") == BUSY_RETRY  # three in flight: as many as it has failures left
    throttle.end("a", failed=False)
    assert throttle.wait("a") is None
    for n in range(50):  # made-up accounts: the oldest are dropped past max_keys
        throttle.begin(f"spray{n}")
        throttle.end(f"spray{n}", failed=True)
    assert len(throttle._failures) == 10
    assert throttle.failures("spray49") == 1 and throttle.failures("spray0") == 0
    throttle.succeeded("spray49")
    assert throttle.failures("spray49") == 0
