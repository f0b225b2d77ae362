"""The daemon's drainer: drain, then sleep on LISTEN wirewatch_articles and drain again as
soon as a new original is committed, so an instant alert leaves within milliseconds of its
article being stored rather than at the next tick. Digests and retries are picked up by the
drain at the start of every run."""

from __future__ import annotations

import logging
import threading
import time

from alerts.deliver import DrainOptions, DrainResult, drain
from db import outbox
from db.connect import connect

log = logging.getLogger(__name__)

WAKE_SLICE_SECONDS = 0.5  # how quickly a stop request is noticed


def drain_and_listen(dsn: str, seconds: float, *, stop: threading.Event | None = None,
                     options: DrainOptions = DrainOptions()) -> DrainResult:
    """Drain for about `seconds` (bounded), waking on notifications; returns what was sent."""
    stop = stop or threading.Event()
    total = DrainResult()
    deadline = time.monotonic() + seconds
    with connect(dsn, autocommit=True) as conn:
        outbox.listen(conn)
        _add(total, drain(conn, options=options))
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            woke = False
            for _ in conn.notifies(timeout=min(left, WAKE_SLICE_SECONDS), stop_after=1):
                woke = True  # one drain serves a whole burst; later notifications cost an empty claim
            if woke:
                _add(total, drain(conn, options=options))
    return total


def _add(total: DrainResult, part: DrainResult) -> None:
    total.sent += part.sent
    total.failed += part.failed
    total.messages += part.messages
    total.errors.extend(part.errors)
