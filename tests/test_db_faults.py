"""PostgreSQL stopped and restarted under a crawl (a TCP proxy in front of it is stopped and
started), and an embedded server killed with -9 that must start again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.pg_proxy import PgProxy
from tests.test_conditional_get import Site
from tests.test_daemon import ITEMS, articles, launch, start_daemon, wait_for


@pytest.fixture
def proxy(dsn: str):
    proxy = PgProxy(dsn)
    yield proxy
    proxy.close()


def test_a_database_restart_mid_crawl_loses_and_doubles_nothing(proxy: PgProxy, dsn: str, cli_env,
                                                                 tmp_path: Path) -> None:
    site = Site(validators=True)
    site.items = ITEMS
    site.delay = 0.5
    try:
        env = cli_env | {"WIREWATCH_DATABASE_URL": proxy.dsn, "WIREWATCH_CRAWL_PER_DOMAIN_CONCURRENCY": "1"}
        daemon = start_daemon(site, env, tmp_path, "--once")
        try:
            wait_for(lambda: articles(dsn)[0] >= 1, 60, "a first stored article")
            proxy.stop()  # the database "goes away" with the crawl in flight
            time.sleep(3)
            proxy.start()
            assert daemon.wait(timeout=90) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
        stderr = daemon.stderr.read()
    finally:
        site.close()
    assert articles(dsn) == (len(ITEMS), len(ITEMS)), stderr  # the same archive as an undisturbed crawl
    assert "Connection refused" in stderr  # the outage was real and seen; the store waited it out
    assert "Traceback" not in stderr, stderr


def test_an_embedded_server_killed_with_9_starts_again(tmp_path: Path) -> None:
    pgdata = Path(tempfile.mkdtemp(prefix="ww-kill-")) / "data"  # short: the Unix socket lives here
    code = ("import sys; from pathlib import Path; from db.connect import embedded_dsn; import psycopg\n"
            "with psycopg.connect(embedded_dsn(Path(sys.argv[1]))) as c:\n"
            "    c.execute('CREATE TABLE IF NOT EXISTS t (x int)'); c.execute('INSERT INTO t VALUES (1)'); c.commit()\n"
            "    print(c.execute('SELECT count(*) FROM t').fetchone()[0],\n"
            "          c.execute('SHOW shared_buffers').fetchone()[0])\n")
    run = lambda: subprocess.run([sys.executable, "-c", code, str(pgdata)], capture_output=True, text=True,  # noqa: E731
                                 timeout=60)
    try:
        from db.connect import embedded_shared_buffers_mb

        size = embedded_shared_buffers_mb()  # a new server is sized for the machine once, at creation
        buffers = f"{size // 1024}GB" if size % 1024 == 0 else f"{size}MB"
        assert run().stdout.split() == ["1", buffers]
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 10, "the postmaster to die")
        again = run()
        assert again.stdout.split() == ["2", buffers], again.stderr  # started again, committed row recovered
        assert "not shut down cleanly" in again.stderr
    finally:
        from db.connect import stop_embedded

        stop_embedded(pgdata)


class SlowFeedSite(Site):
    """The feed answers after `feed_delay` seconds: the database can go away while a claimed
    crawl waits for it."""

    feed_delay = 0.0

    def respond(self, path: str, if_none_match: str | None):
        if path == "/feed.xml":
            time.sleep(self.feed_delay)
        return super().respond(path, if_none_match)


def test_an_outage_under_the_daemon_delivers_each_alert_once_and_retries_the_cut_crawl(
        proxy: PgProxy, dsn: str, cli_env, tmp_path: Path, webhook) -> None:
    from alerts.spec import build_watch
    from alerts.store import add_watch
    from tests.test_alerts import insert_article

    site = SlowFeedSite(validators=True)
    site.items = ITEMS
    site.feed_delay = 3.0
    with psycopg.connect(dsn) as conn:
        add_watch(conn, build_watch("kuril", "kuril", [webhook.url()]))
        conn.commit()
    log = tmp_path / "daemon.log"
    env = cli_env | {"WIREWATCH_DATABASE_URL": proxy.dsn}
    try:
        with log.open("w") as err:
            daemon = launch(_outlets(site, tmp_path), env, stderr=err)
        try:
            wait_for(lambda: "/feed.xml" in site.arrived, 60, "the crawl's feed request")
            proxy.stop()  # the crawl holds its lease; its feed answers with the database gone
            with psycopg.connect(dsn) as conn:  # alerts raised meanwhile (another writer, direct)
                for n in range(3):
                    insert_article(conn, f"outlet{n}", f"Islands talks part {n}")
            time.sleep(8)
            proxy.start()
            # Each alert exactly once, and the cut crawl retried well before its 5 min lease expires.
            wait_for(lambda: len(webhook.received) >= 3 and articles(dsn)[0] >= len(ITEMS) + 3, 60,
                     "the alerts and the retried crawl")
            time.sleep(1)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
    finally:
        site.close()
    text = log.read_text()
    titles = sorted(m["title"] for m in webhook.received)
    assert titles == [f"[kuril] New: Islands talks part {n}" for n in range(3)], titles
    assert articles(dsn) == (len(ITEMS) + 3, len(ITEMS) + 3)
    assert "Connection refused" in text  # the outage was real: the crawl's stores and claims waited it out
    drainer = [line for line in text.splitlines() if "alert drainer: database unavailable" in line]
    assert 1 <= len(drainer) <= 3, drainer  # one line per failed attempt, 5 s then 10 s apart
    # psycopg's pool says it once (it tried twice a second, two lines each time), on one line
    pool = [line for line in text.splitlines() if "psycopg.pool" in line]
    assert 1 <= len(pool) <= 2 and all("Connection refused" in line for line in pool), pool
    assert all(line[:2].isdigit() for line in text.splitlines()), text  # no continuation lines
    assert "Traceback" not in text, text[-3000:]


def _outlets(site: Site, tmp_path: Path) -> Path:
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(f'[[outlet]]\nname = "harbour"\ntitle = "Harbour"\nhomepage = "{site.base}/"\n'
                       f'language = "en"\ninterval = "1h"\nfeeds = ["{site.base}/feed.xml"]\n')
    return outlets


def test_a_crawl_cut_by_an_outage_can_reclaim_its_own_lease(dsn: str) -> None:
    """The daemon's retry after a database error (`Daemon.crawl_outlet`) claims the outlet again:
    its own unreleased lease does not make it wait for expiry; another process's still does."""
    from datetime import datetime, timedelta, timezone

    from scheduler.leases import Leases

    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO outlets (name, title, homepage) VALUES ('harbour', 'Harbour', 'https://h.test/')")
        conn.commit()
    clock = lambda: datetime.now(timezone.utc)  # noqa: E731
    mine = Leases(dsn, "host:1:aaaa", timedelta(minutes=5), clock)
    other = Leases(dsn, "host:2:bbbb", timedelta(minutes=5), clock)
    assert mine.claim("harbour") is not None
    # ... the database goes away here; the crawl's outcome and the lease release are never written
    assert other.claim("harbour", force=True) is None  # a live process's lease still holds others off
    assert mine.claim("harbour") is not None  # the retry takes its own lease again at once
