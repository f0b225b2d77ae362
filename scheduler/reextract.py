"""`wirewatch reextract`: run the current extractor over the archived raw pages again.

After an extractor change, every article whose stored page now extracts differently is
updated in place (its search column is generated, so it follows). An article whose text
changed is checked for copies again with the same decision as a new page
(`crawler.linking.decide`, counting only the articles stored before it), so it can become
a copy, or stop being one. A page that no longer extracts as an article keeps its row: it
is counted and logged, never deleted by a re-run.

Each article is one transaction, so an interrupted re-run keeps what it did and can be run
again; a re-run over unchanged pages changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from crawler import linking
from crawler.extract import Article, Skipped, extract_article
from crawler.ingest import stored_extras
from crawler.outlet import ExtractionRules
from db import articles, bands, pages
from db.articles import EXTRACTED_FIELDS, ExtractionRow

log = logging.getLogger(__name__)


@dataclass
class ReextractSummary:
    examined: int = 0
    changed: int = 0  # any extracted field differs
    texts_changed: int = 0  # of which the text, so dedupe ran again
    relinked: int = 0  # of which the copy link (copy_of) changed
    unchanged: int = 0
    not_articles: int = 0  # the page no longer extracts as an article; the row is kept
    missing: int = 0  # deleted while the re-run went on


def select_articles(conn: psycopg.Connection, *, outlet: str | None, since: datetime | None) -> list[int]:
    """Ids of the articles with a stored page, of `outlet` (or all) fetched since `since` (or ever)."""
    return articles.reextract_ids(conn, outlet=outlet, since=since)


def reextract_articles(
    conn: psycopg.Connection, ids: list[int], *, rules: dict[str, ExtractionRules], dedupe_window: timedelta,
    tick: Callable[[], None] = lambda: None, extract: Callable[..., Article | Skipped] = extract_article,
) -> ReextractSummary:
    """Re-extract each article of `ids` with its outlet's `rules`; `tick` after each one. `extract`:
    extract_article, or a crawler.extract_worker.TimedExtractor for the crawl's time cap."""
    summary = ReextractSummary()
    for article_id in ids:
        with conn.transaction():
            _reextract_one(conn, article_id, rules, dedupe_window, summary, extract)
        summary.examined += 1
        tick()
    return summary


def extracted_fields(article: Article) -> dict:
    """An Article as the columns of EXTRACTED_FIELDS."""
    return {
        "title": article.title, "text": article.text, "authors": list(article.authors),
        "published_at": article.published_at, "updated_at": article.updated_at, "language": article.language,
        "description": article.description, **stored_extras(article),
    }


def _reextract_one(conn: psycopg.Connection, article_id: int, rules: dict[str, ExtractionRules],
                   window: timedelta, summary: ReextractSummary, extract: Callable[..., Article | Skipped]) -> None:
    row = articles.get_extraction(conn, article_id)
    page = pages.get_raw_page(conn, article_id)
    if row is None or page is None:
        summary.missing += 1
        return
    result = extract(page.body, url=page.url, rules=rules.get(row.outlet), content_type=page.content_type)
    if isinstance(result, Skipped):
        summary.not_articles += 1
        log.warning("article %d (%s) no longer extracts as an article: %s; kept as it was", row.id, row.url,
                    result.reason, extra={"event": "reextract_skipped", "outlet": row.outlet, "url": row.url})
        return
    fields = extracted_fields(result)
    if fields == {name: getattr(row, name) for name in EXTRACTED_FIELDS}:
        summary.unchanged += 1
        return
    articles.update_extraction(conn, row.id, fields)
    summary.changed += 1
    if result.text != row.text:
        summary.texts_changed += 1
        if _relink(conn, row, result, window):
            summary.relinked += 1
    log.debug("re-extracted article %d (%s)", row.id, row.url,
              extra={"event": "reextracted", "outlet": row.outlet, "url": row.url})


def _relink(conn: psycopg.Connection, row: ExtractionRow, article: Article, window: timedelta) -> bool:
    """Decide the changed text's copy link as for a new page stored at its place; True if it moved."""
    articles.lock_dedupe(conn)
    before = articles.get_article(conn, row.id)
    facts = linking.Facts(url=row.url, outlet=row.outlet, outlet_wire=row.wire, title=article.title,
                          text=article.text, authors=tuple(article.authors), published_at=article.published_at,
                          fetched_at=row.fetched_at)
    # The copy check and the LSH index follow the new text; story grouping is left to
    # `wirewatch dedupe --rebuild`, which replays every article in order.
    decision = linking.decide(conn, facts, window=window, before=row.id, stories_too=False)
    bands.replace_bands(conn, row.id, facts.at, decision.band_keys)
    articles.set_dedupe_fields(conn, row.id, text_hash=decision.text_hash, wire_service=decision.wire_service,
                               copy_of=decision.copy_of, similarity=decision.similarity,
                               story_id=decision.story_id if decision.story_id is not None else before.story_id)
    return before.copy_of != decision.copy_of
