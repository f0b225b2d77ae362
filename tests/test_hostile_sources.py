"""Issue 19, items 4-6: sources that are valid but enormous, crawled through the daemon's crawl
cycle against a real PostgreSQL. A sitemap index fanning out 30 x 30 (3,000 x 3,000 in the
report), a gzip sitemap of 60,000 URLs (500,000), a feed of 3,000 items and one of 40,000 items
(130,000) beside another outlet's steady feed. Every document lists its entries oldest first,
so keeping the newest is not keeping the first. Sizes in `bench/hostile_sources.py`'s figures.

Bounded on the old code too: a watchdog closes the server after DEADLINE seconds, and every
request still queued then fails at once."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import pytest

from tests.conftest import fresh_database
from tests.hostile_server import HostileServer
from tests.test_hostile import crawl_logged

DEADLINE = 90.0
WIDTH = 30          # children of each fan-out index
URLS, STEP = 60_000, 60  # the big sitemap: URL K dated K minutes after 2024-01-01
SINCE_DAYS = 7      # sitemap_since 2024-01-08: URLs 0..10,079 are older
FEED_ITEMS = 3_000
CAPS = {"max_sitemap_children": 5, "max_sitemap_fetches": 12, "max_sitemap_urls": 200, "max_feed_items": 300,
        "max_article_requests": 250}


def outlet(name: str, *, feeds: tuple[str, ...] = (), sitemaps: tuple[str, ...] = (), since: str = "2000-01-01") -> str:
    quoted = lambda urls: "[" + ", ".join(f'"{u}"' for u in urls) + "]"  # noqa: E731
    homepage = "/".join((*feeds, *sitemaps)[0].split("/")[:3]) + "/"
    return (f'[[outlet]]\nname = "{name}"\ntitle = "{name}"\nhomepage = "{homepage}"\nlanguage = "en"\n'
            f'interval = "1h"\nfeeds = {quoted(feeds)}\nsitemaps = {quoted(sitemaps)}\nsitemap_since = "{since}"\n')


def watchdog(server: HostileServer) -> threading.Timer:
    timer = threading.Timer(DEADLINE, server.close)
    timer.daemon = True
    timer.start()
    return timer


def paths(requests: list[tuple[str, float]], prefix: str) -> list[str]:
    return [p for p, _ in requests if p.startswith(prefix)]


def lines_with(log: str, *texts: str) -> list[str]:
    return [line for line in log.splitlines() if all(t in line for t in texts)]


@pytest.fixture(scope="module")
def capped(template_db: str, tmp_path_factory):
    """One crawl of three outlets, under small caps: the fan-out index, the big sitemap, the big feed."""
    with HostileServer() as server:
        server.fanout_width = WIDTH
        server.generate("huge", URLS, STEP), server.generate("bigfeed", FEED_ITEMS)
        base = server.base
        toml = (outlet("fanout", sitemaps=(f"{base}/fanout/index.xml",))
                + outlet("bigsitemap", sitemaps=(f"{base}/huge/sitemap.xml.gz?n={URLS}&step={STEP}",),
                         since=f"2024-01-{1 + SINCE_DAYS:02d}")
                + outlet("bigfeed", feeds=(f"{base}/bigfeed/feed.xml?n={FEED_ITEMS}",)))
        timer = watchdog(server)
        with fresh_database(template_db) as dsn:
            results, log = crawl_logged(dsn, toml, tmp_path_factory.mktemp("capped"), retry_backoff=0.2,
                                        per_domain_concurrency=8, concurrency=32, **CAPS)
        timer.cancel()
        yield {"results": {r.outlet: r for r in results}, "log": log, "requests": list(server.requests),
               "base": base, "closed": server._closing.is_set()}


def test_a_sitemap_index_fan_out_is_capped_newest_first_and_said_in_one_line(capped) -> None:
    assert not capped["closed"], "the crawl ran into the watchdog"
    fetched = paths(capped["requests"], "/fanout/")
    assert len(fetched) <= CAPS["max_sitemap_fetches"], len(fetched)
    children = [p for p in fetched if p.startswith("/fanout/i/")]
    # The top index lists /fanout/i/0 .. 29 oldest first: the newest five are 25 .. 29.
    assert sorted(children) == [f"/fanout/i/{i}.xml" for i in range(WIDTH - 5, WIDTH)]
    [line] = lines_with(capped["log"], f"{capped['base']}/fanout/index.xml ")
    assert "fanout sitemap" in line and f"lists {WIDTH} sitemaps: {WIDTH - 5} left out" in line, line
    assert "crawl.max_sitemap_children" in line
    # The child indexes share what is left of the crawl's 12 fetches; each says what it left out.
    for child in children:
        [line] = lines_with(capped["log"], f"{capped['base']}{child} ")
        assert "left out" in line, line
    assert lines_with(capped["log"], "crawl.max_sitemap_fetches (12) per crawl")
    assert capped["results"]["fanout"].ok


def test_a_big_sitemap_is_cut_to_the_newest_after_sitemap_since_before_queueing(capped) -> None:
    articles = paths(capped["requests"], "/gone/")
    gone = sorted(int(p.rsplit("/", 1)[1]) for p in articles if not p.startswith("/gone/feed-"))
    assert gone == list(range(URLS - CAPS["max_sitemap_urls"], URLS)), (len(gone), gone[:3])
    too_old = SINCE_DAYS * 24 * 60
    [line] = lines_with(capped["log"], "bigsitemap sitemap", "/huge/sitemap.xml.gz")
    assert (f"lists {URLS:,} URLs, {too_old:,} older than sitemap_since: {URLS - too_old - 200:,} left out, "
            "the newest 200 kept (crawl.max_sitemap_urls (200))") in line, line


def test_404s_are_one_summary_line_per_outlet_not_a_warning_each(capped) -> None:
    for name, count in (("bigsitemap", 200), ("bigfeed", 250)):
        [line] = lines_with(capped["log"], f"crawl of {name}:", "answered 404 or 410")
        assert f"{count} article links answered 404" in line and f"and {count - 3} more" in line, line
    assert not lines_with(capped["log"], "/gone/", "failed: HTTP 404")


def test_a_big_feed_is_cut_to_its_newest_items_and_the_crawl_to_its_article_cap(capped) -> None:
    fed = sorted(int(p.rsplit("-", 1)[1]) for p in paths(capped["requests"], "/gone/feed-"))
    # 300 newest items kept (2,700 .. 2,999); of those the newest 250 requested.
    assert fed == list(range(FEED_ITEMS - CAPS["max_article_requests"], FEED_ITEMS)), (len(fed), fed[:3])
    [line] = lines_with(capped["log"], "bigfeed feed", "crawl.max_feed_items")
    assert f"lists {FEED_ITEMS:,} items: {FEED_ITEMS - 300:,} left out, the newest 300 kept" in line, line
    [line] = lines_with(capped["log"], "bigfeed", "crawl.max_article_requests (250) reached")
    assert "50 new article links left out" in line, line


# -- a big feed beside another outlet: nobody waits for its parse ------------------------------

BIG_FEED = 40_000  # feedparser: 3-6 s on this machine, which the event loop once spent blocked
STEADY = 200


@pytest.fixture(scope="module")
def side_by_side(template_db: str, tmp_path_factory):
    with HostileServer() as server:
        server.slow_seconds = 0.05
        server.generate("bigfeed", BIG_FEED), server.generate("steady", STEADY)
        base = server.base
        toml = (outlet("bigfeed", feeds=(f"{base}/bigfeed/feed.xml?n={BIG_FEED}",))
                + outlet("steady", feeds=(f"{base}/steady/feed.xml?n={STEADY}",)))
        timer = watchdog(server)
        with fresh_database(template_db) as dsn:
            results, log = crawl_logged(dsn, toml, tmp_path_factory.mktemp("side"), retry_backoff=0.2,
                                        per_domain_concurrency=8, concurrency=32)
        timer.cancel()
        yield {"log": log, "requests": list(server.requests), "closed": server._closing.is_set()}


def test_a_big_feed_does_not_stall_the_other_outlets(side_by_side) -> None:
    assert not side_by_side["closed"], "the crawl ran into the watchdog"
    requests = side_by_side["requests"]
    steady = sorted(t for p, t in requests if p.startswith(("/steady/", "/slow/")))
    [big_asked] = [t for p, t in requests if p.startswith("/bigfeed/")]
    big_first = min(t for p, t in requests if p.startswith("/gone/feed-"))
    # The other outlet was busy for the whole of the big feed's parse: its waits measure the stall.
    assert steady[0] <= big_asked and steady[-1] >= big_first, (steady[0], steady[-1], big_asked, big_first)
    assert big_first - big_asked > 1.0  # the parse is long enough to have stalled it
    longest = max(b - a for a, b in zip(steady, steady[1:]))
    assert longest < 1.0, f"the steady outlet waited {longest:.2f} s while the big feed ({big_first - big_asked:.1f} s) parsed"
    assert len(steady) == STEADY + 1


def test_a_big_sitemap_is_parsed_in_bounded_memory() -> None:
    # Parsed whole, 200,000 URLs grew the process by some 500 MB (a tree of 600,000 elements);
    # streamed, the newest 1,000 are all that is held.
    code = ("import resource\nfrom tests.hostile_server import huge_sitemap\nfrom crawler.spiders.sitemap import "
            "parse_sitemap\nbody = huge_sitemap('http://127.0.0.1:1', 200_000)\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "sitemap = parse_sitemap(body, keep=1000)\n"
            "print(sitemap.listed, len(sitemap.entries), sitemap.entries[0].loc, "
            "(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    listed, kept, newest, grown_mib = out.stdout.split()
    assert (listed, kept, newest) == ("200000", "1000", "http://127.0.0.1:1/gone/199999")
    assert int(grown_mib) < 50, f"parsing grew the process by {grown_mib} MiB"


def test_a_gzip_bomb_of_valid_entries_is_refused_before_it_is_parsed() -> None:
    import gzip
    import time

    from crawler.spiders.sitemap import parse_sitemap

    entry = b"<url><loc>http://127.0.0.1:1/a</loc></url>"
    bomb = gzip.compress(b"<urlset>" + entry * (60 * 2**20 // len(entry)) + b"</urlset>", 6)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="expands beyond"):
        parse_sitemap(bomb)
    assert time.perf_counter() - started < 2.0


def test_caps_are_settings() -> None:
    from scheduler.config import load_config
    from scheduler.jobs import crawl_options

    env = {"WIREWATCH_HOME": "/nonexistent", "WIREWATCH_CRAWL_MAX_SITEMAP_URLS": "300"}
    options = crawl_options(load_config(env=env), "dbname=x")
    assert options.discovery_limits.sitemap_urls == 300
    assert re.search(r"^max_article_requests = \d+ +# ", open("README.md", encoding="utf-8").read(), re.M)
