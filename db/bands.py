"""The `article_bands` table: each article's MinHash LSH band keys (crawler/minhash.py)."""

from __future__ import annotations

from datetime import datetime

import psycopg

from db.queries import QUERIES


def insert_bands(conn: psycopg.Connection, article_id: int, at: datetime, band_keys: list[int]) -> None:
    """Index an article's band keys; `at` is the time the dedupe window is measured from."""
    conn.execute(QUERIES["insert_bands"], {"article_id": article_id, "at": at, "band_keys": band_keys})


def replace_bands(conn: psycopg.Connection, article_id: int, at: datetime, band_keys: list[int]) -> None:
    """Re-index an article whose text changed (re-extraction)."""
    conn.execute(QUERIES["delete_bands"], {"article_id": article_id})
    insert_bands(conn, article_id, at, band_keys)
