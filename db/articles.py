"""The `articles` and `article_urls` tables: the archive itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES

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


@dataclass(frozen=True)
class CandidateRow:
    """An archived article as the dedupe check sees it: its text cut to a bounded prefix."""

    id: int
    outlet: str
    published_at: datetime | None
    fetched_at: datetime
    copy_of: int | None
    wire: bool
    text: str


@dataclass(frozen=True)
class SearchHit:
    id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    copy_of: int | None
    rank: float


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


def same_text(conn: psycopg.Connection, text_hash: str, chars: int) -> list[CandidateRow]:
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["same_text"], {"text_hash": text_hash, "chars": chars}).fetchall()


def candidate(conn: psycopg.Connection, article_id: int, chars: int) -> CandidateRow:
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["candidate_by_id"], {"id": article_id, "chars": chars}).fetchone()


def near_candidates(
    conn: psycopg.Connection, *, around: datetime, window: timedelta, language: str | None, chars: int,
    limit: int = 500,
) -> list[CandidateRow]:
    with conn.cursor(row_factory=class_row(CandidateRow)) as cur:
        return cur.execute(QUERIES["near_candidates"], {
            "around": around, "window": window, "language": language, "chars": chars, "limit": limit,
        }).fetchall()


def insert_article(conn: psycopg.Connection, article: NewArticle) -> int | None:
    """The new id, or None when the canonical URL is already archived."""
    row = conn.execute(QUERIES["insert_article"], article.__dict__).fetchone()
    return row[0] if row else None


def repoint_copies(conn: psycopg.Connection, *, old_original: int, new_original: int) -> int:
    return conn.execute(QUERIES["repoint_copies"],
                        {"old_original": old_original, "new_original": new_original}).rowcount


def get_article(conn: psycopg.Connection, article_id: int) -> ArticleRow | None:
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(QUERIES["get_article"], {"id": article_id}).fetchone()


def articles_of_outlets(conn: psycopg.Connection, outlets: list[str]) -> list[ArticleRow]:
    with conn.cursor(row_factory=class_row(ArticleRow)) as cur:
        return cur.execute(QUERIES["list_articles_of_outlets"], {"outlets": outlets}).fetchall()


def search(
    conn: psycopg.Connection, query: str, *, outlet: str | None = None, language: str | None = None,
    since: datetime | None = None, until: datetime | None = None, limit: int = 20,
) -> list[SearchHit]:
    with conn.cursor(row_factory=class_row(SearchHit)) as cur:
        return cur.execute(QUERIES["search_articles"], {
            "query": query, "outlet": outlet, "language": language, "since": since, "until": until,
            "limit": limit,
        }).fetchall()
