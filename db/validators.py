"""The `source_validators` table: ETag, Last-Modified and body hash of feeds, sitemaps and sections.

Saved only once everything a source listed is archived: saving earlier would let a crash
between the feed and its articles turn the next poll into a 304 that hides them.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES


@dataclass(frozen=True)
class Validator:
    url: str
    etag: str | None
    last_modified: str | None
    body_sha256: str | None


def for_outlet(conn: psycopg.Connection, outlet: str) -> dict[str, Validator]:
    with conn.cursor(row_factory=class_row(Validator)) as cur:
        return {v.url: v for v in cur.execute(QUERIES["source_validators"], {"outlet": outlet})}


def save(conn: psycopg.Connection, outlet: str, validators: list[Validator]) -> None:
    with conn.transaction():
        for v in validators:
            conn.execute(QUERIES["save_source_validator"], {
                "url": v.url, "outlet": outlet, "etag": v.etag, "last_modified": v.last_modified,
                "body_sha256": v.body_sha256})


def forget(conn: psycopg.Connection, outlet: str) -> None:
    conn.execute(QUERIES["forget_source_validators"], {"outlet": outlet})
