"""Enormous but valid sources (issue 19, items 4-6): what one crawl of each costs the process.

Served by `tests/hostile_server.py` on 127.0.0.1, crawled by `crawler.run.crawl` in a spawned
child process (the daemon's crawl code, one process), into an embedded PostgreSQL in a
temporary directory. Every article link answers 404, so the figures are discovery's alone.

- fan-out: a sitemap index of 3,000 indexes of 3,000 sitemaps: sitemap requests made.
- big sitemap: a gzip sitemap of 500,000 URLs: peak RSS of the crawl process, article requests
  made, and the time from the sitemap's request to the first article request.
- big feed: a feed of 130,000 items (one outlet) crawled with a feed of 300 articles that each
  take 20 ms (another outlet, same process): the other outlet's longest wait between two of
  its requests, and the time from the big feed's request to its first article request.

A case that has not finished after `--limit` seconds is stopped there (the old code would
have gone on for hours) and its figures are the ones so far. Runs against an older tree
too (`git archive HEAD~N | tar -x -C /tmp/old; cp tests/hostile_server.py bench/hostile_sources.py`
into it, and run it there): only CrawlOptions fields both trees have are set.

    python bench/hostile_sources.py [--limit 60] [--urls 500000] [--items 130000] [--fanout 3000]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.run import CrawlOptions, crawl  # noqa: E402
from db.connect import embedded_dsn  # noqa: E402
from db.migrate import migrate  # noqa: E402
from scheduler.database import sync_outlets  # noqa: E402
from scheduler.outlets import parse_outlets  # noqa: E402
from tests.hostile_server import HostileServer  # noqa: E402


def outlet(name: str, base: str, *, feeds: tuple[str, ...] = (), sitemaps: tuple[str, ...] = ()) -> str:
    quoted = lambda urls: "[" + ", ".join(f'"{u}"' for u in urls) + "]"  # noqa: E731
    return (f'[[outlet]]\nname = "{name}"\ntitle = "{name}"\nhomepage = "{base}/"\nlanguage = "en"\n'
            f'interval = "1h"\nfeeds = {quoted(feeds)}\nsitemaps = {quoted(sitemaps)}\nsitemap_since = "2000-01-01"\n')


def _child(outlets, options) -> None:
    logging.basicConfig(level=logging.ERROR)
    crawl(outlets, options)


def run_case(dsn: str, toml: str, limit: float, **options) -> dict:
    """Crawl the outlets of `toml` in a child; its peak RSS, seconds, and whether it finished."""
    outlets = parse_outlets(toml, source="bench outlets")
    with psycopg.connect(dsn) as conn:
        sync_outlets(conn, outlets)
    opts = CrawlOptions(dsn=dsn, user_agent="wirewatch-bench", throttle_start_delay=0.05,
                        allowed_networks=("127.0.0.0/8",), retry_backoff=0.2, **options)
    process = multiprocessing.get_context("spawn").Process(target=_child, args=(outlets, opts))
    started = time.monotonic()
    process.start()
    watched = psutil.Process(process.pid)
    peak = 0
    while process.is_alive() and time.monotonic() - started < limit:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    finished = not process.is_alive()
    if not finished:
        process.kill()
    process.join()
    return {"peak_mib": peak / 2**20, "seconds": time.monotonic() - started, "finished": finished,
            "started": started}


def arrivals(server: HostileServer, prefix: str, since: float) -> list[float]:
    return [t for path, t in list(server.requests) if path.startswith(prefix) and t >= since]


def ended(case: dict) -> str:
    return f"finished in {case['seconds']:.1f} s" if case["finished"] else f"STOPPED at {case['seconds']:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds a case may run before it is stopped")
    parser.add_argument("--urls", type=int, default=500_000)
    parser.add_argument("--items", type=int, default=130_000)
    parser.add_argument("--fanout", type=int, default=3000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ww-hostile-sources-"))
    dsn = embedded_dsn(home / "pg", stop_on_exit=True)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    with HostileServer() as server:
        base = server.base
        server.fanout_width = args.fanout

        # 4. Fan-out.
        case = run_case(dsn, outlet("fanout", base, sitemaps=(f"{base}/fanout/index.xml",)), args.limit)
        fetched = arrivals(server, "/fanout/", case["started"])
        print(f"fan-out, index of {args.fanout:,} indexes of {args.fanout:,} sitemaps: {len(fetched):,} sitemap "
              f"requests ({ended(case)}); peak RSS {case['peak_mib']:.0f} MiB")

        # 5. Big sitemap.
        path = f"/huge/sitemap.xml.gz?n={args.urls}"
        server.generate("huge", args.urls)
        case = run_case(dsn, outlet("bigsitemap", base, sitemaps=(base + path,)), args.limit)
        size = len(server.generate("huge", args.urls))
        [asked] = arrivals(server, "/huge/", case["started"]) or [float("nan")]
        articles = arrivals(server, "/gone/", case["started"])
        first = f"{articles[0] - asked:.1f} s" if articles else "never"
        print(f"big sitemap, {args.urls:,} URLs ({size / 2**20:.2f} MiB gzip): peak RSS {case['peak_mib']:.0f} MiB, "
              f"{len(articles):,} article requests, first article request {first} after the sitemap's "
              f"({ended(case)})")

        # 6. Big feed beside a steady outlet.
        big, steady = f"{base}/bigfeed/feed.xml?n={args.items}", f"{base}/steady/feed.xml?n=300"
        server.generate("bigfeed", args.items), server.generate("steady", 300)
        toml = outlet("bigfeed", base, feeds=(big,)) + outlet("steady", base, feeds=(steady,))
        # The big feed is larger than the default 10 MiB page cap: raised so that it is parsed.
        case = run_case(dsn, toml, args.limit, max_page_bytes=32 * 2**20, per_domain_concurrency=8, concurrency=32)
        size = len(server.generate("bigfeed", args.items))
        steady_times = arrivals(server, "/steady/", case["started"]) + arrivals(server, "/slow/", case["started"])
        steady_times.sort()
        gaps = [b - a for a, b in zip(steady_times, steady_times[1:])]
        [asked] = arrivals(server, "/bigfeed/", case["started"]) or [float("nan")]
        feed_articles = arrivals(server, "/gone/feed-", case["started"])
        first = f"{feed_articles[0] - asked:.1f} s" if feed_articles else "never"
        print(f"big feed, {args.items:,} items ({size / 2**20:.1f} MiB), beside a feed of 300 slow articles: "
              f"the other outlet's longest wait between requests {max(gaps, default=float('nan')):.2f} s "
              f"({len(steady_times)} requests); big feed's first article request {first} after its own, "
              f"{len(feed_articles):,} article requests; peak RSS {case['peak_mib']:.0f} MiB ({ended(case)})")


if __name__ == "__main__":
    main()
