"""The `raw_pages` table: the page each article was extracted from, gzip-compressed."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from db.queries import QUERIES
from db.storable import storable


@dataclass(frozen=True)
class RawPage:
    article_id: int
    url: str
    status: int | None
    content_type: str | None
    headers: dict
    fetched_at: datetime
    body_size: int
    body_gzip: bytes

    @property
    def body(self) -> bytes:
        return gzip.decompress(self.body_gzip)


def store_raw_page(
    conn: psycopg.Connection, *, article_id: int, url: str, body: bytes, status: int | None,
    content_type: str | None, headers: dict[str, str],
) -> None:
    # Headers are decoded as Latin-1 and may hold a NUL, which jsonb refuses (db/storable.py).
    conn.execute(QUERIES["insert_raw_page"], {
        "article_id": article_id, "url": storable(url), "status": status, "content_type": storable(content_type),
        "headers": Jsonb(storable(headers)), "body_size": len(body), "body_gzip": gzip.compress(body, 6),
    })


def get_raw_page(conn: psycopg.Connection, article_id: int) -> RawPage | None:
    with conn.cursor(row_factory=class_row(RawPage)) as cur:
        return cur.execute(QUERIES["get_raw_page"], {"article_id": article_id}).fetchone()
