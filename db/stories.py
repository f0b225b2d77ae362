"""The `story_vectors` and `term_df` tables: event vectors of originals and the document
frequencies their comparison weighs terms by (crawler/stories.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES

DOCUMENTS_TERM = 0  # the term_df row counting the documents themselves


@dataclass(frozen=True)
class StoryCandidate:
    article_id: int
    story_id: int | None
    terms: list[int]
    weights: list[float]


def story_candidates(
    conn: psycopg.Connection, probe: list[int], *, article_id: int, around: datetime, window: timedelta, limit: int,
) -> list[StoryCandidate]:
    """Originals in the window whose vector holds a probe term, the most shared first."""
    if not probe:
        return []
    with conn.cursor(row_factory=class_row(StoryCandidate)) as cur:
        return cur.execute(QUERIES["story_candidates"], {
            "probe": probe, "id": article_id, "around": around, "window": window, "limit": limit,
        }).fetchall()


def insert_vector(conn: psycopg.Connection, article_id: int, at: datetime, weights: dict[int, float]) -> None:
    conn.execute(QUERIES["insert_story_vector"], {
        "article_id": article_id, "at": at, "terms": list(weights), "weights": list(weights.values()),
    })


def document_frequencies(conn: psycopg.Connection, terms: list[int]) -> tuple[int, dict[int, int]]:
    """(number of documents, term -> number of documents containing it) for the given terms."""
    found = dict(conn.execute(QUERIES["term_frequencies"], {"terms": [DOCUMENTS_TERM, *terms]}).fetchall())
    return found.pop(DOCUMENTS_TERM, 0), found


def count_document(conn: psycopg.Connection, terms: list[int]) -> None:
    """One more document, containing each of `terms` (distinct)."""
    conn.execute(QUERIES["count_terms"], {"terms": [DOCUMENTS_TERM, *terms]})
