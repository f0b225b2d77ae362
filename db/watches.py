"""The `watches` and `watch_channels` tables: stored queries and where their alerts go.

Channel URLs are secrets (apprise URLs carry tokens and passwords): only
`channel_secrets` returns them, for sending; every listing returns the masked form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

import psycopg
from psycopg.rows import class_row

from db import bigrams
from db.queries import QUERIES


@dataclass(frozen=True)
class WatchFields:
    """What a watch is, as stored (channels apart)."""

    name: str
    query: str
    outlets: list[str]
    language: str | None
    mode: str
    daily_at: time | None
    time_zone: str
    updates: bool
    source: str


@dataclass(frozen=True)
class QueryCheck:
    english: str
    simple: str
    time_zone_known: bool


@dataclass(frozen=True)
class WatchRow(WatchFields):
    """A stored watch: its fields, PostgreSQL's reading of its query, masked channels, alert count."""

    id: int
    parsed: str
    created_at: datetime
    updated_at: datetime
    channels: list[str]  # masked
    alerts: int


@dataclass(frozen=True)
class ChannelSecret:
    id: int
    url: str
    masked: str

    def __repr__(self) -> str:
        return f"ChannelSecret(id={self.id}, masked={self.masked!r})"


@dataclass(frozen=True)
class MatchRow:
    id: int
    outlet: str
    title: str
    url: str
    published_at: datetime | None
    fetched_at: datetime
    copies: int


def check(conn: psycopg.Connection, query: str, time_zone: str) -> QueryCheck:
    """PostgreSQL's own parse of a query; an empty tsquery means it has no searchable word."""
    with conn.cursor(row_factory=class_row(QueryCheck)) as cur:
        return cur.execute(QUERIES["check_watch"], {"query": query, "time_zone": time_zone}).fetchone()


def insert_watch(conn: psycopg.Connection, fields: WatchFields) -> int | None:
    """The new id, or None when the name is taken."""
    row = conn.execute(QUERIES["insert_watch"], _with_bigram_query(fields)).fetchone()
    return row[0] if row else None


def update_watch(conn: psycopg.Connection, fields: WatchFields) -> int | None:
    row = conn.execute(QUERIES["update_watch"], _with_bigram_query(fields)).fetchone()
    return row[0] if row else None


def _with_bigram_query(fields: WatchFields) -> dict:
    """The watch's fields with its query over Japanese articles' bigram column (migration 0008)."""
    query_cjk, terms_cjk = bigrams.build_query(fields.query)
    return fields.__dict__ | {"query_cjk": query_cjk, "terms_cjk": terms_cjk}


def reindex_bigram_queries(conn: psycopg.Connection) -> int:
    """Recompute every watch's bigram query (watches created before migration 0008)."""
    rows = conn.execute(QUERIES["watch_queries"]).fetchall()
    for watch_id, query in rows:
        query_cjk, terms_cjk = bigrams.build_query(query)
        conn.execute(QUERIES["set_watch_cjk"], {"id": watch_id, "query_cjk": query_cjk, "terms_cjk": terms_cjk})
    return len(rows)


def delete_watch(conn: psycopg.Connection, name: str) -> str | None:
    """The removed watch's source ('cli' or 'config'), or None when there was none."""
    row = conn.execute(QUERIES["delete_watch"], {"name": name}).fetchone()
    return row[0] if row else None


def release_config_watches_except(conn: psycopg.Connection, names: list[str]) -> list[tuple[str, int]]:
    """(name, alerts) of each config watch not in `names`: deleted when alerts is 0, else kept as a
    command-line watch."""
    return [(r[0], r[1]) for r in conn.execute(QUERIES["release_config_watches_except"], {"names": names})]


def set_channels(conn: psycopg.Connection, watch_id: int, channels: list[tuple[str, str]]) -> None:
    """Make (url, masked) pairs the watch's channels; kept ones keep their delivery history."""
    conn.execute(QUERIES["remove_other_channels"], {"watch_id": watch_id, "urls": [u for u, _ in channels]})
    for url, masked in channels:
        conn.execute(QUERIES["add_watch_channel"], {"watch_id": watch_id, "url": url, "masked": masked})


def list_watches(conn: psycopg.Connection, name: str | None = None) -> list[WatchRow]:
    with conn.cursor(row_factory=class_row(WatchRow)) as cur:
        return cur.execute(QUERIES["list_watches"], {"name": name}).fetchall()


def get_watch(conn: psycopg.Connection, name: str) -> WatchRow | None:
    found = list_watches(conn, name)
    return found[0] if found else None


def channel_secrets(conn: psycopg.Connection, name: str) -> list[ChannelSecret]:
    with conn.cursor(row_factory=class_row(ChannelSecret)) as cur:
        return cur.execute(QUERIES["watch_channel_secrets"], {"name": name}).fetchall()


def matches(conn: psycopg.Connection, name: str, limit: int = 20) -> list[MatchRow]:
    with conn.cursor(row_factory=class_row(MatchRow)) as cur:
        return cur.execute(QUERIES["watch_matches"], {"name": name, "limit": limit}, prepare=False).fetchall()
