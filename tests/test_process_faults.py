"""`kill -9` of a real `wirewatch run` daemon at several points of a crawl of the demo replay
outlets, with a watch whose channel is a local webhook; then a restart. The final archive and
the alerts the webhook received must equal those of an undisturbed run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from alerts.spec import build_watch
from alerts.store import add_watch
from tests.conftest import LOOPBACK, WebhookReceiver, fresh_database
from tests.test_daemon import launch, wait_for

QUERY = "Japan OR Russia"  # every demo article: each original raises one alert
SETTLE_SECONDS = 60  # a drainer killed mid-claim is released at the restart, not after its 2 min lease


def _archive(dsn: str) -> tuple[list[tuple], set[frozenset]]:
    """URL, text and the original's URL of every article; the stories as sets of URLs. Ids differ
    between runs, and a story's id is that of its first stored article, which depends on arrival
    order even between two undisturbed runs: the grouping is what must be equal."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT a.url, a.text, o.url, a.story_id FROM articles a "
                            "LEFT JOIN articles o ON o.id = a.copy_of").fetchall()
    stories: dict[int, set[str]] = {}
    for url, _, _, story in rows:
        if story is not None:
            stories.setdefault(story, set()).add(url)
    return sorted(r[:3] for r in rows), {frozenset(s) for s in stories.values()}


def _diff(got, expected) -> str:
    short = lambda rows: {(u.rsplit("/", 1)[-1][:40], hash(t), o and o.rsplit("/", 1)[-1][:40])  # noqa: E731
                          for u, t, o in rows}
    return (f"only here {short(got[0]) - short(expected[0])}, only undisturbed {short(expected[0]) - short(got[0])}; "
            f"stories {got[1]} vs {expected[1]}")


def _progress(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return dict(zip(("articles", "ok_outlets", "running", "unsent", "sent"), conn.execute(
            "SELECT (SELECT count(*) FROM articles),"
            " (SELECT count(DISTINCT outlet) FROM crawl_runs WHERE status = 'ok'),"
            " (SELECT count(*) FROM crawl_runs WHERE status = 'running'),"
            " (SELECT count(*) FROM alert_deliveries WHERE status <> 'sent'),"
            " (SELECT count(*) FROM alert_deliveries WHERE status = 'sent')").fetchone()))


class Run:
    """One database, home, webhook and outlets file: the daemon can be started there repeatedly."""

    def __init__(self, dsn: str, replay, tmp: Path) -> None:
        from demo.outlets import outlets_toml

        self.dsn = dsn
        self.webhook = WebhookReceiver()
        self.outlets = tmp / "outlets.toml"
        self.outlets.write_text(outlets_toml(replay.bases), encoding="utf-8")
        self.names = self.outlets.read_text().count("[[outlet]]")
        self.log = tmp / "daemon.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")} | {
            "WIREWATCH_HOME": str(tmp / "home"), "WIREWATCH_DATABASE_URL": dsn,
            "WIREWATCH_CRAWL_ALLOWED_NETWORKS": LOOPBACK,
            "WIREWATCH_ALERTS_MAX_AGE_DAYS": "36500"}  # the replay's news is years old
        with psycopg.connect(dsn) as conn:
            add_watch(conn, build_watch("islands", QUERY, [self.webhook.url()]))
            conn.commit()

    def start(self) -> subprocess.Popen:
        with self.log.open("a") as log:  # a file, not a pipe: a daemon's log can outgrow a pipe's buffer
            return launch(self.outlets, self.env, stderr=log)

    def settled(self) -> bool:
        p = _progress(self.dsn)
        return (p["ok_outlets"] == self.names and p["running"] == 0 and p["unsent"] == 0
                and len(self.webhook.received) >= p["sent"])

    def finish(self, daemon: subprocess.Popen) -> None:
        """Wait until every outlet was crawled and every alert sent, then stop the daemon cleanly."""
        try:
            wait_for(self.settled, SETTLE_SECONDS, f"a settled archive ({_progress(self.dsn)})")
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0, self.log.read_text()[-3000:]
        finally:
            if daemon.poll() is None:
                daemon.kill()

    def alerts(self) -> Counter:
        """Messages received, by the outbox ids they carry: a repeat after a crash has the same ids."""
        by_ids = Counter(tuple(m["wirewatch_deliveries"]) for m in self.webhook.received)
        by_text = Counter((m["title"], m["message"]) for m in self.webhook.received)
        assert sorted(by_ids.values()) == sorted(by_text.values()), "a repeat must carry the ids of the first send"
        return by_ids

    def close(self) -> None:
        self.webhook.close()


@pytest.fixture(scope="module")
def undisturbed(replay, template_db, tmp_path_factory):
    with fresh_database(template_db) as dsn:
        run = Run(dsn, replay, tmp_path_factory.mktemp("undisturbed"))
        try:
            run.finish(run.start())
            yield _archive(dsn), run.alerts()
        finally:
            run.close()


def _kill_after_articles(n: int):
    def when(run: Run, daemon: subprocess.Popen) -> str:
        wait_for(lambda: _progress(run.dsn)["articles"] >= n or daemon.poll() is not None, 60, f"{n} articles")
        return f"after {_progress(run.dsn)['articles']} articles"
    return when


def _kill_after_delay(seed: int):
    def when(run: Run, daemon: subprocess.Popen) -> str:
        delay = random.Random(seed).uniform(2.0, 8.0)  # start-up takes ~2 s; a crawl of the replay ~10 s
        time.sleep(delay)
        return f"after {delay:.1f}s ({_progress(run.dsn)['articles']} articles)"
    return when


KILL_POINTS = {
    "first-article": _kill_after_articles(1),
    "three-articles": _kill_after_articles(3),
    "six-articles": _kill_after_articles(6),
    "random-delay": _kill_after_delay(int(os.environ.get("WIREWATCH_KILL_SEED", "8"))),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_then_restart_equals_an_undisturbed_run(point: str, undisturbed, replay, template_db,
                                                       tmp_path: Path) -> None:
    expected_archive, expected_alerts = undisturbed
    assert len(expected_archive[0]) >= 6 and sum(expected_alerts.values()) >= 4  # the comparison means something
    with fresh_database(template_db) as dsn:
        run = Run(dsn, replay, tmp_path)
        try:
            daemon = run.start()
            try:
                where = KILL_POINTS[point](run, daemon)
                daemon.send_signal(signal.SIGKILL)
                daemon.wait(10)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
            killed_at = _progress(dsn)
            run.finish(run.start())
            log = run.log.read_text()
            archive = _archive(dsn)
            # The story grouping is left out: it depends on arrival order, and two undisturbed
            # runs already differ in it (a kill before any article was stored showed it).
            assert archive[0] == expected_archive[0], f"killed {where}: " + _diff(archive, expected_archive)
            received = run.alerts()
            # Which report of a story raises its alert depends on arrival order (an undisturbed
            # run varies in it too), so alerts are compared by number: none lost, and a
            # duplicate only for the one alert a kill can hit between its send and its mark, and
            # that one carries the delivery ids of the first send (alerts() checks), so the
            # receiver can drop it.
            detail = f"killed {where} ({killed_at}): got {received}, undisturbed {expected_alerts}"
            assert len(received) == len(expected_alerts), detail
            assert sum(received.values()) - len(received) <= 1, detail
            assert "Traceback" not in log, log[-3000:]
        finally:
            run.close()
