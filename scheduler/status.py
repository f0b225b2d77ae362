"""`wirewatch status`: per outlet, the last crawl run and its extraction yield, flagged when
the yield drops sharply against the outlet's own history.

A site redesign rarely makes a crawl fail: pages still download, but the body, date or
byline is no longer where the extractor finds it. The yield (share of extracted pages with
a title, body, date, author) shows it, compared with the median of the same outlet's
previous runs, since outlets differ: one never names authors, another always does.

The table is a list of `Column`s over `OutletStatus`; add a column by appending to
`COLUMNS` (or passing your own list to `status_rows`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from db import outlets as outlet_rows
from db import runs
from db.runs import RunYield

FIELDS = ("title", "body", "date", "author")
# Previous runs the last one is compared with, and how many of them a comparison needs.
HISTORY_RUNS = 10
MIN_HISTORY_RUNS = 3
# Fewer extracted pages than this make a run's shares too coarse to flag (1 of 2 is 50%).
MIN_PAGES = 3
# A drop is sharp when the share falls below half its usual value and by 20 points or more.
DROP_RATIO = 0.5
DROP_POINTS = 0.2


def yield_of(run: RunYield) -> dict[str, float] | None:
    """Share (0..1) of the run's extracted pages with each field; None when it extracted none."""
    if run.pages_extracted == 0:
        return None
    counts = {"title": run.with_title, "body": run.with_body, "date": run.with_date, "author": run.with_author}
    return {name: counts[name] / run.pages_extracted for name in FIELDS}


def yield_drops(last: RunYield, history: list[RunYield]) -> list[str]:
    """One note per field whose share in `last` dropped sharply against the median of `history`."""
    now = yield_of(last)
    before = [y for y in map(yield_of, history) if y is not None]
    if now is None or last.pages_extracted < MIN_PAGES or len(before) < MIN_HISTORY_RUNS:
        return []
    notes = []
    for name in FIELDS:
        usual = statistics.median(y[name] for y in before)
        if now[name] < usual * DROP_RATIO and usual - now[name] >= DROP_POINTS:
            notes.append(f"{name} {now[name]:.0%} (usually {usual:.0%})")
    return notes


@dataclass(frozen=True)
class OutletStatus:
    outlet: str
    last_run: RunYield | None
    history: list[RunYield] = field(default_factory=list)  # the runs before it, newest first
    row: outlet_rows.OutletRow | None = None  # scheduling state: failures, next run, health, lease

    @property
    def drops(self) -> list[str]:
        return yield_drops(self.last_run, self.history) if self.last_run is not None else []


def outlet_statuses(conn: psycopg.Connection, history_runs: int = HISTORY_RUNS) -> list[OutletStatus]:
    """Every configured outlet, and every other outlet that has runs, by name."""
    by_outlet: dict[str, list[RunYield]] = {}
    for run in runs.recent_yields(conn, history_runs + 1):
        by_outlet.setdefault(run.outlet, []).append(run)
    rows = {o.name: o for o in outlet_rows.list_outlets(conn)}
    names = {o.name for o in rows.values() if o.configured} | set(by_outlet)
    statuses = []
    for name in sorted(names):
        found = by_outlet.get(name, [])
        statuses.append(OutletStatus(name, found[0] if found else None, found[1:], rows.get(name)))
    return statuses


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[OutletStatus], Any]


def _share(name: str) -> Callable[[OutletStatus], Any]:
    def value(status: OutletStatus) -> str | None:
        shares = yield_of(status.last_run) if status.last_run is not None else None
        return f"{shares[name]:.0%}" if shares is not None else None
    return value


def _run(attribute: str) -> Callable[[OutletStatus], Any]:
    return lambda status: getattr(status.last_run, attribute) if status.last_run is not None else None


def _duration(status: OutletStatus) -> str | None:
    run = status.last_run
    if run is None or run.finished_at is None:
        return None
    return f"{(run.finished_at - run.started_at).total_seconds():.1f}s"


def _row(attribute: str) -> Callable[[OutletStatus], Any]:
    return lambda status: getattr(status.row, attribute) if status.row is not None else None


def health(status: OutletStatus) -> str | None:
    """ok, failing (backing off), unhealthy (polled rarely until it recovers); and who is crawling it."""
    row = status.row
    if row is None:
        return None
    state = "unhealthy" if not row.healthy else "failing" if row.consecutive_failures else "ok"
    return f"{state}, crawling ({row.lease_owner})" if row.lease_owner else state


def alert_delay(status: OutletStatus) -> str | None:
    """Median time from an article's publication to its alert's delivery (last 7 days)."""
    seconds = status.row.alert_delay_seconds if status.row is not None else None
    if seconds is None:
        return None
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


COLUMNS: list[Column] = [
    Column("outlet", lambda s: s.outlet),
    Column("last_run", _run("finished_at")),
    Column("run_status", _run("status")),
    Column("duration", _duration),
    Column("pages", _run("pages_extracted")),
    Column("stored", _run("articles_stored")),
    # What the last run left out: malformed links it skipped, fetched pages it could not store.
    Column("links_skipped", _run("links_skipped")),
    Column("not_stored", _run("pages_not_stored")),
    Column("total", _row("articles")),
    Column("failures", _row("consecutive_failures")),
    Column("next_run", _row("next_due_at")),
    Column("health", health),
    Column("alert_delay", alert_delay),
    *(Column(name, _share(name)) for name in FIELDS),
    Column("yield_drop", lambda s: "; ".join(s.drops) or None),
]


def status_rows(statuses: list[OutletStatus], columns: list[Column] = COLUMNS) -> list[dict[str, Any]]:
    return [{c.name: c.value(s) for c in columns} for s in statuses]


def totals_line(totals: outlet_rows.ArchiveTotals) -> str:
    return (f"Archive: {totals.articles} articles, {totals.copies} syndicated copies, {totals.stories} stories; "
            f"database {totals.database_bytes / 2**20:.1f} MiB.")
