"""Who crawls an outlet now: leases on the outlet's row, shared by every process on one database.

A process claims a due outlet with `FOR UPDATE SKIP LOCKED` (db/queries.sql `claim_outlet`),
so of several daemons asking at once exactly one gets it; the lease carries an expiry,
renewed while the crawl runs, so a process killed mid-crawl holds its outlets only until
then. Lease times come from the caller's clock: hosts sharing a database need NTP.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from db import outlets as outlet_rows
from db.connect import connect

log = logging.getLogger(__name__)


def worker_id() -> str:
    """`host:pid:random`: unique per process, readable in `wirewatch status`, and naming the process."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def pid_of(owner: str) -> int | None:
    parts = owner.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


class Leases:
    """Claims, renewals and releases for one process (`owner`), over short-lived connections."""

    def __init__(self, dsn: str, owner: str, lease: timedelta, clock: Callable[[], datetime]) -> None:
        self.dsn = dsn
        self.owner = owner
        self.lease = lease
        self.clock = clock

    def claim(self, name: str, *, force: bool = False) -> outlet_rows.ScheduleRow | None:
        """The outlet's state when this process now holds it; None when it is not due or held elsewhere."""
        with connect(self.dsn) as conn:
            row = outlet_rows.claim(conn, name=name, owner=self.owner, now=self.clock(), lease=self.lease, force=force)
            if row is not None:
                outlet_rows.interrupt_stale_runs(conn, outlet=name, keep=[])
            return row

    def state(self, name: str) -> outlet_rows.ScheduleRow | None:
        with connect(self.dsn) as conn:
            return outlet_rows.schedule(conn, name)

    def renew(self, name: str) -> bool:
        with connect(self.dsn) as conn:
            return outlet_rows.renew_lease(conn, name=name, owner=self.owner, now=self.clock(), lease=self.lease)

    def release_all(self) -> list[str]:
        with connect(self.dsn) as conn:
            return outlet_rows.release_leases(conn, self.owner)

    def release_orphans(self) -> list[str]:
        """Release leases of dead processes on this host (a crash, kill -9) instead of waiting for expiry."""
        released = []
        host = socket.gethostname() + ":"
        with connect(self.dsn) as conn:
            for owner in outlet_rows.lease_owners(conn, host):
                pid = pid_of(owner)
                if owner != self.owner and pid is not None and not process_alive(pid):
                    released += outlet_rows.release_leases(conn, owner)
        if released:
            log.info("released leases of a dead process on this host: %s", ", ".join(sorted(released)),
                     extra={"event": "orphan_leases_released"})
        return released

    async def keep_alive(self, name: str) -> None:
        """Renew the lease every third of its length until cancelled (the crawl's end)."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                held = await asyncio.to_thread(self.renew, name)
            except Exception as exc:  # a database blip: the lease still has two thirds to run
                log.warning("could not renew the lease on %s: %s", name, exc,
                            extra={"event": "lease_renew_failed", "outlet": name})
                continue
            if not held:
                log.warning("lease on %s expired and was taken over", name,
                            extra={"event": "lease_lost", "outlet": name})
                return


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    return True
