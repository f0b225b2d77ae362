"""Leases in PostgreSQL: one claimer wins, expiry hands an outlet over, and three daemons
sharing one database crawl every outlet once per interval and take over a killed one's work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from db import outlets as outlet_rows
from scheduler.leases import pid_of
from tests.conftest import manifest_articles

STORED = [a for a in manifest_articles() if not a.get("excluded_by_since")]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
LEASE = timedelta(minutes=5)


@pytest.fixture
def outlet(conn: psycopg.Connection) -> str:
    outlet_rows.upsert_outlet(conn, name="one", title="One", homepage="https://one.example/", language="en",
                              wire=False, interval_seconds=600)
    conn.commit()
    return "one"


def test_of_many_concurrent_claimers_exactly_one_wins(dsn: str, outlet: str) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def claimer(i: int) -> None:
        with psycopg.connect(dsn) as c:
            barrier.wait(timeout=10)
            if outlet_rows.claim(c, name=outlet, owner=f"w{i}", now=T0, lease=LEASE):
                winners.append(f"w{i}")

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(winners) == 1


def test_a_lease_blocks_others_until_it_expires(conn: psycopg.Connection, outlet: str) -> None:
    assert outlet_rows.claim(conn, name=outlet, owner="a", now=T0, lease=LEASE)
    assert outlet_rows.claim(conn, name=outlet, owner="b", now=T0 + LEASE / 2, lease=LEASE, force=True) is None
    assert outlet_rows.renew_lease(conn, name=outlet, owner="a", now=T0 + LEASE / 2, lease=LEASE)
    assert outlet_rows.claim(conn, name=outlet, owner="b", now=T0 + LEASE, lease=LEASE) is None  # renewed
    taken = outlet_rows.claim(conn, name=outlet, owner="b", now=T0 + LEASE * 2, lease=LEASE)
    assert taken is not None and taken.lease_owner == "b"
    assert not outlet_rows.renew_lease(conn, name=outlet, owner="a", now=T0 + LEASE * 2, lease=LEASE)


def test_finishing_releases_the_lease_and_sets_the_due_time(conn: psycopg.Connection, outlet: str) -> None:
    assert outlet_rows.claim(conn, name=outlet, owner="a", now=T0, lease=LEASE)
    outcome = outlet_rows.CrawlOutcome(ok=True, error=None, consecutive_failures=0, failure_score=0, healthy=True,
                                       next_due_at=T0 + timedelta(minutes=10), poll_seconds=600, run_id=None)
    assert not outlet_rows.finish_crawl(conn, name=outlet, owner="b", now=T0, outcome=outcome)  # not b's
    assert outlet_rows.finish_crawl(conn, name=outlet, owner="a", now=T0, outcome=outcome)
    assert outlet_rows.claim(conn, name=outlet, owner="b", now=T0 + timedelta(minutes=5), lease=LEASE) is None
    assert outlet_rows.claim(conn, name=outlet, owner="b", now=T0 + timedelta(minutes=5), lease=LEASE, force=True)


class _SlowFeed(BaseHTTPRequestHandler):
    """A feed that takes a minute to answer: whoever crawls it holds its lease meanwhile."""

    def do_GET(self) -> None:
        if self.path == "/feed.xml":
            time.sleep(60)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_three_daemons_share_the_outlets(replay, cli_env, dsn: str, tmp_path: Path) -> None:
    from demo.outlets import outlets_toml

    slow = ThreadingHTTPServer(("127.0.0.1", 0), _SlowFeed)
    slow.daemon_threads = True
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    slow_base = f"http://127.0.0.1:{slow.server_address[1]}"
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(outlets_toml(replay.bases, interval="30s") + f'\n[[outlet]]\nname = "slow"\ntitle = "Slow"\n'
                       f'homepage = "{slow_base}/"\nlanguage = "en"\ninterval = "30s"\n'
                       f'feeds = ["{slow_base}/feed.xml"]\n')
    env = cli_env | {"WIREWATCH_SCHEDULE_LEASE_SECONDS": "4", "WIREWATCH_CRAWL_DOWNLOAD_TIMEOUT": "120",
                     "WIREWATCH_SCHEDULE_SHUTDOWN_SECONDS": "5"}
    procs = [subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "run"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    demo = sorted({a["outlet"] for a in manifest_articles()})

    def query(sql: str, params=None):
        with psycopg.connect(dsn) as c:
            return c.execute(sql, params).fetchall()

    try:
        # Every demo outlet crawled, every article stored once.
        _wait(lambda: query("SELECT count(DISTINCT outlet) FROM crawl_runs WHERE status = 'ok'")[0][0] == len(demo),
              90, "a first crawl of every outlet")
        _wait(lambda: query("SELECT count(*) FROM articles")[0][0] == len(STORED), 30, "every article")
        # The slow outlet is held by one daemon; kill that one mid-crawl.
        holder = _wait(lambda: query("SELECT lease_owner FROM outlets WHERE name = 'slow'")[0][0], 30,
                       "a lease on the slow outlet")
        victim = next(p for p in procs if p.pid == pid_of(holder))
        first_round = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        # Its lease expires (4 s) and another daemon takes the outlet over.
        new_holder = _wait(lambda: (o := query("SELECT lease_owner FROM outlets WHERE name = 'slow'")[0][0])
                           and o != holder and o, 30, "another daemon to take over the slow outlet")
        assert pid_of(new_holder) in {p.pid for p in procs if p is not victim}
        interrupted = query("SELECT count(*) FROM crawl_runs WHERE outlet = 'slow' AND error LIKE 'interrupted%%'")
        assert interrupted[0][0] == 1
        # A second round of the demo outlets, by the survivors: each outlet once per interval.
        _wait(lambda: query("SELECT min(n) FROM (SELECT count(*) AS n FROM crawl_runs WHERE outlet = ANY(%s) "
                            "GROUP BY outlet) r", (demo,))[0][0] >= 2, 90 - (time.monotonic() - first_round) + 30,
              "a second round")
        runs = query("SELECT outlet, started_at, owner, status, error FROM crawl_runs WHERE outlet = ANY(%s) "
                     "ORDER BY outlet, started_at", (demo,))
        for (o1, t1, *first), (o2, t2, *second) in zip(runs, runs[1:]):
            if o1 == o2:
                assert t2 - t1 >= timedelta(seconds=25), \
                    f"{o1} crawled twice within one interval: {t1} {first}, {t2} {second}"
        assert {pid_of(r[2]) for r in runs if r[2]} - {victim.pid} , "survivors crawled"
        assert query("SELECT count(*), count(DISTINCT url) FROM articles")[0] == (len(STORED), len(STORED))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        slow.shutdown()
    survivors = [p for p in procs if p is not victim]
    assert all(p.returncode == 0 for p in survivors), [p.stderr.read()[-2000:] for p in survivors]
