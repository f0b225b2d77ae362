"""Japanese search: precision and recall of the bigram index against a substring scan, and latency.

    python bench/japanese.py                  # 100,000 articles (about 5 minutes)
    python bench/japanese.py --articles 20000 # a quick run
    python bench/japanese.py --dsn URL --keep # keep the loaded database; then, without a new load:
    python bench/japanese.py --reuse URL      # measure again (migrating it first)

A labelled set is generated here: templated sentences from vocabulary lists (who, where,
what, how), with planted terms in a known share of the articles and, in others, the same
terms split apart ("北方の…領土") as negatives that a word-AND or a loose index would match.
It is loaded with COPY (bigram column computed by db/bigrams.py, as ingest does) into a
scratch database (WIREWATCH_BENCH_DATABASE_URL's server, or an embedded one) that is dropped
at the end. For every query term, the oracle is `title LIKE '%term%' OR text LIKE '%term%'`
over the same rows: recall and precision of `search_cjk @@ build_query(term)` against it,
and latency of the whole `wirewatch search` page query (db/search.py; once to warm up, then
`--rounds` times) next to the scan's.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import bigrams  # noqa: E402
from db import search as archive  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.queries import QUERIES  # noqa: E402
from dedupe import drop_database, scratch_database  # noqa: E402  (bench/dedupe.py: run as a script)

WHO = ["政府", "首相", "外相", "日銀総裁", "知事", "市長", "野党", "経団連", "防衛相", "官房長官", "財務省", "専門家"]
WHERE = ["東京", "大阪", "札幌", "那覇", "福岡", "名古屋", "モスクワ", "ワシントン", "北京", "ソウル", "根室", "金沢"]
WHAT = ["予算案", "物価対策", "賃上げ", "災害支援", "観光政策", "漁業協定", "少子化対策", "電力需給", "交通網",
        "教育改革", "医療制度", "地方創生"]
HOW = ["を発表した", "について説明した", "の見直しを求めた", "に慎重な姿勢を示した", "を強調した", "の検討に入った"]
# term -> its split negative (both halves present, never adjacent)
PLANTED = {
    "北方領土": "北方の海と領土",
    "半導体": "半分の導体",
    "能登半島": "能登の半島",
    "円安": "円高と安値",
    "ラブロフ": "ラブとロフ",
    "防衛費": "防衛と費用",
    "平和条約": "平和と条約",
    "生成AI": "生成されたAI",
}
PLANT_SHARE = 0.01  # of articles carrying each planted term; as many carry its split negative
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(WHO)}は{rng.choice(WHERE)}で{rng.choice(WHAT)}{rng.choice(HOW)}。"


def article(n: int, rng: random.Random) -> tuple[str, str]:
    sentences = [sentence(rng) for _ in range(rng.randint(6, 12))]
    title = f"{rng.choice(WHERE)}で{rng.choice(WHAT)}"
    for term, negative in PLANTED.items():
        roll = rng.random()
        if roll < PLANT_SHARE:
            sentences.insert(rng.randrange(len(sentences) + 1), f"{term}をめぐる動きも注目された。")
        elif roll < 2 * PLANT_SHARE:
            sentences.insert(rng.randrange(len(sentences) + 1), f"{negative}が話題になった。")
    return title, "".join(sentences)


def load(conn: psycopg.Connection, count: int, rng: random.Random) -> None:
    conn.execute("INSERT INTO outlets (name, title, homepage, language) "
                 "VALUES ('synthetic-ja', 'Synthetic', 'https://ja.example/', 'ja')")
    with conn.cursor() as cur, cur.copy(QUERIES["copy_bigram_articles"]) as cp:
        for n in range(count):
            title, text = article(n, rng)
            cp.write_row((f"https://ja.example/{n}", "synthetic-ja", title, text,
                          NOW - timedelta(seconds=rng.randrange(365 * 86400)), "ja", f"{n:064x}",
                          bigrams.tsvector_text(title, None, text)))
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM (ANALYZE) articles")
    conn.autocommit = False


def ms(seconds: list[float], q: float) -> float:
    return 1000 * statistics.quantiles(seconds, n=100)[int(q * 100) - 1] if len(seconds) > 1 else 1000 * seconds[0]


def measure(conn: psycopg.Connection, terms: list[str], rounds: int) -> list[tuple]:
    rows = []
    for term in terms:
        cjk, _ = bigrams.build_query(term)
        truth = {r[0] for r in conn.execute(QUERIES["substring_scan"], {"term": term})}
        got = {r[0] for r in conn.execute(QUERIES["bigram_matches"], {"cjk": cjk})}
        hit = len(truth & got)
        recall = hit / len(truth) if truth else 1.0
        precision = hit / len(got) if got else 1.0
        page, scan = [], []
        archive.search(conn, archive.Filters(term), limit=20)  # warm-up, as bench/search.py does
        for _ in range(rounds):
            start = time.perf_counter()
            archive.search(conn, archive.Filters(term), limit=20)
            page.append(time.perf_counter() - start)
            start = time.perf_counter()
            conn.execute(QUERIES["substring_scan"], {"term": term}).fetchall()
            scan.append(time.perf_counter() - start)
        rows.append((term, len(truth), len(got), precision, recall, page, scan))
        conn.rollback()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10, help="timed searches per term")
    parser.add_argument("--dsn", help="a server to create the scratch database on (default: embedded, temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database and print its URL")
    parser.add_argument("--reuse", metavar="URL", help="measure on a database a --keep run left (no load)")
    args = parser.parse_args()
    if args.dsn:
        os.environ["WIREWATCH_BENCH_DATABASE_URL"] = args.dsn
    if args.keep and not args.dsn:
        parser.error("--keep needs --dsn: the embedded server of a run is removed with it")
    rng = random.Random(10)
    admin, name, dsn = (None, None, args.reuse) if args.reuse else scratch_database()
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
            if not args.reuse:
                started = time.perf_counter()
                load(conn, args.articles, rng)
                print(f"loaded {args.articles} articles in {time.perf_counter() - started:.0f}s", file=sys.stderr)
            terms = list(PLANTED) + ["北方", "領土", "予算案", "根室", "少子化", "日銀総裁", "ワシントン"]
            rows = measure(conn, terms, args.rounds)
        print(f"{'term':<10}{'truth':>8}{'found':>8}{'precision':>11}{'recall':>8}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'scan p50':>10}")
        for term, truth, got, precision, recall, page, scan in rows:
            print(f"{term:<10}{truth:>8}{got:>8}{precision:>11.4f}{recall:>8.4f}{ms(page, .5):>9.1f}"
                  f"{ms(page, .95):>9.1f}{ms(scan, .5):>10.1f}")
        every_page = [t for row in rows for t in row[5]]
        every_scan = [t for row in rows for t in row[6]]
        print(f"all terms: min precision {min(r[3] for r in rows):.4f}, min recall {min(r[4] for r in rows):.4f}; "
              f"search p50 {ms(every_page, .5):.1f} ms, p95 {ms(every_page, .95):.1f} ms; "
              f"scan p50 {ms(every_scan, .5):.1f} ms, p95 {ms(every_scan, .95):.1f} ms")
    finally:
        if args.keep:
            print(f"kept: python bench/japanese.py --reuse '{dsn}'")
        elif name:
            drop_database(admin, name)


if __name__ == "__main__":
    main()
