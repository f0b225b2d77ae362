"""`wirewatch serve`'s app on uvicorn (127.0.0.1) while PostgreSQL is unreachable: a TCP proxy in
front of it (tests/pg_proxy.py) is stopped, then started again."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.pg_proxy import PgProxy
from tests.test_api import running

OUTAGE_SECONDS = 8.0  # past the old pool's backoff steps of 1, 2 and 4 s


@pytest.fixture
def proxy(dsn: str):
    proxy = PgProxy(dsn)
    yield proxy
    proxy.close()


def timed(client: httpx.Client, method: str, path: str) -> tuple[float, httpx.Response | None]:
    start = time.perf_counter()
    try:
        response = client.request(method, path)
    except httpx.TimeoutException:
        response = None
    return time.perf_counter() - start, response


def test_healthz_and_the_api_answer_fast_through_an_outage_and_recover_at_once(proxy: PgProxy) -> None:
    with running(proxy.dsn) as base, httpx.Client(base_url=base, timeout=5) as client:
        with ThreadPoolExecutor(4) as workers:  # the pool holds its 4 connections when the outage starts
            assert {r.status_code for _, r in workers.map(lambda _: timed(client, "GET", "/api/outlets"),
                                                          range(20))} == {200}
        assert client.head("/healthz").status_code == 200
        proxy.stop()
        down_at = time.monotonic()
        health, api = [], []
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            health += [timed(client, "GET", "/healthz"), timed(client, "HEAD", "/healthz")]
            api.append(timed(client, "GET", "/api/search?q=Lavrov"))
        proxy.start()
        back_at = time.monotonic()
        recovered = None
        while recovered is None and time.monotonic() - back_at < 10:
            _, response = timed(client, "GET", "/api/outlets")
            if response is not None and response.status_code == 200:
                recovered = time.monotonic() - back_at
            time.sleep(0.05)
        after = client.get("/healthz")

    assert all(r is not None for _, r in health + api), "a request timed out during the outage"
    assert max(t for t, _ in health) < 1.0, sorted(t for t, _ in health)[-3:]
    assert {r.status_code for _, r in health} == {503}
    body = next(r for _, r in health if r.request.method == "GET").json()
    assert body["status"] == "degraded" and body["database"] == "unreachable" and "refused" in body["error"]
    assert max(t for t, _ in api) < 2.5, sorted(t for t, _ in api)[-3:]
    assert {r.status_code for _, r in api} == {503}
    assert "unavailable" in api[0][1].json()["error"]
    assert recovered is not None and recovered < 5.0, recovered
    assert after.status_code == 200 and after.json() == {"status": "ok", "database": "ok"}
