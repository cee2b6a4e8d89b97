"""GET /api/history on a real `cti-tui serve`: pages newest first, filters, and a search of a big history
counted only so far (a search matching most of a million rows used to be counted to the end, seconds long,
on the loop that carries every session's events)."""

from __future__ import annotations

import httpx

from tests.server.ws_helpers import login_token
from tests.store.test_history import make_call

LINE = "user:1001"
MANY = 20_005  # more than the 20,000 a search is counted to


async def test_pages_filters_and_a_big_search_counted_only_so_far(cti_server) -> None:
    server = await cti_server()
    calls = (make_call(f"c{index:05d}", minute=index, line=LINE, party_name=f"Ada {index}") for index in range(MANY))
    assert server.history.record_many(calls, LINE) == MANY
    server.history.record_many([make_call("z1", minute=MANY + 1, line=LINE, party_name="Zed", connected=False)], LINE)
    token = await login_token(server.url, "agent@demo.local")
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

        async def history(**params: object) -> dict:
            response = await http.get("/api/history", params=params, headers=bearer)
            assert response.status_code == 200, response.text
            return response.json()

        first = await history(limit=3)
        assert (first["total"], first["totalExact"]) == (MANY + 1, True)
        assert [row["id"] for row in first["rows"]] == ["z1", f"c{MANY - 1:05d}", f"c{MANY - 2:05d}"]
        missed = await history(outcome="missed")
        assert (missed["total"], [row["partyName"] for row in missed["rows"]]) == (1, ["Zed"])
        big = await history(search="Ada", limit=5, offset=20_000)
        assert big["totalExact"] is False and big["total"] >= 20_000
        assert [row["id"] for row in big["rows"]] == [f"c{index:05d}" for index in (4, 3, 2, 1, 0)]
        small = await history(search="Ada 1234")
        assert small["totalExact"] is True and small["total"] == 1 + 10  # "Ada 1234" and "Ada 12340".."12349"
        none = await history(search="nobody")
        assert (none["total"], none["totalExact"], none["rows"]) == (0, True, [])
