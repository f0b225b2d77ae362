"""The `alerts` and `alert_deliveries` tables: the transactional outbox of new-article alerts.

`article_stored` runs inside the transaction that stores an article, so an alert exists
exactly when its article does. Drainers claim due deliveries with a lease
(`FOR UPDATE SKIP LOCKED`), send outside any transaction, and mark the outcome only while
their claim still holds: a drainer that dies after claiming leaves rows that become
claimable again when the lease expires.
"""

from __future__ import annotations

import os
import socket
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from db.queries import QUERIES


@dataclass(frozen=True)
class ClaimedDelivery:
    id: int
    attempts: int
    alert_id: int
    kind: str
    watch: str
    mode: str
    time_zone: str
    channel_id: int
    channel_url: str  # secret
    channel: str      # masked
    article_id: int
    title: str
    outlet: str
    outlet_title: str
    url: str
    published: str
    snippet: str
    copy_outlets: list[str]
    copy_urls: list[str]

    def __repr__(self) -> str:
        return f"ClaimedDelivery(id={self.id}, watch={self.watch!r}, channel={self.channel!r})"


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None
    created_at: datetime
    kind: str
    watch: str
    channel: str  # masked
    article_id: int
    outlet: str
    title: str


@dataclass(frozen=True)
class AlertEntry:
    alert_id: int
    kind: str
    created_at: datetime
    article_id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    snippet: str
    copy_outlets: list[str]
    copy_urls: list[str]


def article_stored(conn: psycopg.Connection, article_id: int, now: datetime | None = None, *,
                   alerts: bool = True, max_age: timedelta | None = None) -> int:
    """Call in the transaction that stored the article: NOTIFY wirewatch_articles and enqueue
    its alerts when it is an original (a copy does neither) published within `max_age` (None:
    any age) of `now`; `alerts` False enqueues none (an import with --no-alerts). Returns the
    deliveries enqueued."""
    conn.execute(QUERIES["notify_article"], {"article_id": article_id})
    if not alerts:
        return 0
    return conn.execute(QUERIES["raise_alerts"], {"article_id": article_id, "now": now, "max_age": max_age}).rowcount


def claim_token(pid: int | None = None) -> uuid.UUID:
    """A claim id naming its process: 4 bytes of the host name's CRC, 4 of the pid, 8 random.
    A drainer killed between claim and send is recognised at the next start on its host."""
    host = zlib.crc32(socket.gethostname().encode()).to_bytes(4, "big")
    return uuid.UUID(bytes=host + (os.getpid() if pid is None else pid).to_bytes(4, "big") + os.urandom(8))


def claim_pid(token: uuid.UUID) -> int | None:
    """The pid of the process on this host that made the claim; None for another host's."""
    data = token.bytes
    if data[:4] != zlib.crc32(socket.gethostname().encode()).to_bytes(4, "big"):
        return None
    return int.from_bytes(data[4:8], "big")


def sending_claims(conn: psycopg.Connection) -> list[uuid.UUID]:
    return [row[0] for row in conn.execute(QUERIES["sending_claims"]).fetchall()]


def release_claims(conn: psycopg.Connection, claims: list[uuid.UUID]) -> int:
    with conn.transaction():
        return conn.execute(QUERIES["release_delivery_claims"], {"claims": claims}).rowcount


def claim(conn: psycopg.Connection, *, lease: timedelta, limit: int, now: datetime | None = None) -> uuid.UUID | None:
    """Lease up to `limit` due deliveries (commits); the claim id, or None when nothing is due."""
    token = claim_token()
    with conn.transaction():
        claimed = conn.execute(QUERIES["claim_deliveries"],
                               {"claim": token, "lease": lease, "limit": limit, "now": now}).rowcount
    return token if claimed else None


def claimed(conn: psycopg.Connection, token: uuid.UUID) -> list[ClaimedDelivery]:
    with conn.cursor(row_factory=class_row(ClaimedDelivery)) as cur:
        return cur.execute(QUERIES["claimed_deliveries"], {"claim": token}).fetchall()


def mark_sent(conn: psycopg.Connection, token: uuid.UUID, ids: list[int], now: datetime | None = None) -> int:
    with conn.transaction():
        return conn.execute(QUERIES["mark_deliveries_sent"], {"claim": token, "ids": ids, "now": now}).rowcount


def mark_failed(
    conn: psycopg.Connection, token: uuid.UUID, ids: list[int], *, error: str, max_attempts: int,
    backoff: timedelta, max_backoff: timedelta, now: datetime | None = None,
) -> int:
    with conn.transaction():
        return conn.execute(QUERIES["mark_deliveries_failed"], {
            "claim": token, "ids": ids, "error": error, "max_attempts": max_attempts, "backoff": backoff,
            "max_backoff": max_backoff, "now": now,
        }).rowcount


def retry_failed(conn: psycopg.Connection, watch: str | None = None, now: datetime | None = None) -> int:
    with conn.transaction():
        return conn.execute(QUERIES["retry_failed_deliveries"], {"watch": watch, "now": now}).rowcount


def recent(conn: psycopg.Connection, *, status: str | None = None, watch: str | None = None,
           limit: int = 50) -> list[DeliveryRow]:
    with conn.cursor(row_factory=class_row(DeliveryRow)) as cur:
        return cur.execute(QUERIES["recent_deliveries"], {"status": status, "watch": watch, "limit": limit}).fetchall()


def watch_alerts(conn: psycopg.Connection, name: str, limit: int = 50) -> list[AlertEntry]:
    with conn.cursor(row_factory=class_row(AlertEntry)) as cur:
        return cur.execute(QUERIES["watch_alerts"], {"name": name, "limit": limit}).fetchall()


def listen(conn: psycopg.Connection) -> None:
    """Subscribe `conn` (autocommit) to wirewatch_articles; read them with `conn.notifies()`."""
    conn.execute(QUERIES["listen_articles"])
