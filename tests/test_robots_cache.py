"""robots.txt is fetched once per site for every crawl of a daemon process (crawler.robots):
an unchanged outlet's poll costs one 304 per source and nothing else, until the TTL runs out.

The polls run in one spawned process (`Poller`), as in the daemon: one reactor, one CrawlSession,
a fresh Scrapy crawler per spider and poll. Its robots cache clock is moved by the test."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
from collections import Counter
from urllib.parse import urlparse

import psycopg
import pytest

from crawler.robots import DEFAULT_TTL, MISSING, RobotsCache, robots_key
from scheduler.database import sync_outlets
from scheduler.outlets import parse_outlets
from tests.conftest import LocalSite

LOOPBACK = ("127.0.0.0/8",)
DISALLOW_PRIVATE = "User-agent: *\nDisallow: /private/\n"

ARTICLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2024-01-0{n}T10:00:00+00:00"></head><body><article>
<h1>{title}</h1>{paragraphs}</article></body></html>"""


def article_html(n: int) -> bytes:
    paragraphs = "".join(f"<p>Report {n}, paragraph {i}: the lighthouse keeper counted {i * n} vessels and "
                         f"{i + n} fishing boats sheltering in the bay until the gale eased.</p>" for i in range(8))
    return ARTICLE.format(title=f"Lighthouse report number {n}", n=n, paragraphs=paragraphs).encode()


class Site(LocalSite):
    """One host on 127.0.0.1 with robots.txt, feeds and a sitemap (ETag validators) and articles;
    records (path, status) of every request."""

    FEEDS = {"/feed.xml": ["/story/1"], "/sister.xml": ["/story/3"], "/guarded.xml": ["/story/4", "/private/5"]}

    def __init__(self) -> None:
        self.robots = DISALLOW_PRIVATE
        self.robots_status = 200
        self.log: list[tuple[str, int]] = []
        super().__init__()

    def record(self, path: str, if_none_match: str | None, status: int) -> None:
        self.log.append((path, status))

    def respond(self, path: str, if_none_match: str | None) -> tuple[int, bytes, dict[str, str]]:
        if path == "/robots.txt":
            return self.robots_status, self.robots.encode(), {"Content-Type": "text/plain"}
        if path in self.FEEDS or path == "/sitemap.xml":
            if path == "/sitemap.xml":
                body = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                        f"<url><loc>{self.base}/story/2</loc></url></urlset>").encode()
                kind = "application/xml"
            else:
                items = "".join(f"<item><title>{p}</title><link>{self.base}{p}</link></item>" for p in self.FEEDS[path])
                body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Lighthouse</title>'
                        f"<link>{self.base}/</link>{items}</channel></rss>").encode()
                kind = "application/rss+xml"
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if if_none_match == etag:
                return 304, b"", {"ETag": etag}
            return 200, body, {"Content-Type": kind, "ETag": etag}
        if path.startswith(("/story/", "/private/")):
            return 200, article_html(int(path.rsplit("/", 1)[1])), {"Content-Type": "text/html; charset=utf-8"}
        return 404, b"not found", {"Content-Type": "text/plain"}

    def since(self, mark: int) -> list[tuple[str, int]]:
        return sorted(self.log[mark:])

    def robots_fetches(self) -> int:
        return sum(path == "/robots.txt" for path, _ in self.log)


def outlets_text(base: str) -> str:
    def outlet(name: str, sources: str) -> str:
        return (f'[[outlet]]\nname = "{name}"\ntitle = "{name.title()}"\nhomepage = "{base}/"\n'
                f'language = "en"\n{sources}\n')
    return (outlet("harbour", f'feeds = ["{base}/feed.xml"]\nsitemaps = ["{base}/sitemap.xml"]')
            + outlet("sister", f'feeds = ["{base}/sister.xml"]')
            + outlet("guarded", f'feeds = ["{base}/guarded.xml"]'))


def _serve_polls(dsn: str, text: str, conn, stock_robots: bool) -> None:
    """The child: one reactor and one CrawlSession per allow-list, polling on command."""
    from crawler import robots, run

    clock = [0.0]
    robots.SHARED.clock = lambda: clock[0]
    if stock_robots:  # the control: Scrapy's own per-crawler middleware
        wirewatch_settings = run.scrapy_settings

        def stock_settings(options):
            settings = wirewatch_settings(options)
            middlewares = dict(settings["DOWNLOADER_MIDDLEWARES"])
            del middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"]
            del middlewares["crawler.robots.SharedRobotsTxtMiddleware"]
            return {**settings, "DOWNLOADER_MIDDLEWARES": middlewares}

        run.scrapy_settings = stock_settings
    outlets = {o.name: o for o in parse_outlets(text)}

    async def main() -> None:
        sessions: dict[tuple[str, ...], run.CrawlSession] = {}
        try:
            while True:
                message = await asyncio.to_thread(conn.recv)
                if message[0] == "stop":
                    return
                try:
                    if message[0] == "advance":
                        clock[0] += message[1]
                        reply = None
                    else:
                        _, names, networks = message
                        if networks not in sessions:
                            sessions[networks] = run.CrawlSession(run.CrawlOptions(
                                dsn=dsn, user_agent="wirewatch-test", allowed_networks=networks,
                                throttle_start_delay=0.05, retry_backoff=0.01))
                        reply = await sessions[networks].crawl([outlets[n] for n in names])
                    conn.send(("ok", reply))
                except Exception as exc:
                    conn.send(("error", f"{type(exc).__name__}: {exc}"))
        finally:
            for session in sessions.values():
                session.close()

    run.run_on_reactor(main)


class Poller:
    """A daemon-like process polling outlets on command; `advance` moves its robots cache clock."""

    def __init__(self, dsn: str, text: str, stock_robots: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        # Not a daemon process: the crawl starts its own (crawler.extract_worker); close() ends it.
        self.process = ctx.Process(target=_serve_polls, args=(dsn, text, child, stock_robots))
        self.process.start()
        child.close()

    def _ask(self, *message):
        self.conn.send(message)
        assert self.conn.poll(120), "the polling process did not answer"
        kind, payload = self.conn.recv()
        assert kind == "ok", payload
        return payload

    def poll(self, *names: str, networks: tuple[str, ...] = LOOPBACK):
        return self._ask("crawl", names, networks)

    def advance(self, seconds: float) -> None:
        self._ask("advance", seconds)

    def close(self) -> None:
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


@pytest.fixture
def poller(site: Site, dsn: str):
    text = outlets_text(site.base)
    with psycopg.connect(dsn) as conn:
        sync_outlets(conn, parse_outlets(text))
    started: list[Poller] = []

    def start(stock_robots: bool = False) -> Poller:
        started.append(Poller(dsn, text, stock_robots))
        return started[-1]

    yield start
    for p in started:
        p.close()


def test_an_unchanged_outlet_costs_one_304_per_source_and_robots_txt_once(site: Site, poller) -> None:
    p = poller()
    [first] = p.poll("harbour")
    assert first.ok and first.articles_stored == 2
    # Feed and sitemap are two crawlers fetching at once: the second waits for the first's robots.txt.
    assert site.robots_fetches() == 1
    for _ in range(2):
        mark = len(site.log)
        [again] = p.poll("harbour")
        assert site.since(mark) == [("/feed.xml", 304), ("/sitemap.xml", 304)]
        assert again.ok and again.sources_unchanged == 2 and again.links_seen == 0


def test_scrapys_own_middleware_fetches_robots_txt_on_every_poll(site: Site, poller) -> None:
    """The control: the measurement above can fail. Scrapy's middleware caches per crawler."""
    p = poller(stock_robots=True)
    p.poll("harbour")
    mark = len(site.log)
    [again] = p.poll("harbour")
    assert again.sources_unchanged == 2
    assert site.since(mark) == [("/feed.xml", 304), ("/robots.txt", 200), ("/robots.txt", 200), ("/sitemap.xml", 304)]


def test_robots_txt_is_fetched_again_once_its_ttl_has_passed(site: Site, poller) -> None:
    p = poller()
    p.poll("harbour")
    p.advance(DEFAULT_TTL - 1)
    p.poll("harbour")
    assert site.robots_fetches() == 1
    p.advance(2)
    mark = len(site.log)
    p.poll("harbour")
    assert site.since(mark) == [("/feed.xml", 304), ("/robots.txt", 200), ("/sitemap.xml", 304)]
    p.poll("harbour")
    assert site.robots_fetches() == 2


def test_a_cached_disallow_is_obeyed_until_the_ttl_passes(site: Site, poller) -> None:
    p = poller()
    [first] = p.poll("guarded")
    assert first.articles_stored == 1 and first.errors == 1  # /private/5: forbidden by robots.txt
    site.robots = "User-agent: *\nAllow: /\n"  # not seen before the TTL passes
    mark = len(site.log)
    [second] = p.poll("guarded")
    # The feed comes in full (a refused article keeps its validators unsaved), /private/5 is refused again.
    assert site.since(mark) == [("/guarded.xml", 200)]
    assert second.errors == 1
    p.advance(DEFAULT_TTL)
    mark = len(site.log)
    [third] = p.poll("guarded")
    assert site.since(mark) == [("/guarded.xml", 200), ("/private/5", 200), ("/robots.txt", 200)]
    assert third.articles_stored == 1 and third.errors == 0


@pytest.mark.parametrize("together", [False, True], ids=["one-after-the-other", "at-once"])
def test_two_outlets_on_one_host_share_one_robots_fetch(site: Site, poller, together: bool) -> None:
    p = poller()
    results = p.poll("harbour", "sister") if together else [*p.poll("harbour"), *p.poll("sister")]
    assert [r.ok for r in results] == [True, True]
    assert site.robots_fetches() == 1
    assert Counter(path for path, _ in site.log)["/story/3"] == 1


def test_a_cached_robots_txt_lets_no_unsafe_destination_through(site: Site, poller) -> None:
    p = poller()
    p.poll("harbour")  # allowed to reach loopback: robots.txt cached for this host
    mark = len(site.log)
    [refused] = p.poll("harbour", networks=())  # a crawl not allowed to reach loopback
    assert not refused.ok and "unsafe destination" in (refused.error or "")
    assert site.log[mark:] == []


def test_a_5xx_robots_txt_allows_this_crawl_and_is_asked_again_a_404_is_kept(site: Site, poller) -> None:
    """Scrapy parses whatever body comes back: a 503 or a 404 page holds no rules, so all is allowed.
    A 5xx is a passing state: not kept. A 4xx says there is no robots.txt: kept for the TTL."""
    p = poller()
    site.robots_status, site.robots = 503, "busy"
    [first] = p.poll("sister")
    assert first.ok and first.articles_stored == 1
    fetched = site.robots_fetches()
    assert fetched >= 1  # with the retries of a 503
    p.poll("sister")
    assert site.robots_fetches() > fetched
    site.robots_status, site.robots = 404, "not found"
    p.poll("sister")
    fetched = site.robots_fetches()
    mark = len(site.log)
    p.poll("sister")
    assert site.robots_fetches() == fetched and site.since(mark) == [("/sister.xml", 304)]


# The cache alone, without a crawl.

def key(url: str) -> str:
    return robots_key(urlparse(url))


def test_the_key_is_scheme_host_and_port() -> None:
    assert key("https://Example.org/a") == key("https://example.org:443/b") == "https://example.org:443"
    assert key("http://example.org/") == "http://example.org:80"
    assert len({key("http://example.org/"), key("https://example.org/"), key("http://example.org:8080/")}) == 3


def test_the_cache_forgets_after_its_ttl_and_when_cleared() -> None:
    now = [0.0]
    cache = RobotsCache(clock=lambda: now[0])
    cache.put("http://a:80", "rules-a", 10)  # type: ignore[arg-type]
    now[0] = 99.0
    assert cache.get("http://a:80", ttl=100) == "rules-a"
    now[0] = 100.0
    assert cache.get("http://a:80", ttl=100) is MISSING and len(cache) == 0 and cache.bytes == 0
    cache.put("http://a:80", "rules-a", 10)  # type: ignore[arg-type]
    cache.clear()
    assert cache.get("http://a:80", ttl=100) is MISSING


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = RobotsCache(max_entries=2, max_bytes=100, max_body=60)
    cache.put("a", "A", 10)  # type: ignore[arg-type]
    cache.put("b", "B", 10)  # type: ignore[arg-type]
    assert cache.get("a", ttl=60) == "A"  # now b is the least recently used
    cache.put("c", "C", 10)  # type: ignore[arg-type]
    assert [cache.get(k, ttl=60) for k in "abc"] == ["A", MISSING, "C"]
    cache.put("d", "D", 60)  # type: ignore[arg-type]  # 10 + 10 + 60 > 100 bytes: a goes
    assert cache.get("a", ttl=60) is MISSING and cache.bytes == 70
    assert not cache.put("e", "E", 61)  # type: ignore[arg-type]  # a robots.txt above max_body is not kept
    assert cache.get("e", ttl=60) is MISSING


def test_a_pending_fetch_is_announced_once_and_always_released() -> None:
    async def scenario() -> None:
        cache = RobotsCache()
        mine = cache.begin("k")
        assert mine is not None and cache.begin("k") is None and cache.pending("k") is mine
        cache.end("k", mine)
        assert mine.done() and cache.pending("k") is None
        other = cache.begin("k")
        cache.clear()  # waiters on a cleared cache are released, not left hanging
        assert other is not None and other.done()

    asyncio.run(scenario())
