"""Run the generic spiders for some outlets, once, into the archive.

`crawl()` starts a Twisted reactor, which cannot be restarted within a process
(scrapy/scrapy#2941): call it once per process; the scheduler runs each crawl in a fresh
child process (`scheduler.jobs`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
from scrapy.crawler import CrawlerProcess
from twisted.internet.task import LoopingCall

from crawler.ingest import IngestTarget, Stored, ingest_page
from crawler.items import FetchedPage
from crawler.outlet import Outlet
from crawler.spiders.base import CrawlContext, OutletSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.section import SectionSpider
from crawler.spiders.sitemap import SitemapSpider
from db import articles, runs
from db.connect import create_pool

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 15.0


@dataclass(frozen=True)
class CrawlOptions:
    dsn: str
    user_agent: str
    concurrency: int = 16
    per_domain_concurrency: int = 2
    download_timeout: float = 30.0
    max_page_bytes: int = 10 * 1024 * 1024
    obey_robots: bool = True
    dedupe_window: timedelta = timedelta(days=3)
    throttle_start_delay: float = 2.0


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
        "RETRY_TIMES": 2,
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # Handlers are the caller's (scheduler.logs); progress is our own line (see _report_progress).
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOGSTATS_INTERVAL": 0,
        "ITEM_PIPELINES": {"crawler.pipelines.ArchivePipeline": 300},
    }


def crawl(outlets: list[Outlet], options: CrawlOptions, now: datetime | None = None) -> list[OutletResult]:
    """Crawl each outlet once (all concurrently) and return one result per outlet. Blocks."""
    now = now or datetime.now(timezone.utc)
    pool = create_pool(options.dsn, min_size=1, max_size=2, name="crawl")
    try:
        return _crawl(outlets, options, now, pool)
    finally:
        pool.close()


def _crawl(outlets, options, now, pool) -> list[OutletResult]:
    claimed: set[str] = set()
    tally: Counter = Counter()

    def claim_new(urls: list[str]) -> list[str]:
        fresh = [u for u in urls if u not in claimed]
        with pool.connection() as conn:
            known = articles.known_urls(conn, fresh)
        new = [u for u in fresh if u not in known]
        claimed.update(new)
        return new

    process = CrawlerProcess(scrapy_settings(options))
    contexts: list[CrawlContext] = []
    for outlet in outlets:
        with pool.connection() as conn:
            run_id = runs.start_run(conn, outlet.name)
        target = IngestTarget(outlet=outlet.name, wire=outlet.wire, rules=outlet.rules, run_id=run_id,
                              dedupe_window=options.dedupe_window)
        context = CrawlContext(outlet=outlet, run_id=run_id, now=now, claim_new=claim_new,
                               count=_counter(pool, run_id, tally), ingest=_ingester(pool, target, tally))
        contexts.append(context)
        for spider in spiders_for(outlet):
            process.crawl(spider, context=context)
    progress = LoopingCall(_report_progress, tally, len(contexts))
    progress.start(PROGRESS_EVERY_SECONDS, now=False)
    process.start()

    results = []
    for context in contexts:
        ok = context.sources_ok > 0
        error = describe_failures(context.source_failures)
        with pool.connection() as conn:
            row = runs.finish_run(conn, context.run_id, "ok" if ok else "failed", error)
        results.append(OutletResult(
            outlet=row.outlet, run_id=row.id, ok=ok, error=error, pages_fetched=row.pages_fetched,
            articles_stored=row.articles_stored, copies_detected=row.copies_detected,
            duplicates_skipped=row.duplicates_skipped, pages_skipped=row.pages_skipped, errors=row.errors,
        ))
        if not ok:
            log.error("crawl of %s failed: %s", row.outlet, error or "no source could be fetched",
                      extra={"event": "crawl_failed", "outlet": row.outlet})
        elif error:
            log.warning("crawl of %s: some sources failed: %s", row.outlet, error,
                        extra={"event": "sources_failed", "outlet": row.outlet})
    return results


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


def _counter(pool, run_id: int, tally: Counter):
    def count(**increments: int) -> None:
        tally.update(increments)
        try:
            with pool.connection() as conn:
                runs.count(conn, run_id, **increments)
        except psycopg.OperationalError as exc:
            log.warning("could not update counters of run %d: %s", run_id, exc,
                        extra={"event": "db_unavailable"})
    return count


def _ingester(pool, target: IngestTarget, tally: Counter):
    def ingest(page: FetchedPage):
        try:
            with pool.connection() as conn:
                result = ingest_page(conn, page, target)
            tally.update(pages_fetched=1, articles_stored=int(isinstance(result, Stored)),
                         copies_detected=int(isinstance(result, Stored) and result.copy_of is not None))
            return result
        except psycopg.OperationalError as exc:
            # Nothing was committed for this page; it is not archived, so the next crawl fetches it again.
            log.error("%s %s not stored, database unavailable: %s", target.outlet, page.final_url,
                      str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                      extra={"event": "db_unavailable", "outlet": target.outlet, "url": page.final_url})
            return None
    return ingest
