"""The web process's connection pool, tuned so that a database outage costs a request seconds, not
minutes: a request fails fast while the database is known down, and the first request after it
is back reconnects at once.

psycopg_pool's defaults suit a daemon, not an HTTP server in front of people and probes: a
request waits up to 30 s for a connection (`timeout`), and a lost connection is re-made with
backoff (1, 2, 4, ... s) for up to 5 min (`reconnect_timeout`); while those attempts sleep they
hold the pool's slots, so nothing connects for up to a minute after the database is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import anyio
import psycopg
from fastapi import Request
from psycopg_pool import ConnectionPool, PoolTimeout

from db import search

# A request under load waits this long for a busy pool's connection ...
POOL_WAIT_SECONDS = 10.0
# ... in slices of this, and stops at the end of a slice once a connection attempt has failed.
WAIT_SLICE_SECONDS = 0.5
# A lost connection's re-making gives up this soon (its attempts at about 0 s and 1 s), which frees
# its slot: the next request then starts a fresh attempt instead of waiting out a long backoff.
RECONNECT_SECONDS = 2.0
# /healthz answers within this, whatever the database does (a probe stuck on a dead socket is abandoned).
HEALTH_SECONDS = 0.8


class Reachability:
    """Whether the pool's last connection attempt failed; set by the pool's own worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.last_error: str | None = None

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
            self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    def connected(self) -> None:
        with self._lock:
            self.down_since = None
            self.last_error = None

    @property
    def down(self) -> bool:
        return self.down_since is not None


def open_pool(dsn: str, size: int) -> tuple[ConnectionPool, Reachability]:
    reach = Reachability()

    class TrackedConnection(psycopg.Connection):
        """Every connection the pool makes goes through here: the outcome is the database's state."""

        @classmethod
        def connect(cls, *args, **kwargs):  # type: ignore[override]
            try:
                conn = super().connect(*args, **kwargs)
            except psycopg.OperationalError as exc:
                reach.failed(exc)
                raise
            reach.connected()
            return conn

    pool = ConnectionPool(
        dsn, min_size=1, max_size=size, connection_class=TrackedConnection,
        check=ConnectionPool.check_connection,  # a connection the outage broke is dropped at getconn
        # 2 s is libpq's least connect_timeout: an unreachable host costs a pool worker that, not minutes
        kwargs={"autocommit": True, "connect_timeout": 2},
        timeout=POOL_WAIT_SECONDS, reconnect_timeout=RECONNECT_SECONDS, name="wirewatch-web", open=True,
    )
    return pool, reach


def get_connection(pool: ConnectionPool, reach: Reachability, wait: float = POOL_WAIT_SECONDS) -> psycopg.Connection:
    """A connection within `wait`, or PoolTimeout at the end of the first slice after an attempt failed."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return pool.getconn(timeout=min(WAIT_SLICE_SECONDS, max(0.01, deadline - time.monotonic())))
        except PoolTimeout:
            if reach.down or time.monotonic() >= deadline:
                raise PoolTimeout(f"no database connection: {reach.last_error or 'the pool is busy'}") from None


def connection(request: Request) -> Iterator[psycopg.Connection]:
    """FastAPI dependency: a pooled connection for one request."""
    pool, reach = request.app.state.pool, request.app.state.reachability
    conn = get_connection(pool, reach)
    try:
        with conn:  # a pooled connection is not closed by this, only its transaction ended
            yield conn
    finally:
        pool.putconn(conn)


def _probe(pool: ConnectionPool, reach: Reachability) -> str | None:
    """None when the database answers, else why not."""
    try:
        conn = get_connection(pool, reach, wait=HEALTH_SECONDS)
    except PoolTimeout as exc:
        return str(exc)
    try:
        return None if search.ping(conn) else "unexpected answer"
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    finally:
        pool.putconn(conn)


async def probe(pool: ConnectionPool, reach: Reachability) -> str | None:
    """`_probe` within HEALTH_SECONDS: past it the thread is left to finish on its own."""
    with anyio.move_on_after(HEALTH_SECONDS + 0.1):
        return await anyio.to_thread.run_sync(_probe, pool, reach, abandon_on_cancel=True)
    return f"no answer within {HEALTH_SECONDS:g} s"
