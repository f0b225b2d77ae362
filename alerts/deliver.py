"""Drain the alert outbox: claim due deliveries with a lease, send each message, mark the outcome.

Delivery is at least once: a drainer that dies after sending but before marking sends again
when the lease expires; one that dies before sending loses nothing. Every message carries the
ids of its deliveries (see `alerts.channels.send`), so a receiver can drop such a repeat.
Instant alerts go one message per delivery; a digest watch's due alerts on one channel go as
one message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

import psycopg

from alerts.channels import Channel, send
from alerts.messages import Message, digest_message, instant_message
from db import outbox
from db.connect import connect
from db.outbox import ClaimedDelivery

log = logging.getLogger(__name__)

Sender = Callable[[Channel, str, str, list[int]], "str | None"]


@dataclass(frozen=True)
class DrainOptions:
    # Longer than a send can take (apprise calls are bounded at 30 s), so a live drainer's
    # claim never expires under it.
    lease: timedelta = timedelta(minutes=2)
    batch: int = 100
    max_batches: int = 20
    max_attempts: int = 8
    backoff: timedelta = timedelta(seconds=30)     # doubled per attempt: 30 s, 1 min, 2 min, ...
    max_backoff: timedelta = timedelta(hours=1)


@dataclass
class DrainResult:
    sent: int = 0      # deliveries
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.sent and not self.failed:
            return "no alert was due"
        text = f"{self.sent} alert deliveries sent in {self.messages} messages"
        return text + (f", {self.failed} failed (see `wirewatch alerts --status pending`)" if self.failed else "")


def drain(conn: psycopg.Connection, *, now: datetime | None = None, options: DrainOptions = DrainOptions(),
          sender: Sender = send) -> DrainResult:
    """Send everything due, in bounded batches. `conn` must be in autocommit mode: every claim
    and every outcome commits on its own. `now` (default: the database's clock) decides what is due."""
    if not conn.autocommit:
        raise ValueError("drain needs an autocommit connection: claims must commit before sending")
    result = DrainResult()
    for _ in range(options.max_batches):
        token = outbox.claim(conn, lease=options.lease, limit=options.batch, now=now)
        if token is None:
            break
        for group in message_groups(outbox.claimed(conn, token)):
            _deliver(conn, token, group, now, options, sender, result)
    return result


def release_dead_claims(conn: psycopg.Connection, alive: Callable[[int], bool], *,
                        include_own: bool = False) -> int:
    """Deliveries claimed by a drainer on this host whose process is gone (kill -9 between claim
    and mark) go back to pending now rather than when their lease expires; with `include_own`,
    this process's claims too (its only drainer lost its connection). One cut after sending but
    before marking sends that alert again: the at-least-once window, milliseconds wide."""
    dead = [c for c in outbox.sending_claims(conn)
            if (pid := outbox.claim_pid(c)) is not None
            and (include_own if pid == os.getpid() else not alive(pid))]
    released = outbox.release_claims(conn, dead) if dead else 0
    if released:
        log.info("%d alert deliveries claimed by a dead process given back", released,
                 extra={"event": "alert_claims_released"})
    return released


def deliver_due(dsn: str, *, now: datetime | None = None, options: DrainOptions = DrainOptions()) -> DrainResult:
    """One bounded drain on a connection of its own (`wirewatch demo`, `import`, `alerts send`)."""
    with connect(dsn, autocommit=True) as conn:
        return drain(conn, now=now, options=options)


def message_groups(rows: list[ClaimedDelivery]) -> list[list[ClaimedDelivery]]:
    """Instant deliveries one by one; a digest watch's rows grouped per channel."""
    groups: list[list[ClaimedDelivery]] = []
    for (_, mode, _), rows_of in groupby(rows, key=lambda r: (r.watch, r.mode, r.channel_id)):
        rows_of = list(rows_of)
        groups.extend([[r] for r in rows_of] if mode == "instant" else [rows_of])
    return groups


def _deliver(conn: psycopg.Connection, token, group: list[ClaimedDelivery], now: datetime | None,
             options: DrainOptions, sender: Sender, result: DrainResult) -> None:
    first = group[0]
    message: Message = instant_message(first) if first.mode == "instant" else digest_message(group)
    channel = Channel(first.channel_url)
    ids = [r.id for r in group]
    error = sender(channel, message.title, message.body, ids)
    extra = {"watch": first.watch, "channel": channel.masked, "outlet": first.outlet, "url": first.url,
             "deliveries": len(ids)}
    if error is None:
        outbox.mark_sent(conn, token, ids, now=now)
        result.sent += len(ids)
        result.messages += 1
        what = f"{first.outlet} {first.url}" if len(group) == 1 else f"a digest of {len(group)} stories"
        log.info("alert %s sent to %s: %s", first.watch, channel.masked, what, extra=extra | {"event": "alert_sent"})
        return
    error = channel.scrub(error)
    outbox.mark_failed(conn, token, ids, error=error, max_attempts=options.max_attempts, backoff=options.backoff,
                       max_backoff=options.max_backoff, now=now)
    result.failed += len(ids)
    result.errors.append(f"{first.watch} -> {channel.masked}: {error}")
    final = first.attempts >= options.max_attempts
    log.warning("alert %s to %s failed (attempt %d%s): %s", first.watch, channel.masked, first.attempts,
                ", giving up" if final else ", will retry", error, extra=extra | {"event": "alert_failed"})
