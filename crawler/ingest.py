"""One fetched page through extract -> dedupe -> store. Shared by the Scrapy pipeline and `wirewatch import`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg

from crawler.dedupe import NEAR_DUPLICATE_THRESHOLD, Candidate, choose_original, similarity, text_fingerprint
from crawler.extract import Article, Skipped, extract_article
from crawler.items import FetchedPage
from crawler.outlet import ExtractionRules
from crawler.urls import canonical_url, is_http_url, same_site
from db import articles, pages, runs

log = logging.getLogger(__name__)

# Characters of each archived text the near-duplicate check reads; dedupe.similarity bounds
# its own work further, this bounds what travels from PostgreSQL.
COMPARE_CHARS = 4000
NEWCOMER_ID = 2**63 - 1


@dataclass(frozen=True)
class IngestTarget:
    """Where a page goes: its outlet, that outlet's rules, and the run to count it in."""

    outlet: str
    wire: bool
    rules: ExtractionRules | None
    run_id: int | None
    dedupe_window: timedelta = timedelta(days=3)


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


def ingest_page(conn: psycopg.Connection, page: FetchedPage, target: IngestTarget) -> IngestResult:
    """Extract, deduplicate and store one page in one transaction; counts it in the target's run.

    Never raises for bad page content (that is a Skipped); database errors propagate.
    """
    extracted = extract_article(page.body, url=page.final_url, rules=target.rules)
    if isinstance(extracted, Skipped):
        with conn.transaction():
            _count(conn, target, pages_fetched=1, pages_skipped=1)
        log.info("skipped %s page %s: %s", target.outlet, page.final_url, extracted.reason,
                 extra={"event": "page_skipped", "outlet": target.outlet, "url": page.final_url})
        return extracted

    url = _archive_url(page, extracted)
    aliases = list(dict.fromkeys([url, canonical_url(page.url), canonical_url(page.final_url)]))
    fingerprint = text_fingerprint(extracted.text)
    with conn.transaction():
        articles.lock_dedupe(conn)
        result = _dedupe_and_store(conn, page, target, extracted, url, aliases, fingerprint)
        if isinstance(result, Duplicate):
            _count(conn, target, pages_fetched=1, duplicates_skipped=1)
        else:
            _count(conn, target, pages_fetched=1, articles_stored=1, copies_detected=int(result.copy_of is not None))
    _log_result(result, target)
    return result


def _archive_url(page: FetchedPage, article: Article) -> str:
    """The declared canonical URL when it is on the page's own site, else the fetched URL.

    A canonical pointing at another site (syndication partners do this) would make the copy
    collide with the original's row, so it is not trusted."""
    declared = article.canonical_url
    if declared and is_http_url(declared) and same_site(declared, page.final_url):
        return canonical_url(declared)
    return canonical_url(page.final_url)


def _dedupe_and_store(
    conn: psycopg.Connection, page: FetchedPage, target: IngestTarget, extracted: Article, url: str,
    aliases: list[str], fingerprint: str,
) -> Stored | Duplicate:
    known = articles.article_for_urls(conn, aliases)
    if known is not None:
        articles.add_urls(conn, known, aliases)
        return Duplicate(known, url, "URL already archived")

    same = articles.same_text(conn, fingerprint, COMPARE_CHARS)
    for row in same:
        if row.outlet == target.outlet:
            articles.add_urls(conn, row.id, aliases)
            return Duplicate(row.id, url, f"same text as article {row.id} of the same outlet")

    match, score = _best_match(conn, extracted, same, target)
    copy_of: int | None = None
    became_original = False
    original: articles.CandidateRow | None = None
    if match is not None:
        original = match if match.copy_of is None else articles.candidate(conn, match.copy_of, chars=0)
        # The newcomer has no id yet; the largest one makes the archived article win full ties.
        newcomer = Candidate(id=NEWCOMER_ID, published_at=extracted.published_at, fetched_at=_now(),
                             wire=target.wire)
        if choose_original([_as_candidate(original), newcomer]) is newcomer:
            became_original = True
        else:
            copy_of = original.id

    new_id = articles.insert_article(conn, articles.NewArticle(
        url=url, outlet=target.outlet, title=extracted.title, text=extracted.text,
        authors=list(extracted.authors), published_at=extracted.published_at,
        updated_at=extracted.updated_at, language=extracted.language, description=extracted.description,
        text_hash=fingerprint, copy_of=copy_of, similarity=score if match is not None else None,
        crawl_run_id=target.run_id,
    ))
    if new_id is None:  # the lock makes this unreachable between wirewatch processes; kept for safety
        existing = articles.article_for_urls(conn, [url])
        return Duplicate(existing or 0, url, "URL already archived")
    if became_original and original is not None:
        articles.repoint_copies(conn, old_original=original.id, new_original=new_id)
    articles.add_urls(conn, new_id, aliases)
    pages.store_raw_page(conn, article_id=new_id, url=page.final_url, body=page.body, status=page.status,
                         content_type=page.content_type, headers=page.headers)
    return Stored(new_id, url, copy_of, score if match is not None else None, became_original)


def _best_match(
    conn: psycopg.Connection, extracted: Article, same: list[articles.CandidateRow], target: IngestTarget
) -> tuple[articles.CandidateRow | None, float]:
    if same:
        return same[0], 100.0
    around = extracted.published_at or _now()
    best: articles.CandidateRow | None = None
    best_score = 0.0
    for row in articles.near_candidates(conn, around=around, window=target.dedupe_window,
                                        language=extracted.language, chars=COMPARE_CHARS):
        score = similarity(extracted.text, row.text)
        if score > best_score:
            best, best_score = row, score
    if best is not None and best_score >= NEAR_DUPLICATE_THRESHOLD:
        return best, best_score
    return None, 0.0


def _as_candidate(row: articles.CandidateRow) -> Candidate:
    return Candidate(id=row.id, published_at=row.published_at, fetched_at=row.fetched_at, wire=row.wire)


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
