"""Durations ("90s", "15m", "36h", "2d", "1w") and the points in time a filter takes: one parser for
the outlets file's intervals, `search`/`export --since/--until` and the API's `since`/`until`.
Pure: no database, so scheduler/outlets.py can use it without importing the driver."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Named in every error about a time, so a refused value says what would have been taken.
TIME_FORMS = ("a date such as 2024-01-31, an ISO 8601 time such as 2024-01-31T09:00 (UTC unless it "
              "gives an offset) or a duration back from now such as 2d, 36h or 1w")


def parse_duration(text: str) -> timedelta | None:
    """'2d' -> 2 days; None for anything else (callers name the field in their own error)."""
    match = DURATION_RE.match(text)
    if not match:
        return None
    try:
        return timedelta(seconds=int(match[1]) * DURATION_UNITS[match[2]])
    except OverflowError:  # past timedelta's 999,999,999 days
        return None


def parse_time(text: str, now: datetime) -> datetime | None:
    """A duration back from `now`, a date (its midnight, UTC) or an ISO 8601 time (UTC unless it
    says otherwise); None when `text` is none of them."""
    text = text.strip()
    if (ago := parse_duration(text)) is not None:
        try:
            return now - ago
        except OverflowError:  # "99999999w": before year 1
            return None
    try:
        day = date.fromisoformat(text)
        return datetime.combine(day, time(), timezone.utc)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed
