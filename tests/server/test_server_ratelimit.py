"""Login attempts are rate-limited per account and per address: 429 too_many_attempts (SPEC §4).

The limits count every attempt in a sliding window of the server's clock (5 per account, 20 per address,
60 s). These servers run at speed 1 so the window is a real minute; one test shortens it to see it reopen.
"""

from __future__ import annotations

import asyncio

import httpx
import pyotp

from cti_tui.core.clock import VirtualClock
from cti_tui.server.sessions import RateLimiter

TOTP_SECRET = "IIDSOVZMMF5MQLLU6SXN6M52XUGGFCXN"


def too_many(response: httpx.Response) -> bool:
    if response.status_code != 429:
        return False
    body = response.json()
    assert (body["status"], body["code"]) == (429, "too_many_attempts"), body
    return True


async def test_per_account_limit_refuses_even_the_right_password(cti_server) -> None:
    server = await cti_server(speed=1.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for _ in range(4):
            wrong = await http.post("/api/login", json={"email": "agent@demo.local", "password": "guess"})
            assert wrong.status_code == 401
        ok = await http.post("/api/login", json={"email": "agent@demo.local", "password": "demo"})
        assert ok.status_code == 200  # the 5th attempt is still allowed
        for password in ("guess", "demo"):
            assert too_many(await http.post("/api/login", json={"email": "agent@demo.local", "password": password}))
        # the account key ignores case and spaces; other accounts are not affected
        assert too_many(await http.post("/api/login", json={"email": " AGENT@demo.local ", "password": "demo"}))
        other = await http.post("/api/login", json={"email": "bruno@demo.local", "password": "demo"})
        assert other.status_code == 200
        # the token issued before the limit still opens a session: limiting logins ends nobody's work
        assert ok.json()["token"] in server.hub.tokens


async def test_per_address_limit_across_accounts(cti_server) -> None:
    server = await cti_server(speed=1.0)
    emails = [f"{name}@demo.local" for name in ("agent", "bruno", "chloe", "dmitri", "elena", "farid", "grace")]
    statuses = []
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        for attempt in range(21):
            email = emails[attempt % len(emails)]  # at most 3 per account: under the account limit
            statuses.append((await http.post("/api/login", json={"email": email, "password": "x"})).status_code)
        assert statuses[:20] == [401] * 20
        assert statuses[20] == 429
        # the address is blocked whatever it tries, API keys and 2FA codes included
        assert too_many(await http.post("/api/login", json={"email": "supervisor@demo.local", "password": "demo"}))
        assert too_many(await http.post("/api/login", json={"apiKey": "demo-api-key"}))
        assert too_many(await http.post("/api/2fa", json={"nonce": "n", "code": "123456"}))


async def test_the_window_reopens(cti_server) -> None:
    server = await cti_server(speed=1.0)
    server.hub.per_account.window = 0.5
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        body = {"email": "agent@demo.local", "password": "demo"}
        started = server.clock.now()
        codes = [(await http.post("/api/login", json=body)).status_code for _ in range(6)]
        if (server.clock.now() - started).total_seconds() < 0.5:  # else the first attempt left the window
            assert codes == [200] * 5 + [429]
        await asyncio.sleep(0.6)
        assert (await http.post("/api/login", json=body)).status_code == 200


async def test_two_factor_codes_are_limited_too(cti_server) -> None:
    server = await cti_server(speed=1.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        challenge = (await http.post("/api/login", json={"email": "secure@demo.local", "password": "demo"})).json()
        nonce = challenge["nonce"]
        right = pyotp.TOTP(TOTP_SECRET).at(server.clock.now())
        wrong = "000000" if right != "000000" else "111111"
        first = await http.post("/api/2fa", json={"nonce": nonce, "code": wrong})
        assert (first.status_code, first.json()["code"]) == (401, "invalid_credentials")
        done = await http.post("/api/2fa", json={"nonce": nonce, "code": right})
        assert done.status_code == 200 and done.json()["identity"]["email"] == "secure@demo.local"
        # guessing codes for one nonce hits the limit (or the PBX gives the nonce up first)
        challenge = (await http.post("/api/login", json={"email": "secure@demo.local", "password": "demo"})).json()
        answers = [
            (await http.post("/api/2fa", json={"nonce": challenge["nonce"], "code": wrong})).status_code
            for _ in range(7)
        ]
        assert 200 not in answers and answers[-1] in (401, 429), answers
        assert 429 in answers, answers


async def test_api_key_logins_are_limited(cti_server) -> None:
    server = await cti_server(speed=1.0)
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        codes = [(await http.post("/api/login", json={"apiKey": "demo-api-key"})).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_rate_limiter_slides_with_the_clock() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, limit=2, window=10.0)
    assert limiter.allow("a") and limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")
    clock.advance(9.9)
    assert not limiter.allow("a")
    clock.advance(0.1)
    assert limiter.allow("a")
    assert limiter.allow("a")
    assert not limiter.allow("a")
