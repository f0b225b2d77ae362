"""Run the generic spiders for some outlets into the archive.

`CrawlSession` lives as long as its process: one Scrapy `AsyncCrawlerRunner` on the asyncio
reactor, one connection pool, the ingest worker threads and the per-host limiter; the daemon
awaits `session.crawl(outlets)` again and again without restarting a reactor (Twisted's
cannot be restarted, scrapy/scrapy#2941). `crawl()` is the blocking one-shot form for a
process that crawls once (`wirewatch demo`, a child process).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import psycopg
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.utils.reactor import install_reactor

from crawler.hostlimit import HostLimiter
from crawler.extract import extract_article
from crawler.extract_worker import TimedExtractor
from crawler.ingest import Extractor, IngestTarget, Stored, ingest_page
from crawler.items import FetchedPage
from crawler.outlet import Outlet
from crawler.spiders.base import CrawlContext, DiscoveryLimits, OutletSpider, SourceState
from crawler.spiders.feed import FeedSpider
from crawler.spiders.section import SectionSpider
from crawler.spiders.sitemap import SitemapSpider
from crawler.urls import url_key
from db import articles, runs, validators
from db.connect import create_pool

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 15.0
# Threads parsing feeds and sitemaps for every outlet of the process (OutletSpider.off_loop). Two:
# one enormous source cannot hold up the others' parsing, and the GIL makes more of no use.
PARSE_THREADS = 2
SWITCH_INTERVAL = 0.001
DB_RETRY_FIRST_PAUSE = 0.5
DB_RETRY_MAX_PAUSE = 8.0
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
T = TypeVar("T")


@dataclass(frozen=True)
class CrawlOptions:
    dsn: str
    user_agent: str
    concurrency: int = 16
    per_domain_concurrency: int = 2
    download_timeout: float = 30.0
    max_page_bytes: int = 10 * 1024 * 1024
    # Seconds one page's extraction may take; it runs in a worker process that is killed past this.
    extract_timeout: float = 20.0
    obey_robots: bool = True
    robots_ttl: float = 24 * 3600.0  # seconds a robots.txt is reused by later crawls (crawler.robots)
    dedupe_window: timedelta = timedelta(days=3)
    alert_max_age: timedelta | None = timedelta(days=2)  # an article published longer ago raises no alert
    throttle_start_delay: float = 2.0
    # Threads running extract -> dedupe -> store, so a slow page never stalls the event loop
    # that downloads for every outlet (dedupe-and-store is serialised by its advisory lock anyway).
    ingest_workers: int = 2
    # Networks the crawler may connect to although they are not public (crawler.safety); the
    # tests and `wirewatch demo` allow loopback, production allows nothing by default.
    allowed_networks: tuple[str, ...] = ()
    dns_timeout: float = 10.0
    max_redirects: int = 5
    # Sitemaps may be larger than a page (50 MB uncompressed is the sitemaps.org limit).
    max_sitemap_bytes: int = 50 * 1024 * 1024
    # Pauses before retrying a 429/5xx (crawler.middlewares.BackoffMiddleware).
    retry_backoff: float = 1.0
    max_retry_wait: float = 30.0
    host_failure_limit: int = 5
    # A page whose store fails on a database error is retried for this long (with backoff)
    # before it is left to the next crawl.
    db_retry_seconds: float = 60.0
    # What one outlet's crawl may discover (crawler.spiders.base.DiscoveryLimits); newest first past a cap.
    max_sitemap_children: int = 50
    max_sitemap_depth: int = 2
    max_sitemap_fetches: int = 100
    max_sitemap_urls: int = 1000
    max_feed_items: int = 500
    max_article_requests: int = 2000

    @property
    def discovery_limits(self) -> DiscoveryLimits:
        return DiscoveryLimits(
            sitemap_children=self.max_sitemap_children, sitemap_depth=self.max_sitemap_depth,
            sitemap_fetches=self.max_sitemap_fetches, sitemap_urls=self.max_sitemap_urls,
            feed_items=self.max_feed_items, article_requests=self.max_article_requests)


@dataclass(frozen=True)
class OutletResult:
    outlet: str
    run_id: int
    ok: bool
    error: str | None
    pages_fetched: int
    articles_stored: int
    copies_detected: int
    duplicates_skipped: int
    pages_skipped: int
    errors: int
    links_seen: int = 0
    links_new: int = 0
    links_skipped: int = 0  # malformed links skipped alone (also in errors)
    pages_not_stored: int = 0  # fetched pages whose store failed (also in errors)
    sources_unchanged: int = 0
    failure_kinds: tuple[str, ...] = ()
    completed: bool = True  # False when the crawl was stopped (shutdown) before it finished
    seconds: float = 0.0
    retry_after: float = 0.0  # a server's Retry-After longer than a crawl waits: not due before then


def spiders_for(outlet: Outlet) -> list[type[OutletSpider]]:
    kinds: list[type[OutletSpider]] = []
    if outlet.feeds:
        kinds.append(FeedSpider)
    if outlet.sitemaps:
        kinds.append(SitemapSpider)
    if outlet.sections:
        kinds.append(SectionSpider)
    return kinds


def scrapy_settings(options: CrawlOptions) -> dict:
    return {
        "BOT_NAME": "wirewatch",
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": options.obey_robots,
        "CONCURRENT_REQUESTS": options.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": options.per_domain_concurrency,
        "DOWNLOAD_TIMEOUT": options.download_timeout,
        # Enforced while downloading and while decompressing (HttpCompressionMiddleware).
        "DOWNLOAD_MAXSIZE": options.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": options.throttle_start_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(options.per_domain_concurrency),
        "DNS_TIMEOUT": options.dns_timeout,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [],  # statuses are retried by crawler.middlewares.BackoffMiddleware
        "REDIRECT_MAX_TIMES": options.max_redirects,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # HTTP(S) only: file://, data:, ftp:// and s3:// URLs in a feed are never fetched.
        "DOWNLOAD_HANDLERS": {"file": None, "data": None, "ftp": None, "s3": None},
        "WIREWATCH_ALLOWED_NETWORKS": list(options.allowed_networks),
        "WIREWATCH_SITEMAP_MAX_BYTES": max(options.max_sitemap_bytes, options.max_page_bytes),
        "WIREWATCH_RETRY_BACKOFF": options.retry_backoff,
        "WIREWATCH_MAX_RETRY_WAIT": options.max_retry_wait,
        "WIREWATCH_HOST_FAILURE_LIMIT": options.host_failure_limit,
        "WIREWATCH_ROBOTS_TTL": options.robots_ttl,
        # Handlers are the caller's (scheduler.logs); progress is our own line (see _report_progress).
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOGSTATS_INTERVAL": 0,
        "ITEM_PIPELINES": {"crawler.pipelines.ArchivePipeline": 300},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.UnsafeDestinationMiddleware": 40,  # before robots.txt is fetched
            # robots.txt kept for every crawl of the process, not fetched again by each (Scrapy's is per crawler).
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robots.SharedRobotsTxtMiddleware": 100,
            "crawler.hostlimit.HostLimitMiddleware": 950,
            # Last before the download: checks the breaker once the host's slot is free, and pauses
            # for Retry-After while holding that slot (the retry keeps it, see hostlimit.SLOT_META).
            "crawler.middlewares.BackoffMiddleware": 960,
        },
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
    }


class CrawlSession:
    """Crawls outlets again and again in this process, on the running asyncio reactor."""

    def __init__(self, options: CrawlOptions, owner: str | None = None) -> None:
        self.options = options
        self.owner = owner
        self.pool = create_pool(options.dsn, min_size=1, max_size=options.ingest_workers + 2, name="crawl")
        self.runner = AsyncCrawlerRunner(scrapy_settings(options))
        self.workers = ThreadPoolExecutor(options.ingest_workers, thread_name_prefix="ingest")
        self.parsers = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="parse")
        # The loop gives up the GIL at every socket call and waits up to the switch interval to get
        # it back from a parsing thread (the "convoy effect"): at Python's 5 ms, the other outlets
        # of a process parsing a 40,000-item feed waited up to 1.3 s between requests; at 1 ms, 0.4 s.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self.extract = TimedExtractor(options.extract_timeout)  # a worker process per ingest thread
        self.host_limiter = HostLimiter(options.per_domain_concurrency)
        self.tally: Counter = Counter()
        self.tally_lock = threading.Lock()
        self.stopping = False

    async def crawl(self, outlets: list[Outlet], now: datetime | None = None) -> list[OutletResult]:
        """Crawl each outlet once (all concurrently); one result per outlet."""
        now = now or datetime.now(timezone.utc)
        loop = asyncio.get_running_loop()
        started = loop.time()
        claimed: set[str] = set()  # per call: a session-wide set would grow for months

        def claim_new(urls: list[str]) -> list[str]:
            # By identity key (crawler.urls.url_key): the AMP, mobile, http and https addresses
            # of one page are claimed once; canonical forms match rows recorded before keys.
            fresh: dict[str, str] = {}
            for u in urls:
                if (key := url_key(u)) not in claimed:
                    fresh.setdefault(key, u)
            with self.pool.connection() as conn:
                known = articles.known_urls(conn, [*fresh, *fresh.values()])
            new = {k: u for k, u in fresh.items() if k not in known and u not in known}
            claimed.update(new)
            return list(new.values())

        contexts: list[CrawlContext] = []
        tasks = []
        for outlet in outlets:
            with self.pool.connection() as conn:
                run_id = runs.start_run(conn, outlet.name)
                conn.commit()
                known = validators.for_outlet(conn, outlet.name)
            target = IngestTarget(outlet=outlet.name, wire=outlet.wire, rules=outlet.rules, run_id=run_id,
                                  dedupe_window=self.options.dedupe_window, alert_max_age=self.options.alert_max_age)
            context = CrawlContext(
                outlet=outlet, run_id=run_id, now=now, claim_new=claim_new,
                count=_counter(self.pool, run_id, self.tally, self.tally_lock),
                ingest=_ingester(self.pool, target, self.tally, self.tally_lock, self.options.db_retry_seconds,
                                 self.extract),
                validators={v.url: SourceState(v.etag, v.last_modified, v.body_sha256) for v in known.values()},
                host_limiter=self.host_limiter, workers=self.workers,
                limits=self.options.discovery_limits, parsers=self.parsers,
            )
            contexts.append(context)
            if not self.stopping:
                tasks += [self.runner.crawl(spider, context=context) for spider in spiders_for(outlet)]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        seconds = loop.time() - started
        return [self._finish(context, seconds) for context in contexts]

    def _finish(self, context: CrawlContext, seconds: float) -> OutletResult:
        completed = not self.stopping
        ok = context.sources_ok > 0
        error = describe_failures(context.source_failures) or (None if completed else "stopped by shutdown")
        with self.pool.connection() as conn:
            if ok and completed and context.articles_failed == 0 and context.fresh_validators:
                # Only now: everything the sources listed is archived (see db/validators.py).
                validators.save(conn, context.outlet.name, [
                    validators.Validator(url, v.etag, v.last_modified, v.body_sha256)
                    for url, v in context.fresh_validators.items()])
            runs.record_discovery(conn, context.run_id, owner=self.owner, links_seen=context.links_seen,
                                  links_new=context.links_new, sources_unchanged=context.sources_unchanged)
            row = runs.finish_run(conn, context.run_id, "ok" if ok else "failed", error)
            conn.commit()
        if context.articles_missing:
            named = ", ".join(context.missing_named)
            more = f" and {context.articles_missing - len(context.missing_named)} more" \
                if context.articles_missing > len(context.missing_named) else ""
            log.warning("crawl of %s: %d article links answered 404 or 410 (%s%s)", row.outlet,
                        context.articles_missing, named, more,
                        extra={"event": "articles_missing", "outlet": row.outlet, "count": context.articles_missing})
        if not ok:
            log.error("crawl of %s failed: %s", row.outlet, error or "no source could be fetched",
                      extra={"event": "crawl_failed", "outlet": row.outlet})
        elif error and completed:
            log.warning("crawl of %s: some sources failed: %s", row.outlet, error,
                        extra={"event": "sources_failed", "outlet": row.outlet})
        return OutletResult(
            outlet=row.outlet, run_id=row.id, ok=ok, error=error, pages_fetched=row.pages_fetched,
            articles_stored=row.articles_stored, copies_detected=row.copies_detected,
            duplicates_skipped=row.duplicates_skipped, pages_skipped=row.pages_skipped, errors=row.errors,
            links_seen=context.links_seen, links_new=context.links_new, links_skipped=row.links_skipped,
            pages_not_stored=row.pages_not_stored, sources_unchanged=context.sources_unchanged,
            failure_kinds=tuple(context.failure_kinds),
            completed=completed, seconds=seconds, retry_after=context.retry_after,
        )

    async def stop(self) -> None:
        """Graceful stop: no new requests; pages already fetched finish ingesting; returns when done."""
        self.stopping = True
        self.host_limiter.close()  # requests not yet downloading are dropped: fetched next time
        await self.runner.stop()
        await self.runner.join()

    def progress(self, outlets: int) -> None:
        _report_progress(self.tally, outlets)

    def close(self) -> None:
        self.workers.shutdown(wait=True)
        self.parsers.shutdown(wait=False, cancel_futures=True)
        self.extract.close()
        self.pool.close()


def run_on_reactor(main: Callable[[], Awaitable[T]], *, stop_on: Callable[[], Awaitable[None]] | None = None) -> T:
    """Install the asyncio reactor, run `main()` to completion on it, and return its result.

    For a process that crawls once; a reactor cannot run twice in one process. SIGINT/SIGTERM
    call `stop_on()` (a graceful stop) when given."""
    install_reactor(ASYNCIO_REACTOR)
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor

    outcome: dict[str, object] = {}

    async def wrapper() -> None:
        try:
            outcome["value"] = await main()
        except BaseException as exc:  # re-raised below, outside the reactor
            outcome["error"] = exc
        finally:
            reactor.callLater(0, reactor.stop)

    if stop_on is not None:
        def on_signal(signum: int, _frame) -> None:
            reactor.callFromThread(lambda: deferred_from_coro(stop_on()))
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
    reactor.callWhenRunning(lambda: deferred_from_coro(wrapper()))
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def crawl(outlets: list[Outlet], options: CrawlOptions, now: datetime | None = None) -> list[OutletResult]:
    """Crawl each outlet once (all concurrently) and return one result per outlet. Blocks; once per process."""
    session: CrawlSession | None = None

    async def main() -> list[OutletResult]:
        nonlocal session
        session = CrawlSession(options)
        progress = asyncio.get_running_loop().call_later(PROGRESS_EVERY_SECONDS, _repeat, session, len(outlets))
        try:
            return await session.crawl(outlets, now)
        finally:
            progress.cancel()

    async def stop() -> None:
        if session is not None:
            await session.stop()

    try:
        return run_on_reactor(main, stop_on=stop)
    finally:
        if session is not None:
            session.close()


def _repeat(session: CrawlSession, outlets: int) -> None:
    session.progress(outlets)
    asyncio.get_running_loop().call_later(PROGRESS_EVERY_SECONDS, _repeat, session, outlets)


def describe_failures(failures: list[tuple[str, str]]) -> str | None:
    """One readable sentence: failed sources grouped by reason ("3 sources: DNS lookup failed ...")."""
    if not failures:
        return None
    by_reason: dict[str, list[str]] = {}
    for url, reason in failures:
        by_reason.setdefault(reason, []).append(url)
    parts = []
    for reason, urls in by_reason.items():
        shown = ", ".join(urls[:3]) + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")
        parts.append(f"{reason} ({shown})" if len(urls) == 1 else f"{len(urls)} sources: {reason} ({shown})")
    return "; ".join(parts)[:1000]


def _report_progress(tally: Counter, outlets: int) -> None:
    log.info("crawling %d outlets: %d pages fetched, %d articles stored, %d copies, %d errors so far",
             outlets, tally["pages_fetched"], tally["articles_stored"], tally["copies_detected"], tally["errors"],
             extra={"event": "crawl_progress"})


def _counter(pool, run_id: int, tally: Counter, lock: threading.Lock):
    def count(**increments: int) -> None:
        with lock:
            tally.update(increments)
        try:
            with pool.connection() as conn:
                runs.count(conn, run_id, **increments)
        except psycopg.OperationalError as exc:
            log.warning("could not update counters of run %d: %s", run_id, exc,
                        extra={"event": "db_unavailable"})
    return count


def _ingester(pool, target: IngestTarget, tally: Counter, lock: threading.Lock, retry_seconds: float = 0.0,
              extract: Extractor = extract_article):
    def ingest(page: FetchedPage):
        deadline = time.monotonic() + retry_seconds
        pause = DB_RETRY_FIRST_PAUSE
        while True:
            try:
                with pool.connection(timeout=max(1.0, min(10.0, retry_seconds))) as conn:
                    result = ingest_page(conn, page, target, extract)
                break
            except psycopg.OperationalError as exc:
                if not database_unavailable(exc):
                    return _not_stored(pool, target, page, exc)
                # The store is one transaction: retrying cannot double the article. A commit whose
                # answer was lost finds its own row on the retry (URL already archived).
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if time.monotonic() + pause > deadline:
                    # Not archived, and the source's validators stay unsaved: the next crawl fetches it.
                    log.error("%s %s not stored, database unavailable: %s", target.outlet, page.final_url, reason,
                              extra={"event": "db_unavailable", "outlet": target.outlet, "url": page.final_url})
                    return None
                log.warning("%s %s: database unavailable (%s); retrying in %.0fs", target.outlet, page.final_url,
                            reason, pause, extra={"event": "db_retry", "outlet": target.outlet, "url": page.final_url})
                time.sleep(pause)
                pause = min(pause * 2, DB_RETRY_MAX_PAUSE)
            except Exception as exc:  # this page only: the crawl goes on (see _not_stored)
                return _not_stored(pool, target, page, exc)
        with lock:
            tally.update(pages_fetched=1, articles_stored=int(isinstance(result, Stored)),
                         copies_detected=int(isinstance(result, Stored) and result.copy_of is not None))
        return result
    return ingest


# SQLSTATE classes of an OperationalError worth waiting for: connection exception, insufficient
# resources, operator intervention (shutdown, cancel), system error, rollback (serialization,
# deadlock). Client-side failures (no SQLSTATE: refused, reset, pool timeout) too. Not, for
# instance, 54 "program limit exceeded" (an index row too big): that page fails the same way
# every time, and retrying it for db_retry_seconds would only hold an ingest thread.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "58", "40")


def database_unavailable(exc: psycopg.OperationalError) -> bool:
    return exc.sqlstate is None or exc.sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES


def _not_stored(pool, target: IngestTarget, page: FetchedPage, exc: Exception) -> None:
    """A page whose store failed for a reason of its own: one line, counted in the run (pages_not_stored
    and errors; the transaction that would have counted it rolled back), and None, so the source's
    validators stay unsaved and the next crawl tries it again. A refusal by the database (a value it
    cannot store, a limit) is a line; anything else is a bug on the store path, logged with its traceback."""
    refused = isinstance(exc, (psycopg.Error, UnicodeError))
    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    log.error("%s %s not stored: %s", target.outlet, page.final_url, reason, exc_info=not refused,
              extra={"event": "store_failed", "outlet": target.outlet, "url": page.final_url})
    if target.run_id is not None:
        try:
            with pool.connection() as conn:
                runs.count(conn, target.run_id, pages_not_stored=1, errors=1)
        except psycopg.OperationalError as count_exc:
            log.warning("could not update counters of run %d: %s", target.run_id, count_exc,
                        extra={"event": "db_unavailable"})
    return None
