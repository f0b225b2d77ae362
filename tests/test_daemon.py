"""The daemon stops cleanly with work in flight and loses nothing to kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.test_conditional_get import Site

ITEMS = [1, 2, 3, 4, 5, 6]


@pytest.fixture
def slow_site():
    site = Site(validators=True)
    site.items = ITEMS
    site.delay = 1.5
    yield site
    site.close()


def start_daemon(site: Site, env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.Popen:
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(f'[[outlet]]\nname = "harbour"\ntitle = "Harbour"\nhomepage = "{site.base}/"\n'
                       f'language = "en"\ninterval = "1h"\nfeeds = ["{site.base}/feed.xml"]\n')
    return launch(outlets, env, *args)


def launch(outlets: Path, env: dict[str, str], *args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`wirewatch --outlets OUTLETS run ARGS` as a child process (killed by the caller)."""
    return subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "run", *args],
                            env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def articles(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()


def runs(dsn: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT status, error FROM crawl_runs ORDER BY id").fetchall()


def test_sigterm_lets_in_flight_articles_finish_and_exits_0(slow_site: Site, cli_env, dsn: str,
                                                              tmp_path: Path) -> None:
    env = cli_env | {"WIREWATCH_CRAWL_PER_DOMAIN_CONCURRENCY": "1", "WIREWATCH_SCHEDULE_SHUTDOWN_SECONDS": "20"}
    daemon = start_daemon(slow_site, env, tmp_path)
    try:
        wait_for(lambda: any(p.startswith("/story/") for p in slow_site.arrived), 60, "an article in flight")
        in_flight = [p for p in slow_site.arrived if p.startswith("/story/")]
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert daemon.wait(timeout=30) == 0, daemon.stderr.read()
        assert time.monotonic() - started < 25
    finally:
        if daemon.poll() is None:
            daemon.kill()
    stderr = daemon.stderr.read()
    assert "Traceback" not in stderr and "wirewatch stopped" in stderr, stderr
    stored, distinct = articles(dsn)
    assert stored == distinct and stored >= len(in_flight)  # what was being fetched was finished and committed
    assert stored < len(ITEMS)  # and no new work was taken
    with psycopg.connect(dsn) as conn:
        lease, due = conn.execute("SELECT lease_owner, next_due_at FROM outlets WHERE name = 'harbour'").fetchone()
        assert lease is None  # released at once, not left to expire

    # The next run picks up the rest: the feed is fetched in full (validators not kept).
    slow_site.delay = 0
    again = start_daemon(slow_site, cli_env, tmp_path, "--once")
    assert again.wait(timeout=90) == 0, again.stderr.read()
    assert articles(dsn) == (len(ITEMS), len(ITEMS))


def test_kill_9_mid_crawl_loses_nothing_committed(slow_site: Site, cli_env, dsn: str, tmp_path: Path) -> None:
    env = cli_env | {"WIREWATCH_CRAWL_PER_DOMAIN_CONCURRENCY": "1"}
    daemon = start_daemon(slow_site, env, tmp_path)
    try:
        wait_for(lambda: articles(dsn)[0] >= 2, 60, "two stored articles")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    before = articles(dsn)[0]
    assert 2 <= before < len(ITEMS)
    assert runs(dsn) == [("running", None)]

    slow_site.delay = 0
    # A lease of a dead process on this host is released at start-up, not after its expiry.
    again = start_daemon(slow_site, cli_env, tmp_path, "--once")
    assert again.wait(timeout=90) == 0, again.stderr.read()
    assert articles(dsn) == (len(ITEMS), len(ITEMS))
    assert runs(dsn)[0] == ("failed", "interrupted: the crawling process died") and runs(dsn)[1][0] == "ok"
    fetched = [p for p in slow_site.arrived if p.startswith("/story/")]
    assert len(fetched) - len(set(fetched)) <= 1  # at most the page in flight at the kill is fetched twice
