"""The `articles` and `article_urls` tables: the archive itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from db import bigrams
from db.queries import QUERIES
from db.storable import storable

# Arbitrary constant: the advisory lock key serialising dedupe-and-store ("wwdedupe").
DEDUPE_LOCK_KEY = 0x7777646564757065


@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str
    outlet: str
    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    updated_at: datetime | None
    fetched_at: datetime
    language: str | None
    description: str | None
    copy_of: int | None
    similarity: float | None
    story_id: int | None = None
    wire_service: str | None = None


@dataclass(frozen=True)
class CandidateRow:
    """An archived article as the dedupe check sees it: its text cut to a bounded prefix."""

    id: int
    url: str
    outlet: str
    published_at: datetime | None
    fetched_at: datetime
    copy_of: int | None
    story_id: int | None
    wire: bool  # its outlet is a wire service
    wire_service: str | None  # the wire service it carries
    text: str
    shared_bands: int = 0  # LSH band keys in common with the text looked up


@dataclass(frozen=True)
class CopyRow:
    original_id: int
    id: int
    outlet: str
    url: str
    similarity: float | None
    published_at: datetime | None


@dataclass(frozen=True)
class RebuildRow:
    """An article as `wirewatch dedupe --rebuild` re-reads it."""

    id: int
    url: str
    outlet: str
    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    text_hash: str
    wire: bool


@dataclass(frozen=True)
class LinkSummary:
    copies: int
    originals: int
    stories: int  # stories with more than one original
    wire_attributed: int


@dataclass(frozen=True)
class NewArticle:
    url: str
    outlet: str
    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    updated_at: datetime | None
    language: str | None
    description: str | None
    text_hash: str
    copy_of: int | None
    similarity: float | None
    crawl_run_id: int | None
    wire_service: str | None = None
    story_id: int | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    extractor: str | None = None


def known_urls(conn: psycopg.Connection, urls: list[str]) -> set[str]:
    if not urls:
        return set()
    return {row[0] for row in conn.execute(QUERIES["known_urls"], {"urls": urls})}


def article_for_urls(conn: psycopg.Connection, urls: list[str]) -> int | None:
    row = conn.execute(QUERIES["article_for_urls"], {"urls": urls}).fetchone()
    return row[0] if row else None


def add_urls(conn: psycopg.Connection, article_id: int, urls: list[str]) -> None:
    for url in dict.fromkeys(urls):
        conn.execute(QUERIES["add_article_url"], {"url": url, "article_id": article_id})


def lock_dedupe(conn: psycopg.Connection) -> None:
    conn.execute(QUERIES["lock_dedupe"], {"key": DEDUPE_LOCK_KEY})


def same_text(conn: psycopg.Connection, text_hash: str, chars: int, before: int = 2**63 - 1) -> list[CandidateRow]:
    """Articles with this fingerprint stored before article id `before` (all, by default)."""
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["same_text"], {"text_hash": text_hash, "chars": chars, "before": before}).fetchall()


def candidate(conn: psycopg.Connection, article_id: int, chars: int) -> CandidateRow:
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["candidate_by_id"], {"id": article_id, "chars": chars}).fetchone()


def lsh_candidates(
    conn: psycopg.Connection, keys: list[int], *, around: datetime, window: timedelta, chars: int, limit: int,
) -> list[CandidateRow]:
    """Articles sharing a band key within the window, the most shared keys first."""
    if not keys:
        return []
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["lsh_candidates"], {
            "keys": keys, "around": around, "window": window, "chars": chars, "limit": limit,
        }).fetchall()


def insert_article(conn: psycopg.Connection, article: NewArticle) -> int | None:
    """The new id, or None when the canonical URL is already archived. Every string is made
    storable first (db/storable.py: no NUL, no lone surrogate), authors and tags included."""
    fields = storable(article.__dict__)
    search_cjk = bigram_vector(fields["title"], fields["description"], fields["text"], fields["language"])
    row = conn.execute(QUERIES["insert_article"], fields | {"search_cjk": search_cjk}).fetchone()
    return row[0] if row else None


def set_copy_link(conn: psycopg.Connection, article_id: int, *, copy_of: int | None, similarity: float | None,
                  story_id: int | None) -> None:
    conn.execute(QUERIES["set_copy_link"],
                 {"id": article_id, "copy_of": copy_of, "similarity": similarity, "story_id": story_id})


def copies_of(conn: psycopg.Connection, original_ids: list[int]) -> dict[int, list[CopyRow]]:
    """original id -> its copies, earliest first."""
    found: dict[int, list[CopyRow]] = {i: [] for i in original_ids}
    if original_ids:
        with conn.cursor(row_factory=class_row(CopyRow)) as cur:
            for row in cur.execute(QUERIES["copies_of"], {"ids": original_ids}):
                found[row.original_id].append(row)
    return found


def get_article(conn: psycopg.Connection, article_id: int) -> ArticleRow | None:
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(QUERIES["get_article"], {"id": article_id}).fetchone()


def articles_of_outlets(conn: psycopg.Connection, outlets: list[str]) -> list[ArticleRow]:
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(QUERIES["list_articles_of_outlets"], {"outlets": outlets}).fetchall()


def set_story(conn: psycopg.Connection, article_id: int, story_id: int) -> None:
    """Put an article and its copies in a story."""
    conn.execute(QUERIES["set_story"], {"id": article_id, "story_id": story_id})


def set_dedupe_fields(conn: psycopg.Connection, article_id: int, *, text_hash: str, wire_service: str | None,
                      copy_of: int | None, similarity: float | None, story_id: int | None) -> None:
    conn.execute(QUERIES["set_dedupe_fields"], {
        "id": article_id, "text_hash": text_hash, "wire_service": wire_service, "copy_of": copy_of,
        "similarity": similarity, "story_id": story_id,
    })


def reset_dedupe(conn: psycopg.Connection) -> int:
    """Forget every copy and story link and the indexes behind them; returns the rows touched."""
    cleared = conn.execute(QUERIES["reset_dedupe"]).fetchone()[0]
    conn.execute(QUERIES["clear_dedupe_index"])
    return cleared


def count_articles(conn: psycopg.Connection) -> int:
    return conn.execute(QUERIES["count_articles"]).fetchone()[0]


def articles_after(conn: psycopg.Connection, after: int, limit: int) -> list[RebuildRow]:
    with conn.cursor(row_factory=class_row(RebuildRow)) as cur:
        return cur.execute(QUERIES["articles_after"], {"after": after, "limit": limit}).fetchall()


def link_summary(conn: psycopg.Connection) -> LinkSummary:
    with conn.cursor(row_factory=class_row(LinkSummary)) as cur:
        return cur.execute(QUERIES["link_summary"]).fetchone()


@dataclass(frozen=True)
class ExtractionRow:
    """An article's extracted fields, as `wirewatch reextract` compares and replaces them."""

    id: int
    url: str
    outlet: str
    wire: bool  # its outlet is a wire service
    fetched_at: datetime
    title: str
    text: str
    authors: list[str]
    published_at: datetime | None
    updated_at: datetime | None
    language: str | None
    description: str | None
    section: str | None
    tags: list[str]
    image_url: str | None
    site_name: str | None
    canonical_url: str | None
    extractor: str | None


EXTRACTED_FIELDS = ("title", "text", "authors", "published_at", "updated_at", "language", "description",
                    "section", "tags", "image_url", "site_name", "canonical_url", "extractor")


def reextract_ids(conn: psycopg.Connection, *, outlet: str | None, since: datetime | None) -> list[int]:
    return [row[0] for row in conn.execute(QUERIES["reextract_ids"], {"outlet": outlet, "since": since})]


def get_extraction(conn: psycopg.Connection, article_id: int) -> ExtractionRow | None:
    with conn.cursor(row_factory=class_row(ExtractionRow)) as cur:
        return cur.execute(QUERIES["get_extraction"], {"id": article_id}).fetchone()


def update_extraction(conn: psycopg.Connection, article_id: int, fields: dict) -> None:
    """Replace the EXTRACTED_FIELDS of an article (all of them: `fields` must name each), made storable."""
    fields = storable({name: fields[name] for name in EXTRACTED_FIELDS})
    conn.execute(QUERIES["update_extraction"], {name: fields[name] for name in EXTRACTED_FIELDS} | {
        "id": article_id, "search_cjk": bigram_vector(fields["title"], fields["description"], fields["text"],
                                                      fields["language"])})


def bigram_vector(title: str, description: str | None, text: str, language: str | None) -> str | None:
    """tsvector text of the bigram column (migration 0008) for Japanese and Chinese articles, else None."""
    if not bigrams.uses_bigrams(language, text):
        return None
    return bigrams.tsvector_text(title, description, text)


def index_bigrams(conn: psycopg.Connection, *, batch: int = 500, limit: int | None = None) -> int:
    """Give archived Japanese articles without one their bigram column (rows stored before 0008);
    returns how many were indexed. One transaction per batch."""
    done, after = 0, 0
    while limit is None or done < limit:
        with conn.transaction():
            rows = conn.execute(QUERIES["articles_to_bigram_index"], {"after": after, "limit": batch}).fetchall()
            for article_id, title, description, text, language in rows:
                vector = bigram_vector(title, description, text, language)
                if vector is not None:
                    conn.execute(QUERIES["set_search_cjk"], {"id": article_id, "search_cjk": vector})
                    done += 1
        if len(rows) < batch:
            return done
        after = rows[-1][0]
    return done
