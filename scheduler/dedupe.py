"""`wirewatch dedupe --rebuild`: recompute every copy link, story and wire attribution from scratch.

The rebuild replays `crawler.linking` over the archive in storage order (article id), each
article seeing only those stored before it, exactly as when it was ingested; so it gives
the links incremental processing gives, and it is how new dedupe rules or thresholds reach
an existing archive. One transaction under the dedupe lock: searches keep seeing the old
links until it commits, and crawls wait for it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import click
import psycopg

from crawler import linking
from db import articles
from db.connect import connect

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class RebuildSummary:
    articles: int
    copies: int
    originals: int
    stories: int  # stories of more than one original
    wire_attributed: int
    seconds: float


def rebuild_links(
    conn: psycopg.Connection, *, window: timedelta, progress: Callable[[int, int], None] | None = None,
) -> RebuildSummary:
    """Forget and recompute all copy and story links; `progress(done, total)` after each batch."""
    started = time.monotonic()
    with conn.transaction():
        articles.lock_dedupe(conn)
        articles.reset_dedupe(conn)
        total = articles.count_articles(conn)
        done, after = 0, 0
        while batch := articles.articles_after(conn, after, BATCH):
            for row in batch:
                _relink(conn, row, window)
            done += len(batch)
            after = batch[-1].id
            if progress:
                progress(done, total)
        summary = articles.link_summary(conn)
    elapsed = time.monotonic() - started
    log.info("dedupe rebuilt over %d articles in %.1fs: %d copies, %d stories", done, elapsed, summary.copies,
             summary.stories, extra={"event": "dedupe_rebuilt"})
    return RebuildSummary(articles=done, copies=summary.copies, originals=summary.originals,
                          stories=summary.stories, wire_attributed=summary.wire_attributed, seconds=elapsed)


def _relink(conn: psycopg.Connection, row: articles.RebuildRow, window: timedelta) -> None:
    facts = linking.Facts(url=row.url, outlet=row.outlet, outlet_wire=row.wire, title=row.title, text=row.text,
                          authors=tuple(row.authors), published_at=row.published_at, fetched_at=row.fetched_at)
    decision = linking.decide(conn, facts, window=window, before=row.id)
    # After the reset the row has no links; an UPDATE (which recomputes its search column)
    # only when something is to be set.
    if (decision.text_hash != row.text_hash or decision.wire_service or decision.copy_of is not None
            or decision.story_id is not None):
        articles.set_dedupe_fields(conn, row.id, text_hash=decision.text_hash, wire_service=decision.wire_service,
                                   copy_of=decision.copy_of, similarity=decision.similarity,
                                   story_id=decision.story_id)
    linking.apply(conn, row.id, facts, decision)
    if decision.copy_of is not None:
        log.debug("%s %s is a copy of article %d", row.outlet, row.url, decision.copy_of,
                  extra={"event": "copy_relinked", "outlet": row.outlet, "url": row.url})


def run_rebuild(dsn: str, *, window: timedelta) -> RebuildSummary:
    """The `wirewatch dedupe --rebuild` command: a progress bar on stderr, a summary on stdout."""
    with connect(dsn) as conn:
        total = articles.count_articles(conn)
        with click.progressbar(length=total, label="Relinking articles", file=click.get_text_stream("stderr"),
                               show_pos=True) as bar:
            seen = 0

            def advance(done: int, _total: int) -> None:
                nonlocal seen
                bar.update(done - seen)
                seen = done

            summary = rebuild_links(conn, window=window, progress=advance)
    rate = summary.articles / summary.seconds if summary.seconds else 0.0
    click.echo(f"Rebuilt copy and story links of {summary.articles} articles in {summary.seconds:.1f}s "
               f"({rate:.0f} articles/s):")
    click.echo(f"  {summary.originals} originals, {summary.copies} syndicated copies")
    click.echo(f"  {summary.stories} stories with more than one report")
    click.echo(f"  {summary.wire_attributed} articles credited to a wire service")
    return summary
