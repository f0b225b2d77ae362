"""The `outlets` table: configured outlets, host-named ones, and their crawl state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES


@dataclass(frozen=True)
class OutletRow:
    name: str
    title: str
    homepage: str
    language: str | None
    wire: bool
    interval_seconds: int
    configured: bool
    next_due_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_crawl_at: datetime | None
    last_success_at: datetime | None
    articles: int
    healthy: bool = True
    failure_score: float = 0.0
    poll_seconds: int | None = None
    lease_owner: str | None = None
    alert_delay_seconds: float | None = None  # median publication -> alert delivered, last 7 days


def upsert_outlet(
    conn: psycopg.Connection, *, name: str, title: str, homepage: str, language: str, wire: bool,
    interval_seconds: int,
) -> None:
    conn.execute(QUERIES["upsert_outlet"], {
        "name": name, "title": title, "homepage": homepage, "language": language, "wire": wire,
        "interval_seconds": interval_seconds,
    })


def ensure_host_outlet(conn: psycopg.Connection, *, name: str, homepage: str, language: str | None) -> None:
    conn.execute(QUERIES["ensure_host_outlet"], {"name": name, "homepage": homepage, "language": language})


def list_outlets(conn: psycopg.Connection) -> list[OutletRow]:
    with conn.cursor(row_factory=class_row(OutletRow)) as cur:
        return cur.execute(QUERIES["list_outlets"]).fetchall()


def names_with_articles(conn: psycopg.Connection) -> list[str]:
    return [name for (name,) in conn.execute(QUERIES["outlets_with_articles"])]


def record_crawl_outcome(
    conn: psycopg.Connection, *, name: str, ok: bool, error: str | None, next_due_at: datetime | None
) -> None:
    conn.execute(QUERIES["record_crawl_outcome"],
                 {"name": name, "ok": ok, "error": error, "next_due_at": next_due_at})


def delete_outlets_with_prefix(conn: psycopg.Connection, prefix: str) -> list[str]:
    if not prefix:
        raise ValueError("refusing to delete every outlet: empty prefix")
    return [row[0] for row in conn.execute(QUERIES["delete_outlets_like"], {"prefix": prefix})]


@dataclass(frozen=True)
class ScheduleRow:
    """An outlet's scheduling state: what `scheduler.due` decides from, and who holds it."""

    name: str
    interval_seconds: int
    poll_seconds: int | None
    min_interval_seconds: int | None
    max_interval_seconds: int | None
    failure_score: float
    consecutive_failures: int
    next_due_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None


@dataclass(frozen=True)
class CrawlOutcome:
    """What `finish_crawl` writes: the crawl's result and the policy's decision."""

    ok: bool
    error: str | None
    consecutive_failures: int
    failure_score: float
    healthy: bool
    next_due_at: datetime
    poll_seconds: int
    run_id: int | None


def set_poll_bounds(conn: psycopg.Connection, *, name: str, min_seconds: int | None, max_seconds: int | None) -> None:
    conn.execute(QUERIES["set_poll_bounds"], {"name": name, "min_seconds": min_seconds, "max_seconds": max_seconds})


def claim(conn: psycopg.Connection, *, name: str, owner: str, now: datetime, lease: timedelta,
          force: bool = False) -> ScheduleRow | None:
    """Lease the outlet if it is due (or `force`) and free; None when it is not ours to crawl now.

    Commits, so the lease is visible to other processes at once."""
    with conn.transaction(), conn.cursor(row_factory=class_row(ScheduleRow)) as cur:
        row = cur.execute(QUERIES["claim_outlet"], {
            "name": name, "owner": owner, "now": now, "lease": lease, "force": force}).fetchone()
    return row


def schedule(conn: psycopg.Connection, name: str) -> ScheduleRow | None:
    with conn.cursor(row_factory=class_row(ScheduleRow)) as cur:
        return cur.execute(QUERIES["outlet_schedule"], {"name": name}).fetchone()


def renew_lease(conn: psycopg.Connection, *, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """False when the lease was lost (expired and taken over)."""
    with conn.transaction():
        row = conn.execute(QUERIES["renew_lease"], {"name": name, "owner": owner, "now": now, "lease": lease}).fetchone()
    return row is not None


def interrupt_stale_runs(conn: psycopg.Connection, *, outlet: str, keep: list[int]) -> None:
    with conn.transaction():
        conn.execute(QUERIES["interrupt_stale_runs"], {"outlet": outlet, "keep": keep})


def finish_crawl(conn: psycopg.Connection, *, name: str, owner: str, now: datetime, outcome: CrawlOutcome) -> bool:
    """Record the outcome and release the lease; False if another process had taken the lease over."""
    with conn.transaction():
        row = conn.execute(QUERIES["finish_crawl"], {
            "name": name, "owner": owner, "now": now, "ok": outcome.ok, "error": outcome.error,
            "consecutive_failures": outcome.consecutive_failures, "failure_score": outcome.failure_score,
            "healthy": outcome.healthy, "next_due_at": outcome.next_due_at, "poll_seconds": outcome.poll_seconds,
            "run_id": outcome.run_id,
        }).fetchone()
    return row is not None


def release_leases(conn: psycopg.Connection, owner: str) -> list[str]:
    with conn.transaction():
        return [r[0] for r in conn.execute(QUERIES["release_leases"], {"owner": owner})]


def lease_owners(conn: psycopg.Connection, prefix: str) -> list[str]:
    return [r[0] for r in conn.execute(QUERIES["lease_owners_like"], {"prefix": prefix})]


@dataclass(frozen=True)
class ArchiveTotals:
    articles: int
    copies: int
    stories: int
    database_bytes: int


def archive_totals(conn: psycopg.Connection) -> ArchiveTotals:
    with conn.cursor(row_factory=class_row(ArchiveTotals)) as cur:
        return cur.execute(QUERIES["archive_totals"]).fetchone()
