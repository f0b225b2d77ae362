"""Alert matching and delivery latency with many watches.

With --watches (default 1,000) watches in PostgreSQL, this measures
  1. matching: the one statement that matches a newly stored article against every watch
     (db.outbox.article_stored: NOTIFY + raise_alerts), per article; and
  2. latency: from an article committed by the import pipeline to its instant alert arriving
     at a JSON webhook on 127.0.0.1, with the daemon's drainer (alerts.listen) running.
The watches use words the articles never contain, except one instant watch on "kuril", so
every article is checked against all of them and exactly one alert leaves per article.
Targets (issue 6): matching < 20 ms per article, delivery p95 < 2 s.

    python bench/alerts.py [--watches 1000] [--articles 50] [--dsn postgresql://...]

Without --dsn (or WIREWATCH_DATABASE_URL) an embedded PostgreSQL is started in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from alerts.listen import drain_and_listen  # noqa: E402
from alerts.spec import build_watch  # noqa: E402
from alerts.store import add_watch  # noqa: E402
from db import outbox  # noqa: E402
from db.connect import embedded_dsn  # noqa: E402
from db.migrate import migrate  # noqa: E402
from scheduler.imports import import_files  # noqa: E402
from tests.conftest import WebhookReceiver  # noqa: E402

ARTICLE_WORDS = ("minister government island talks treaty fishing officials agreement visit dispute border "
                 "coast guard vessel patrol parliament election budget tax defence spending economy yen "
                 "market exports tariff summit president premier foreign ministry statement press "
                 "conference region residents graves families harbour port season catch quota").split()
SYLLABLES = "ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho ma mi mu me mo ra ri ru re ro".split()
WATCH_WORDS = ("volcano earthquake typhoon baseball sumo olympics semiconductor robotics anime manga "
               "railway shinkansen tourism whaling nuclear reactor vaccine hospital university school "
               "startup bitcoin airline airport cherry blossom festival museum kabuki theater orchestra "
               "football rugby tennis golf marathon satellite rocket telescope glacier forest wildlife "
               "panda zoo bakery sushi ramen sake brewery vineyard orchard rice wheat dairy").split()


def watch_query(rng: random.Random) -> str:
    a, b, c, d = rng.sample(WATCH_WORDS, 4)
    return rng.choice([f"{a}", f'"{a} {b}"', f"{a} OR {b}", f'"{a} {b}" OR {c} -{d}', f"{a} {b} -{c}"])


def article_page(rng: random.Random, n: int) -> str:
    paragraphs = []
    # Made-up names make every article its own event, so none is taken for a copy or another
    # report of an earlier story (which would rightly raise no new alert).
    names = ["".join(rng.choices(SYLLABLES, k=3)) for _ in range(40)]
    for _ in range(5):
        words = rng.choices(ARTICLE_WORDS, k=30) + rng.choices(names, k=30)
        rng.shuffle(words)
        words.insert(rng.randrange(60), "kuril")
        paragraphs.append("<p>" + " ".join(words).capitalize() + ".</p>")
    title = f"Kuril report number {n}"
    return (f'<!doctype html><html lang="en"><head><title>{title}</title>'
            f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="2024-01-10T08:{n % 60:02d}:00+09:00"></head>'
            f"<body><article><h1>{title}</h1>{''.join(paragraphs)}</article></body></html>")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--dsn", default=os.environ.get("WIREWATCH_DATABASE_URL"))
    args = parser.parse_args()
    admin = args.dsn or embedded_dsn(Path(tempfile.mkdtemp(prefix="ww-bench-")) / "data", stop_on_exit=True)
    name = f"wirewatch_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        run(make_conninfo(admin, dbname=name), args.watches, args.articles)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(dsn: str, watches: int, articles: int) -> None:
    rng = random.Random(6)
    receiver = WebhookReceiver()
    stop = threading.Event()
    with psycopg.connect(dsn) as conn:
        migrate(conn)
        add_watch(conn, build_watch("kuril", "kuril", [receiver.url()]))
        for n in range(watches - 1):
            add_watch(conn, build_watch(f"w{n}", watch_query(rng), [receiver.url(f"/w{n}")]))

    def drainer() -> None:
        while not stop.is_set():  # the daemon's job, back to back
            drain_and_listen(dsn, 4.5, stop=stop)

    thread = threading.Thread(target=drainer, daemon=True)
    thread.start()
    time.sleep(0.5)  # let the drainer LISTEN
    latencies: list[float] = []
    match_ms: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(dsn) as conn:
        for n in range(articles):
            page = Path(tmp) / f"{n}.html"
            page.write_text(article_page(rng, n), encoding="utf-8")
            import_files(conn, [page], [], url=f"https://bench.test/news/{n}")
            stored = time.time()
            got = receiver.wait_for(n + 1, timeout=10)
            assert len(got) == n + 1 and got[-1]["title"].endswith(f"number {n}"), got[-1:]
            latencies.append(receiver.times[n] - stored)
        # The matching statement alone, replayed on each stored article and rolled back: every
        # watch is evaluated again (the kuril watch finds its alert and raises none).
        ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id")]
        conn.commit()
        for article_id in ids:
            with conn.transaction(force_rollback=True):
                started = time.perf_counter()
                outbox.article_stored(conn, article_id)
                match_ms.append((time.perf_counter() - started) * 1000)
    stop.set()
    thread.join(10)
    receiver.close()
    rows = [
        (f"match one article against {watches} watches (one statement)", match_ms, "ms", 20.0),
        ("stored -> webhook received, instant mode", [s * 1000 for s in latencies], "ms", 2000.0),
    ]
    print(f"{'what':<58} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9}  target p95")
    for label, values, unit, target in rows:
        p95 = percentile(values, 95)
        print(f"{label:<58} {len(values):>4} {statistics.median(values):>7.1f}{unit} {p95:>7.1f}{unit} "
              f"{max(values):>7.1f}{unit}  < {target:.0f} {unit} {'ok' if p95 < target else 'MISSED'}")


if __name__ == "__main__":
    main()
