"""X-Forwarded-For is believed only from the proxies given with --trusted-proxy (issue 14 #6/#5): login
failures count against the client's address, and by default anyone could write that header — uvicorn's own
default believes 127.0.0.1, so a local process could pick the address its failures count against."""

from __future__ import annotations

import httpx
import pytest
from limited_server import serving
from ws_helpers import TIMEOUT

from cti_tui.cli import build_parser
from cti_tui.server.limits import ServerLimits


async def refused_for_the_address(limits: ServerLimits) -> list[int]:
    """Wrong passwords for four different accounts, each claiming another address: the statuses."""
    statuses = []
    async with (
        serving(limits, failures_per_address=1, failures_per_account=100) as server,
        httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http,
    ):
        for n in range(4):
            response = await http.post(
                "/v1/login",
                json={"email": f"nobody{n}@demo.local", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{n + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted() -> None:
    assert 429 in await refused_for_the_address(ServerLimits())  # all four count against 127.0.0.1


async def test_a_trusted_proxy_passes_on_each_clients_address() -> None:
    assert await refused_for_the_address(ServerLimits(trusted_proxies=frozenset({"127.0.0.1"}))) == [401] * 4


@pytest.mark.parametrize("flags", [[], ["--trusted-proxy", "10.0.0.5", "--trusted-proxy", "10.1.0.0/16"]])
def test_the_serve_flag_names_the_proxies(flags: list[str]) -> None:
    args = build_parser().parse_args(["serve", *flags])
    assert args.trusted_proxy == flags[1::2]
