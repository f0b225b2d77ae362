"""One fetched page through extract -> dedupe -> store. Shared by the Scrapy pipeline and `wirewatch import`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg

from crawler import linking
from crawler.extract import Article, Skipped, extract_article
from crawler.extract_worker import ExtractionFailed, TimedExtractor
from crawler.items import FetchedPage
from crawler.outlet import ExtractionRules
from crawler.text_keys import TextKeys, article_keys
from crawler.urls import canonical_url, trustworthy_canonical, url_key
from db import articles, outbox, pages, runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestTarget:
    """Where a page goes: its outlet, that outlet's rules, and the run to count it in."""

    outlet: str
    wire: bool
    rules: ExtractionRules | None
    run_id: int | None
    dedupe_window: timedelta = timedelta(days=3)
    alerts: bool = True  # False: store without raising alerts (an import with --no-alerts)
    alert_max_age: timedelta | None = timedelta(days=2)  # older articles raise none (None: any age)


@dataclass(frozen=True)
class Stored:
    article_id: int
    url: str
    copy_of: int | None
    similarity: float | None
    became_original: bool = False  # an earlier original arrived late and now heads its copies


@dataclass(frozen=True)
class Duplicate:
    article_id: int
    url: str
    reason: str


IngestResult = Stored | Duplicate | Skipped
Extractor = Callable[..., Article | Skipped]  # extract_article's signature (crawler.extract_worker: time-capped)


def ingest_page(conn: psycopg.Connection, page: FetchedPage, target: IngestTarget,
                extract: Extractor = extract_article) -> IngestResult:
    """Extract, deduplicate and store one page in one transaction; counts it in the target's run.

    Never raises for bad page content (that is a Skipped); database errors propagate. A
    TimedExtractor's worker also computes the article's text keys, while this thread stores others.
    """
    request = extraction_request(page, target.rules)
    if isinstance(extract, TimedExtractor):
        extracted, keys = extract.extract_deriving(article_keys, *request)
    else:
        extracted, keys = extract(*request), None
    return ingest_extracted(conn, page, target, extracted, text_keys=keys)


def extraction_request(page: FetchedPage, rules: ExtractionRules | None) -> tuple:
    """The arguments `ingest_page` extracts a page with, for a caller that extracts ahead
    (crawler.extract_worker.TimedExtractor.extract_ahead) and then calls `ingest_extracted`."""
    return (page.body, page.final_url, rules, page.content_type)


def ingest_extracted(conn: psycopg.Connection, page: FetchedPage, target: IngestTarget,
                     extracted: Article | Skipped, body_gzip: bytes | None = None,
                     text_keys: TextKeys | None = None) -> IngestResult:
    """`ingest_page` after the extraction: deduplicate and store in one transaction, count in the run.
    `body_gzip`: the page as db.pages.compress_body gives it, and `text_keys`: `article_keys` of
    the article, when the extraction worker made them; computed here otherwise."""
    if isinstance(extracted, Skipped):
        failed = isinstance(extracted, ExtractionFailed)  # over the time cap: an error of the run too
        with conn.transaction():
            _count(conn, target, pages_fetched=1, pages_skipped=1, errors=int(failed))
            _count_yield(conn, target, extracted)
        log.log(logging.WARNING if failed else logging.INFO, "skipped %s page %s: %s", target.outlet,
                page.final_url, extracted.reason,
                extra={"event": "extraction_failed" if failed else "page_skipped", "outlet": target.outlet,
                       "url": page.final_url})
        return extracted

    url = _archive_url(page, extracted)
    # article_urls holds identity keys (crawler.urls.url_key); the canonical forms find rows
    # recorded before keys existed.
    keys = list(dict.fromkeys(url_key(u) for u in (url, page.url, page.final_url)))
    aliases = list(dict.fromkeys([*keys, url, canonical_url(page.url), canonical_url(page.final_url)]))
    with conn.transaction():
        articles.lock_dedupe(conn)
        result = _dedupe_and_store(conn, page, target, extracted, url, aliases, keys, body_gzip, text_keys)
        with _pipelined(conn):
            _count_yield(conn, target, extracted)
            if isinstance(result, Duplicate):
                _count(conn, target, pages_fetched=1, duplicates_skipped=1)
            else:
                _count(conn, target, pages_fetched=1, articles_stored=1,
                       copies_detected=int(result.copy_of is not None))
        if isinstance(result, Stored):
            # Last in the transaction, after every copy/story link is set: NOTIFY and the alert
            # outbox commit together with the article, or not at all. (Outside the pipeline: it
            # answers with the deliveries enqueued, which a pipeline only knows at its end.)
            outbox.article_stored(conn, result.article_id, alerts=target.alerts, max_age=target.alert_max_age)
    _log_result(result, target)
    return result


def _archive_url(page: FetchedPage, article: Article) -> str:
    """The declared canonical URL when it can be trusted (crawler.urls.trustworthy_canonical),
    else the fetched URL."""
    declared = article.canonical_url
    if trustworthy_canonical(declared, page.final_url):
        return canonical_url(declared)
    return canonical_url(page.final_url)


def _dedupe_and_store(
    conn: psycopg.Connection, page: FetchedPage, target: IngestTarget, extracted: Article, url: str,
    aliases: list[str], keys: list[str], body_gzip: bytes | None, text_keys: TextKeys | None,
) -> Stored | Duplicate:
    known = articles.article_for_urls(conn, aliases)
    if known is not None:
        articles.add_urls(conn, known, keys)
        return Duplicate(known, url, "URL already archived")

    facts = linking.Facts(url=url, outlet=target.outlet, outlet_wire=target.wire, title=extracted.title,
                          text=extracted.text, authors=tuple(extracted.authors),
                          published_at=extracted.published_at, fetched_at=_now())
    decision = linking.decide(conn, facts, window=target.dedupe_window, text_keys=text_keys)
    for row in decision.same_text:
        if row.outlet == target.outlet:
            articles.add_urls(conn, row.id, keys)
            return Duplicate(row.id, url, f"same text as article {row.id} of the same outlet")

    new_id = articles.insert_article(conn, articles.NewArticle(
        url=url, outlet=target.outlet, title=extracted.title, text=extracted.text,
        authors=list(extracted.authors), published_at=extracted.published_at,
        updated_at=extracted.updated_at, language=extracted.language, description=extracted.description,
        text_hash=decision.text_hash, copy_of=decision.copy_of, similarity=decision.similarity,
        crawl_run_id=target.run_id, wire_service=decision.wire_service, story_id=decision.story_id,
        **stored_extras(extracted),
    ))
    if new_id is None:  # the lock makes this unreachable between wirewatch processes; kept for safety
        existing = articles.article_for_urls(conn, [url])
        return Duplicate(existing or 0, url, "URL already archived")
    with _pipelined(conn):
        linking.apply(conn, new_id, facts, decision)
        articles.add_urls(conn, new_id, keys)
        pages.store_raw_page(conn, article_id=new_id, url=page.final_url, body=page.body, status=page.status,
                             content_type=page.content_type, headers=page.headers, body_gzip=body_gzip)
    return Stored(new_id, url, decision.copy_of, decision.similarity, decision.replaces is not None)


def _pipelined(conn: psycopg.Connection) -> contextlib.AbstractContextManager:
    """Statements whose answers nobody reads, sent back to back and answered together (psycopg's
    pipeline mode): one round trip for the lot, where each would wait for its own. A rowcount is
    only known at the end of the block, and so is an error, still inside the transaction, which
    it rolls back."""
    return conn.pipeline() if psycopg.Pipeline.is_supported() else contextlib.nullcontext()


def stored_extras(article: Article) -> dict:
    """The extracted fields beyond the core ones, as the articles table names them."""
    return {"section": article.section, "tags": list(article.tags), "image_url": article.image,
            "site_name": article.site_name, "canonical_url": article.canonical_url, "extractor": article.extractor}


def _count_yield(conn: psycopg.Connection, target: IngestTarget, extracted: Article | Skipped) -> None:
    """The run's extraction yield: a skipped page counts as extracted with nothing found."""
    if target.run_id is None:
        return
    found = isinstance(extracted, Article)
    runs.count_yield(conn, target.run_id, title=found and bool(extracted.title), body=found,
                     date=found and extracted.published_at is not None, author=found and bool(extracted.authors))


def _count(conn: psycopg.Connection, target: IngestTarget, **counters: int) -> None:
    if target.run_id is not None:
        runs.count(conn, target.run_id, **counters)


def _log_result(result: Stored | Duplicate, target: IngestTarget) -> None:
    extra = {"outlet": target.outlet, "url": result.url, "article_id": result.article_id}
    if isinstance(result, Duplicate):
        log.info("already archived %s %s (article %d): %s", target.outlet, result.url, result.article_id,
                 result.reason, extra=extra | {"event": "duplicate"})
    elif result.copy_of is not None:
        log.info("stored %s %s as article %d, a copy of article %d (similarity %.0f)", target.outlet, result.url,
                 result.article_id, result.copy_of, result.similarity, extra=extra | {"event": "copy_stored"})
    else:
        log.info("stored %s %s as article %d%s", target.outlet, result.url, result.article_id,
                 " (earlier original of existing copies)" if result.became_original else "",
                 extra=extra | {"event": "article_stored"})


def _now() -> datetime:
    return datetime.now(timezone.utc)
