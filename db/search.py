"""Reading the archive: one code path for `wirewatch search|show|export`, the HTTP API and the web UI.

The query text goes to PostgreSQL as a parameter of `websearch_to_tsquery`, which accepts any
string (unbalanced quotes, a lone `-`, `OR OR`): bad syntax can match nothing, never fail or
reach SQL as text. `as_record()` is the stable JSON shape of each row (README "Search output").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from db import bigrams
from db.articles import ArticleRow, CopyRow, copies_of
from db.pages import RawPage
from db.queries import QUERIES

# ts_headline wraps each matched term between these two characters (never found in article text).
MARK_START, MARK_END = "\x02", "\x03"
SORTS = ("relevance", "date")


@dataclass(frozen=True)
class Filters:
    query: str | None
    outlet: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, Any]:
        # the same query over the bigram column of Japanese articles, and the terms its snippets mark
        cjk, cjk_terms = bigrams.build_query(self.query)
        return {"query": self.query, "outlet": self.outlet, "language": self.language, "since": self.since,
                "until": self.until, "cjk": cjk, "cjk_terms": cjk_terms}


@dataclass(frozen=True)
class Hit:
    id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    copy_of: int | None
    story_id: int | None
    wire_service: str | None
    rank: float
    score: float
    total: int  # rows the whole query has (every page)
    snippet: str  # matched terms between MARK_START and MARK_END
    copies: list[CopyRow] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.id, "published": self.published_at, "outlet": self.outlet, "title": self.title,
            "url": self.url, "language": self.language, "copy_of": self.copy_of, "story_id": self.story_id,
            "wire": self.wire_service, "score": round(self.score, 6), "snippet": plain_snippet(self.snippet),
            "highlights": matched_terms(self.snippet),
            "also_carried_by": [copy_record(c) for c in self.copies],
        }


@dataclass(frozen=True)
class Story:
    story_id: int
    first_published: datetime
    reports: int  # originals: different texts
    copies: int
    outlets: list[str]
    title: str
    originals: list[int]

    def as_record(self) -> dict[str, Any]:
        return {"story": self.story_id, "first_published": self.first_published, "reports": self.reports,
                "copies": self.copies, "outlets": self.outlets, "title": self.title, "originals": self.originals}


@dataclass(frozen=True)
class StoryArticle:
    id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    copy_of: int | None
    wire_service: str | None
    similarity: float | None

    def as_record(self) -> dict[str, Any]:
        return {"id": self.id, "outlet": self.outlet, "title": self.title, "url": self.url,
                "published": self.published_at, "copy_of": self.copy_of, "wire": self.wire_service,
                "similarity": self.similarity}


@dataclass(frozen=True)
class Article(ArticleRow):
    """An article with every extracted field (`ArticleRow` and what migration 0004 added)."""

    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    extractor: str | None = None
    has_raw_page: bool = False

    @property
    def story_key(self) -> int:
        """The key its story is found by: story_id, else its original's id (or its own)."""
        return self.story_id or self.copy_of or self.id

    def as_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "published": self.published_at, "story": self.story_key}


@dataclass(frozen=True)
class CoverageDay:
    day: date
    outlet: str
    articles: int


@dataclass(frozen=True)
class RawPageRow(RawPage):
    article_url: str = ""  # the archive's URL of the article (the page's may differ: redirects)


def search(conn: psycopg.Connection, filters: Filters, *, sort: str = "relevance", expand: bool = False,
           limit: int = 20, offset: int = 0) -> list[Hit]:
    """One page of hits, each original with its copies attached (`expand`: copies as rows too)."""
    if sort not in SORTS:
        raise ValueError(f"sort: expected one of {', '.join(SORTS)}, got {sort!r}")
    with conn.cursor(row_factory=class_row(Hit)) as cur:
        hits = cur.execute(QUERIES["search_page"], filters.params() | {
            "expand": expand, "by_date": sort == "date", "limit": limit, "offset": offset}).fetchall()
    copies = copies_of(conn, [h.id for h in hits if h.copy_of is None])
    return [Hit(**{**h.__dict__, "copies": copies.get(h.id, [])}) for h in hits]


def stories(conn: psycopg.Connection, filters: Filters, *, limit: int = 20, offset: int = 0) -> list[Story]:
    """Stories with a matching article (every story when `filters.query` is None), newest first."""
    with conn.cursor(row_factory=class_row(Story)) as cur:
        return cur.execute(QUERIES["story_page"], filters.params() | {"limit": limit, "offset": offset}).fetchall()


def coverage(conn: psycopg.Connection, filters: Filters) -> list[CoverageDay]:
    with conn.cursor(row_factory=class_row(CoverageDay)) as cur:
        return cur.execute(QUERIES["coverage_by_day"], filters.params()).fetchall()


def article(conn: psycopg.Connection, article_id: int) -> Article | None:
    with conn.cursor(row_factory=class_row(Article)) as cur:
        return cur.execute(QUERIES["article_detail"], {"id": article_id}).fetchone()


def story_articles(conn: psycopg.Connection, story_key: int) -> list[StoryArticle]:
    with conn.cursor(row_factory=class_row(StoryArticle)) as cur:
        return cur.execute(QUERIES["story_articles"], {"story": story_key}).fetchall()


def raw_pages(conn: psycopg.Connection, article_ids: list[int]) -> list[RawPageRow]:
    with conn.cursor(row_factory=class_row(RawPageRow)) as cur:
        return cur.execute(QUERIES["raw_pages_of"], {"ids": article_ids}).fetchall()


def copy_record(c: CopyRow) -> dict[str, Any]:
    return {"id": c.id, "outlet": c.outlet, "url": c.url, "similarity": c.similarity, "published": c.published_at}


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """(text, matched) runs of a marked snippet, for a renderer to emphasise the matches."""
    parts: list[tuple[str, bool]] = []
    for i, chunk in enumerate(snippet.split(MARK_START)):
        if i == 0:
            parts.append((chunk, False))
            continue
        matched, _, rest = chunk.partition(MARK_END)
        parts += [(matched, True), (rest, False)]
    return [(text, matched) for text, matched in parts if text]


def plain_snippet(snippet: str) -> str:
    return " ".join(snippet.replace(MARK_START, "").replace(MARK_END, "").split())


def matched_terms(snippet: str) -> list[str]:
    return list(dict.fromkeys(text for text, matched in snippet_parts(snippet) if matched))



def ping(conn: psycopg.Connection) -> bool:
    return conn.execute(QUERIES["ping"]).fetchone()[0] == 1
