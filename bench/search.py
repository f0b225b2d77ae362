"""Search latency on a synthetic archive of 1,000,000 articles, next to an unindexed ILIKE scan.

    python bench/search.py                      # 1,000,000 articles (load: see README "Performance")
    python bench/search.py --articles 50000     # a quick run
    python bench/search.py --dsn postgresql://... # on that server instead of an embedded one
    python bench/search.py --dsn URL --keep     # keep the loaded database; then, without a new load:
    python bench/search.py --reuse URL          # time the searches again (migrating it first)

The archive: English articles of 400-800 words drawn from a Zipf-distributed vocabulary (common
and news words by rank, then a long tail of made-up words), each about one of a dozen topics whose
words and named entities ("northern territories", "Bank of Japan", "Lavrov") it repeats; eight
outlets of different sizes; publication times over the three years before 2024-06-01, in the order
an archive fills as news appears (ids and the table's order follow the dates, 5% found late with
any date; `--random-dates` scatters every date over the load instead); a tenth of them syndicated
copies (another outlet, a dateline, `copy_of` set) and 2% Japanese articles (bench/japanese.py's
generator, bigram column computed as ingest does). It is loaded with COPY
into a scratch database (bench/dedupe.py's: WIREWATCH_BENCH_DATABASE_URL's or --dsn's server, or
an embedded one in a temporary directory) migrated by db.migrate, so the generated `search`
column and the indexes are the real ones; the articles' secondary indexes are dropped for the
load and built again from their own definitions (a bulk load's usual order). The database is
dropped at the end.

Each query runs through db/search.py `search()` (the code path of `wirewatch search`, the API and
the web UI: relevance with recency, copies folded, snippets, first page of 20), once to warm up
and then `--rounds` times; p50 and p95 are over those runs. The baseline is `ILIKE '%term%'` on
title and text with the same filters (`--scan-rounds` runs, parallel sequential scan).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import bigrams  # noqa: E402
from db import outlets as outlet_rows  # noqa: E402
from db import search as archive  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.queries import QUERIES  # noqa: E402
from dedupe import drop_database, scratch_database  # noqa: E402  (bench/ is on sys.path: run as a script)
from japanese import article as japanese_article  # noqa: E402
from japanese import ms  # noqa: E402

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
SPAN = 3 * 365 * 86400  # seconds of publication history
# An archive fills as news appears: the article loaded k-th of n was fetched at k/n of the span,
# up to FETCH_DELAY after it was published, except a share found late (a sitemap's back catalogue)
# with any date. --random-dates spreads every date at random over the load instead.
FETCH_DELAY = 6 * 3600
BACKFILL_SHARE = 0.05
COPY_SHARE, JAPANESE_SHARE = 0.10, 0.02
TAIL_WORDS = 40_000  # made-up words after the real ones: the long tail of a news vocabulary

# (name, language, share of the articles, wire service it is)
OUTLETS = [("kyodo", "en", 0.22, "kyodo"), ("jiji", "en", 0.16, "jiji"), ("japantimes", "en", 0.15, None),
           ("japantoday", "en", 0.14, None), ("mainichi", "en", 0.12, None), ("asahi", "en", 0.09, None),
           ("nhk", "en", 0.08, None), ("thediplomat", "en", 0.04, None)]
JA_OUTLET = "asahi-ja"

FUNCTION = """the of and to a in that is for on was with he it as at by said be from his has have an are
this but not which were had they its who been will after also their would more than one two there all
or new about up out when we year over into she can her last first other some what years could them
only most people if over time before no so do made him under while just these any three back most
against because during did since those both between down where may such many before then our still
however being while around through says off week through per how each until while should""".split()
NEWS = """government minister prime said officials japan japanese tokyo president country police
state city report police percent million billion market company companies economy economic
international foreign party election policy security military defense trade support plan
public national local health children women group members meeting talks agreement official
minister's ministry house law court case decision spokesman statement news week month day
friday monday tuesday wednesday thursday saturday sunday january february march april may june
july august september october november december people world leader leaders told according
number issue issues need help told since high higher growth rate rates price prices energy
power water school students workers jobs business industry sales data system service services
team season game games player players coach win won lost final record time times family
families area region areas residents community social political political development plan
plans program project funds budget tax taxes costs cost spending increase rise fell rose
expected announced reported called asked added noted urged warned agreed plans plan continue
continued government's administration cabinet parliament diet lawmakers opposition ruling
coalition vote votes voters campaign candidate candidates former current next early late
major key top senior chief head director executive board chairman spokesperson agency
agencies commission council committee union association institute university hospital
doctors patients medical care virus vaccine cases infections deaths killed injured dead
fire accident disaster emergency rescue relief damage storm rain weather temperatures
climate environment carbon emissions nuclear plant reactor radiation fukushima safety
technology digital online internet data chips semiconductor production factory exports
imports investment investors shares stocks index yen dollar currency inflation interest
bank banks financial fiscal debt deficit revenue profit profits quarter annual forecast
survey poll results research study scientists experts analysts observers critics residents
tourists visitors travel airport flights railway station train trains road traffic ship
ships boat fishing fishermen fish sea island islands coast border territory waters navy
army forces troops soldiers missile missiles launch weapons war peace conflict crisis
attack attacks threat threats sanctions relations ties cooperation summit visit visited
meeting meet met discussed discuss talks negotiations deal treaty dispute claims claim
rights human freedom media press culture art music film festival museum history historical
temple shrine tradition traditional food restaurant rice sake farmers agriculture village
town prefecture prefectural governor mayor assembly office offices building buildings
housing homes home land construction infrastructure population aging birth births elderly
pension pensions welfare labor wage wages salary employment unemployment worker""".split()

# topic: (share of articles, words it repeats, named entities and phrases it mentions)
TOPICS = {
    "territory": (0.03, "territorial sovereignty islanders grave visits fishing negotiations peace treaty".split(),
                  ["northern territories", "Kuril Islands", "Habomai", "Shikotan", "Etorofu", "Kunashiri",
                   "Sergei Lavrov", "Lavrov", "Vladimir Putin", "Putin", "Moscow", "Nemuro"]),
    "economy": (0.14, "inflation wages yen growth recession consumption exports stimulus".split(),
                ["Bank of Japan", "Kazuo Ueda", "Nikkei", "Finance Ministry", "Keidanren", "Toyota"]),
    "politics": (0.14, "cabinet approval rating lawmakers faction scandal reshuffle".split(),
                 ["prime minister", "Fumio Kishida", "Kishida", "Liberal Democratic Party", "LDP", "Komeito",
                  "Constitutional Democratic Party", "Diet"]),
    "disaster": (0.08, "earthquake tsunami evacuation magnitude aftershocks shelters typhoon landslide".split(),
                 ["Noto Peninsula", "Ishikawa", "Japan Meteorological Agency", "Self-Defense Forces", "Wajima"]),
    "security": (0.09, "missile defense alliance deterrence drills warships ballistic".split(),
                 ["North Korea", "Pyongyang", "Kim Jong Un", "Defense Ministry", "United States", "Pentagon",
                  "Taiwan Strait", "Senkaku Islands"]),
    "diplomacy": (0.09, "bilateral summit talks envoy ties cooperation communique".split(),
                  ["Yoko Kamikawa", "foreign minister", "Joe Biden", "Xi Jinping", "Yoon Suk Yeol", "Beijing",
                   "Seoul", "Washington", "G7"]),
    "technology": (0.07, "semiconductor chips artificial intelligence startups robotics quantum".split(),
                   ["Rapidus", "TSMC", "Kumamoto", "Sony", "SoftBank", "generative AI"]),
    "health": (0.06, "vaccine infections hospital patients doctors dementia birthrate".split(),
               ["Health Ministry", "World Health Organization", "COVID-19"]),
    "energy": (0.05, "nuclear reactor restart renewable solar hydrogen emissions decommissioning".split(),
               ["Fukushima Daiichi", "Tokyo Electric Power", "TEPCO", "treated water", "Nuclear Regulation Authority"]),
    "sports": (0.10, "baseball season victory championship tournament coach athletes".split(),
               ["Shohei Ohtani", "Los Angeles Dodgers", "Samurai Japan", "Yokohama", "Olympics"]),
    "culture": (0.09, "festival anime museum exhibition cherry blossoms tourism temple".split(),
                ["Kyoto", "Osaka", "Studio Ghibli", "Nara", "Hokkaido", "Okinawa"]),
    "crime": (0.06, "arrested suspect court sentenced prosecutors fraud police".split(),
              ["Tokyo District Court", "Metropolitan Police Department", "yakuza", "Unification Church"]),
}

# (label, query, outlet, since, until, ILIKE patterns)
QUERIES_TIMED = [
    ("one term", "lavrov", None, None, None, ["%lavrov%"]),
    ("one term", "earthquake", None, None, None, ["%earthquake%"]),
    ("one term", "semiconductor", None, None, None, ["%semiconductor%"]),
    ("one term", "government", None, None, None, ["%government%"]),
    ("phrase", '"northern territories"', None, None, None, ["%northern territories%"]),
    ("phrase", '"bank of japan"', None, None, None, ["%bank of japan%"]),
    ("phrase", '"prime minister"', None, None, None, ["%prime minister%"]),
    ("OR + dates", "lavrov OR putin", None, "2024-01-01", None, ["%lavrov%", "%putin%"]),
    ("OR + dates", "typhoon OR tsunami", None, "2023-06-01", "2024-01-01", ["%typhoon%", "%tsunami%"]),
    ("outlet", "earthquake", "nhk", None, None, ["%earthquake%"]),
    ("outlet", "inflation", "jiji", None, None, ["%inflation%"]),
]
JAPANESE_QUERIES = [("Japanese", "北方領土", None, None, None, ["%北方領土%"]),
                    ("Japanese", "半導体", None, None, None, ["%半導体%"])]


def vocabulary() -> tuple[list[str], np.ndarray]:
    """Words by rank and the cumulative Zipf-Mandelbrot distribution over them."""
    rng = random.Random(1)
    onsets = ["b", "k", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "v", "br", "cr", "st", "tr", "pl"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea"]
    codas = ["", "", "n", "r", "l", "s", "t", "nd", "rk"]
    real = list(dict.fromkeys(FUNCTION + NEWS))
    tail: dict[str, None] = {}
    while len(tail) < TAIL_WORDS:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3))) + rng.choice(codas)
        if word not in real:
            tail[word] = None
    words = real + list(tail)
    weights = 1.0 / (np.arange(len(words)) + 2.7) ** 1.07
    return words, np.cumsum(weights) / weights.sum()


class Generator:
    """Article texts for one loader: numpy draws the words, Python arranges them."""

    def __init__(self, seed: int) -> None:
        self.words, self.cdf = vocabulary()
        self.np = np.random.default_rng(seed)
        self.rng = random.Random(seed)
        self.buffer: list[int] = []
        self.at = 0
        self.topics = list(TOPICS.values())
        self.topic_weights = [t[0] for t in self.topics]

    def draw(self, n: int) -> list[str]:
        if self.at + n > len(self.buffer):
            self.buffer, self.at = np.searchsorted(self.cdf, self.np.random(1_000_000)).tolist(), 0
        self.at += n
        return [self.words[i] for i in self.buffer[self.at - n:self.at]]

    def english(self) -> tuple[str, str]:
        rng = self.rng
        _, topic_words, entities = rng.choices(self.topics, self.topic_weights)[0]
        tokens = self.draw(rng.randint(400, 800))
        n = len(tokens)
        for _ in range(n // 16):  # the topic's own words, about 6% of the text
            tokens[rng.randrange(n)] = rng.choice(topic_words)
        for _ in range(rng.randint(2, 8)):  # its names, a few times
            tokens[rng.randrange(n)] = rng.choice(entities)
        sentences, at = [], 0
        while at < n:
            length = rng.randint(10, 28)
            chunk = tokens[at:at + length]
            sentences.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
            at += length
        paragraphs = [" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)]
        title_words = self.draw(rng.randint(3, 6)) + [rng.choice(topic_words), rng.choice(entities)]
        rng.shuffle(title_words)
        return " ".join(w.capitalize() for w in title_words), "\n\n".join(paragraphs)


def arrival(article_id: int, total: int, random_dates: bool, rng: random.Random) -> tuple[datetime, datetime]:
    """When the article with this id (of `total`) was published and fetched."""
    fetched = NOW - timedelta(seconds=SPAN * (total - article_id) / total)
    if random_dates or rng.random() < BACKFILL_SHARE:
        return NOW - timedelta(seconds=rng.randrange(SPAN)), fetched
    return fetched - timedelta(seconds=rng.randrange(FETCH_DELAY)), fetched


def load_chunk(job: tuple[str, int, int, int, int, bool]) -> int:
    """Articles with ids first_id .. first_id+count-1 (of `total`), by COPY on their own connection."""
    dsn, first_id, count, seed, total, random_dates = job
    gen = Generator(seed)
    rng = gen.rng
    names, shares = [o[0] for o in OUTLETS], [o[2] for o in OUTLETS]
    wires = {o[0]: o[3] for o in OUTLETS}
    recent: deque = deque(maxlen=500)  # originals a copy can come from
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(QUERIES["copy_search_archive"]) as cp:
            for article_id in range(first_id, first_id + count):
                published, fetched = arrival(article_id, total, random_dates, rng)
                roll = rng.random()
                url = f"https://synthetic.example/{article_id}"
                if roll < COPY_SHARE and recent:
                    original_id, outlet, title, text, at = rng.choice(recent)
                    copier = rng.choice([o for o in names if o != outlet])
                    wire = wires[outlet]
                    dateline = f"TOKYO ({outlet.capitalize()}) -- "
                    cp.write_row((article_id, url, copier, title + " (update)", dateline + text,
                                  at + timedelta(minutes=rng.randrange(2880)), fetched, "en", f"{article_id:064x}",
                                  original_id, round(rng.uniform(88, 99), 1), wire, None))
                elif roll < COPY_SHARE + JAPANESE_SHARE:
                    title, text = japanese_article(article_id, rng)
                    cp.write_row((article_id, url, JA_OUTLET, title, text, published, fetched, "ja", f"{article_id:064x}",
                                  None, None, None, bigrams.tsvector_text(title, None, text)))
                else:
                    outlet = rng.choices(names, shares)[0]
                    title, text = gen.english()
                    cp.write_row((article_id, url, outlet, title, text, published, fetched, "en", f"{article_id:064x}",
                                  None, None, wires[outlet], None))
                    recent.append((article_id, outlet, title, text, published))
        conn.commit()
    return count


def load(dsn: str, count: int, jobs: int, random_dates: bool = False) -> dict[str, float]:
    """Outlets, then the articles by `jobs` parallel COPYs with the secondary indexes dropped, then
    the indexes again and statistics. Returns seconds per phase."""
    took = {}
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            for name, language, _, wire in OUTLETS + [(JA_OUTLET, "ja", 0, None)]:
                outlet_rows.upsert_outlet(conn, name=name, title=name, homepage=f"https://{name}.example/",
                                          language=language, wire=wire is not None, interval_seconds=600)
        indexes = conn.execute(QUERIES["article_secondary_indexes"]).fetchall()
        with conn.transaction():
            for name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    started = time.monotonic()
    per_job = -(-count // jobs)
    chunks = [(dsn, 1 + i * per_job, min(per_job, count - i * per_job), 100 + i) for i in range(jobs)]
    chunks = [c for c in chunks if c[2] > 0]
    with multiprocessing.get_context("fork").Pool(len(chunks)) as pool:
        # smaller pieces so progress shows; each piece keeps its copies inside itself
        pieces = [(d, first + k, min(50_000, n - k), seed * 1000 + k // 50_000, count, random_dates)
                  for d, first, n, seed in chunks for k in range(0, n, 50_000)]
        done = 0
        for n in pool.imap_unordered(load_chunk, pieces):
            done += n
            print(f"\r  loaded {done:,} / {count:,} articles ({time.monotonic() - started:.0f}s)", end="",
                  file=sys.stderr, flush=True)
    print(file=sys.stderr)
    took["copy"] = time.monotonic() - started
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in indexes:
            t = time.monotonic()
            conn.execute(definition)
            print(f"  index {name}: {time.monotonic() - t:.0f}s", file=sys.stderr)
        took["indexes"] = time.monotonic() - started
        started = time.monotonic()
        conn.execute(QUERIES["settle_bulk_load"])
        took["analyze"] = time.monotonic() - started
    return took


def filters_of(spec: tuple) -> archive.Filters:
    _, query, outlet, since, until, _ = spec
    return archive.Filters(query, outlet=outlet,
                           since=datetime.fromisoformat(since).replace(tzinfo=timezone.utc) if since else None,
                           until=datetime.fromisoformat(until).replace(tzinfo=timezone.utc) if until else None)


def timed(conn: psycopg.Connection, spec: tuple, rounds: int, scan_rounds: int) -> dict:
    label, query, outlet, since, until, patterns = spec
    filters = filters_of(spec)
    hits = archive.search(conn, filters, limit=20)  # warm-up, and the total
    runs = []
    for _ in range(rounds):
        start = time.perf_counter()
        archive.search(conn, filters, limit=20)
        runs.append(time.perf_counter() - start)
    scans, scanned = [], 0
    for _ in range(scan_rounds):
        start = time.perf_counter()
        scanned = conn.execute(QUERIES["ilike_scan"], {"patterns": patterns, "outlet": outlet,
                                                       "since": filters.since, "until": filters.until}).fetchone()[0]
        scans.append(time.perf_counter() - start)
    conn.rollback()
    return {"label": label, "query": query + (f"  --outlet {outlet}" if outlet else "")
            + (f"  --since {since}" if since else "") + (f"  --until {until}" if until else ""),
            "total": hits[0].total if hits else 0, "runs": runs, "scanned": scanned, "scans": scans}


def report(rows: list[dict], articles: int, rounds: int, scan_rounds: int) -> None:
    print(f"\nSearch latency, {articles:,} articles: db/search.py search() (first page of 20, copies folded), "
          f"{rounds} runs after a warm-up; ILIKE scan {scan_rounds} run(s)")
    head = f"{'kind':<11} {'query':<46} {'results':>8} {'p50 ms':>8} {'p95 ms':>8} {'ILIKE rows':>10} {'ILIKE ms':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        scan = f"{ms(r['scans'], .5):>9.0f}" if r["scans"] else f"{'-':>9}"
        print(f"{r['label']:<11} {r['query'][:46]:<46} {r['total']:>8,} {ms(r['runs'], .5):>8.1f} "
              f"{ms(r['runs'], .95):>8.1f} {r['scanned']:>10,} {scan}")
    print("-" * len(head))
    for label in dict.fromkeys(r["label"] for r in rows):
        runs = [t for r in rows if r["label"] == label for t in r["runs"]]
        scans = [t for r in rows if r["label"] == label for t in r["scans"]]
        print(f"{label:<11} {'(all of the above)':<46} {'':>8} {ms(runs, .5):>8.1f} {ms(runs, .95):>8.1f} "
              f"{'':>10} {ms(scans, .5) if scans else float('nan'):>9.0f}")
    every = [t for r in rows for t in r["runs"]]
    over = [r["query"] for r in rows if ms(r["runs"], .95) >= 50]
    print(f"all searches: p50 {ms(every, .5):.1f} ms, p95 {ms(every, .95):.1f} ms (target: p95 under 50 ms); "
          f"over 50 ms at p95: {', '.join(over) if over else 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20, help="timed runs of each search")
    parser.add_argument("--scan-rounds", type=int, default=2, help="timed runs of each ILIKE scan (0: none)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel COPY loaders")
    parser.add_argument("--random-dates", action="store_true",
                        help="publication dates at random against the load order (default: an archive filled as "
                             "news appears, ids and table order following the dates)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest search at the end")
    parser.add_argument("--dsn", help="a server to create the scratch database on (default: embedded, temporary)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded database and print its URL (with --dsn: the embedded one is temporary)")
    parser.add_argument("--reuse", metavar="URL", help="time the searches on a database a --keep run left (no load)")
    args = parser.parse_args()
    if args.dsn:
        os.environ["WIREWATCH_BENCH_DATABASE_URL"] = args.dsn
    if args.keep and not args.dsn:
        parser.error("--keep needs --dsn: the embedded server of a run is removed with it")
    started = time.monotonic()
    admin, name, dsn = (None, None, args.reuse) if args.reuse else scratch_database()
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        took = {} if args.reuse else load(dsn, args.articles, args.jobs, args.random_dates)
        with psycopg.connect(dsn) as conn:
            size = conn.execute(QUERIES["archive_totals"]).fetchone()
            specs = QUERIES_TIMED + JAPANESE_QUERIES
            rows = [timed(conn, spec, args.rounds, args.scan_rounds) for spec in specs]
        report(rows, size[0], args.rounds, args.scan_rounds)
        if args.explain:
            slowest = max(rows, key=lambda r: ms(r["runs"], .95))
            spec = next(s for s in specs if s[1] == slowest["query"].split("  --")[0])
            print(f"\nEXPLAIN ANALYZE of the slowest search, {spec[1]!r} (db/queries.sql search_page):")
            with psycopg.connect(dsn) as conn:
                filters = filters_of(spec)
                estimate = archive.planner_estimate(conn, filters)
                window = archive.window_for(conn, filters, estimate, archive.RANK_POOL)
                print(f"  {estimate}\n  {window}")
                params = filters.params() | window.params() | {
                    "expand": False, "by_date": False, "limit": 21, "offset": 0, "pool": archive.RANK_POOL,
                    "phrase": estimate.phrase}
                for (line,) in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + QUERIES["search_page"], params):
                    print("  " + line)
        print(f"archive: {size[0]:,} articles, {size[1]:,} copies, database {size[3] / 2**30:.1f} GiB" + (
            f"; load: COPY {took['copy']:.0f}s, indexes {took['indexes']:.0f}s, VACUUM ANALYZE {took['analyze']:.0f}s"
            if took else ""))
    finally:
        if args.keep:
            print(f"kept: python bench/search.py --reuse '{dsn}'")
        elif name:
            drop_database(admin, name)
    print(f"bench/search.py took {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
