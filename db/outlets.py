"""The `outlets` table: configured outlets, host-named ones, and their crawl state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def wire_flags(conn: psycopg.Connection, names: list[str]) -> dict[str, bool]:
    return dict(conn.execute(QUERIES["outlet_wire_flags"], {"names": names}).fetchall())


def record_crawl_outcome(
    conn: psycopg.Connection, *, name: str, ok: bool, error: str | None, next_due_at: datetime | None
) -> None:
    conn.execute(QUERIES["record_crawl_outcome"],
                 {"name": name, "ok": ok, "error": error, "next_due_at": next_due_at})


def delete_outlets_with_prefix(conn: psycopg.Connection, prefix: str) -> list[str]:
    if not prefix:
        raise ValueError("refusing to delete every outlet: empty prefix")
    return [row[0] for row in conn.execute(QUERIES["delete_outlets_like"], {"prefix": prefix})]
