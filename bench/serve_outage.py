"""`wirewatch serve` through a database outage: how fast /healthz and the API answer while
PostgreSQL is unreachable, and how soon after its return the API answers 200 again.

The app runs on uvicorn on 127.0.0.1 (port 0) over a TCP proxy in front of PostgreSQL
(tests/pg_proxy.py), which is stopped for --outage seconds and started again. Before the
outage, --clients concurrent clients fill the pool. Targets (issue 19, item 8): /healthz
within 1 s whatever the database does, other requests 503 within about 2 s during the outage,
the first 200 within 5 s of the return. Issue 19 measured the old pool settings at 30.0 s per
request during the outage and about 2 min of 503 after it.

    python bench/serve_outage.py [--outage 10] [--clients 4] [--dsn postgresql://...]

Without --dsn (or WIREWATCH_DATABASE_URL) an embedded PostgreSQL is started in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from db.connect import embedded_dsn  # noqa: E402
from db.migrate import migrate  # noqa: E402
from tests.pg_proxy import PgProxy  # noqa: E402
from tests.test_api import running  # noqa: E402

# Every wait below is bounded: a request by the client timeout, the recovery by this.
CLIENT_TIMEOUT = 40.0
RECOVERY_LIMIT = 180.0


def timed(client: httpx.Client, method: str, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    try:
        status = client.request(method, path).status_code
    except httpx.TimeoutException:
        status = 0
    return time.perf_counter() - start, status


def measure(dsn: str, outage: float, clients: int) -> dict[str, float | int]:
    proxy = PgProxy(dsn)
    try:
        with running(proxy.dsn) as base, httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT) as client:
            with ThreadPoolExecutor(clients) as workers:  # the pool grows to its size before the outage
                assert all(s == 200 for _, s in workers.map(lambda _: timed(client, "GET", "/api/outlets"),
                                                              range(clients * 5)))
            proxy.stop()
            down_at = time.monotonic()
            health, api, head = [], [], []
            while time.monotonic() - down_at < outage:
                health.append(timed(client, "GET", "/healthz"))
                head.append(timed(client, "HEAD", "/healthz"))
                api.append(timed(client, "GET", "/api/outlets"))
            proxy.start()
            back_at = time.monotonic()
            first_ok = None
            while time.monotonic() - back_at < RECOVERY_LIMIT:
                if timed(client, "GET", "/api/outlets")[1] == 200:
                    first_ok = time.monotonic() - back_at
                    break
                time.sleep(0.05)
            healthy_after = timed(client, "GET", "/healthz")
    finally:
        proxy.close()
    return {
        "outage_s": outage,
        "healthz_requests": len(health),
        "healthz_statuses": sorted({s for _, s in health + head}),
        "healthz_p50_s": statistics.median(t for t, _ in health),
        "healthz_max_s": max(t for t, _ in health + head),
        "api_requests": len(api),
        "api_statuses": sorted({s for _, s in api}),
        "api_p50_s": statistics.median(t for t, _ in api),
        "api_max_s": max(t for t, _ in api),
        "first_200_after_return_s": first_ok if first_ok is not None else float("inf"),
        "healthz_after_return": healthy_after[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=10.0, help="Seconds the database is unreachable.")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients before the outage.")
    parser.add_argument("--dsn", default=os.environ.get("WIREWATCH_DATABASE_URL"))
    args = parser.parse_args()
    dsn = args.dsn or embedded_dsn(Path(tempfile.mkdtemp(prefix="ww-bench-")) / "data", stop_on_exit=True)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    figures = measure(dsn, args.outage, args.clients)
    print(f"database unreachable for {figures['outage_s']:g} s:")
    print(f"  /healthz (GET and HEAD): {figures['healthz_requests']} GETs, statuses {figures['healthz_statuses']}, "
          f"p50 {figures['healthz_p50_s'] * 1000:.0f} ms, max {figures['healthz_max_s'] * 1000:.0f} ms")
    print(f"  /api/outlets: {figures['api_requests']} requests, statuses {figures['api_statuses']}, "
          f"p50 {figures['api_p50_s'] * 1000:.0f} ms, max {figures['api_max_s'] * 1000:.0f} ms")
    print(f"database back: first 200 from /api/outlets after {figures['first_200_after_return_s']:.2f} s; "
          f"/healthz then {figures['healthz_after_return']}")


if __name__ == "__main__":
    main()
