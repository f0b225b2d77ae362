"""The `crawl_runs` table: one row per crawl or import of an outlet, with its counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES

# links_skipped: links no request could be made of (malformed); pages_not_stored: fetched pages
# whose store failed (each is in `errors` too).
COUNTERS = ("pages_fetched", "articles_stored", "copies_detected", "duplicates_skipped", "pages_skipped", "errors",
            "links_skipped", "pages_not_stored")


@dataclass(frozen=True)
class RunRow:
    id: int
    outlet: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    pages_fetched: int
    articles_stored: int
    copies_detected: int
    duplicates_skipped: int
    pages_skipped: int
    errors: int
    error: str | None
    links_skipped: int = 0
    pages_not_stored: int = 0


def start_run(conn: psycopg.Connection, outlet: str, kind: str = "crawl") -> int:
    return conn.execute(QUERIES["start_run"], {"outlet": outlet, "kind": kind}).fetchone()[0]


def count(conn: psycopg.Connection, run_id: int, **increments: int) -> None:
    """Add to a run's counters; call inside the transaction of the work being counted."""
    unknown = set(increments) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown run counters: {sorted(unknown)}")
    conn.execute(QUERIES["count_in_run"], {c: increments.get(c, 0) for c in COUNTERS} | {"id": run_id})


def finish_run(conn: psycopg.Connection, run_id: int, status: str, error: str | None = None) -> RunRow:
    with conn.cursor(row_factory=class_row(RunRow)) as cur:
        return cur.execute(QUERIES["finish_run"], {"id": run_id, "status": status, "error": error}).fetchone()


def get_run(conn: psycopg.Connection, run_id: int) -> RunRow | None:
    with conn.cursor(row_factory=class_row(RunRow)) as cur:
        return cur.execute(QUERIES["get_run"], {"id": run_id}).fetchone()


def record_discovery(conn: psycopg.Connection, run_id: int, *, owner: str | None, links_seen: int, links_new: int,
                     sources_unchanged: int) -> None:
    conn.execute(QUERIES["record_run_discovery"], {
        "id": run_id, "owner": owner, "links_seen": links_seen, "links_new": links_new,
        "sources_unchanged": sources_unchanged})


def publication_delays(conn: psycopg.Connection, run_id: int) -> list[float]:
    return [row[0] for row in conn.execute(QUERIES["run_publication_delays"], {"id": run_id})]


@dataclass(frozen=True)
class RunYield:
    """A finished run with its extraction yield: of `pages_extracted`, how many gave each field."""

    outlet: str
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    pages_fetched: int
    articles_stored: int
    pages_skipped: int
    pages_extracted: int
    with_title: int
    with_body: int
    with_date: int
    with_author: int
    links_skipped: int = 0
    pages_not_stored: int = 0


def count_yield(conn: psycopg.Connection, run_id: int, *, title: bool, body: bool, date: bool, author: bool) -> None:
    """Count one extracted page in its run's yield; call inside the transaction of the page's work."""
    conn.execute(QUERIES["count_extraction_yield"], {
        "id": run_id, "title": int(title), "body": int(body), "date": int(date), "author": int(author),
    })


def recent_yields(conn: psycopg.Connection, runs_per_outlet: int) -> list[RunYield]:
    """Each outlet's latest finished runs, newest first (grouped by outlet)."""
    with conn.cursor(row_factory=class_row(RunYield)) as cur:
        return cur.execute(QUERIES["recent_run_yields"], {"runs": runs_per_outlet}).fetchall()
