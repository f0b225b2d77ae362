"""Query-string parameters shared by the API and the web UI, checked into db/search.py values.

Every mistake is a `BadRequest` whose message names the parameter; it becomes a 400.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone

from db.durations import TIME_FORMS, parse_time
from db.search import MAX_QUERY_CHARS, SORTS, Filters

MAX_LIMIT = 100


class BadRequest(ValueError):
    """A parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class SearchParams:
    filters: Filters
    sort: str = "relevance"
    with_copies: bool = False
    limit: int = 20
    offset: int = 0


def when(name: str, value: str | None) -> datetime | None:
    """A duration back from now ("2d"), YYYY-MM-DD or an ISO 8601 time; UTC unless it says otherwise."""
    if value is None or not value.strip():
        return None
    parsed = parse_time(value, datetime.now(timezone.utc))
    if parsed is None:
        raise BadRequest(f"{name}: expected {TIME_FORMS}, got {value!r}")
    return parsed


def bounded(name: str, value: str | int | None, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: expected an integer, got {value!r}") from None
    if not low <= number <= high:
        raise BadRequest(f"{name}: expected {low} to {high}, got {number}")
    return number


def flag(name: str, value: str | bool | None) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    if value.lower() in ("1", "true", "yes", "on", ""):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name}: expected true or false, got {value!r}")


def encode_cursor(offset: int) -> str:
    """Opaque to clients: today the position in the ranked results."""
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[0] == "o" and raw[1:].isdigit():
            return int(raw[1:])
    except (ValueError, IndexError):
        pass
    raise BadRequest(f"cursor: not a cursor this server gave out: {cursor!r}")


def search_params(*, q: str | None, outlet: str | None = None, lang: str | None = None, since: str | None = None,
                  until: str | None = None, sort: str | None = None, with_copies: str | bool | None = None,
                  limit: str | int | None = None, cursor: str | None = None, need_query: bool = True,
                  ) -> SearchParams:
    query = (q or "").strip() or None
    if need_query and query is None:
        raise BadRequest("q: a search query is required, e.g. q=Lavrov or q=\"peace treaty\" -Russia")
    if query is not None and len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"q: at most {MAX_QUERY_CHARS} characters, got {len(query):,}")
    sort = sort or "relevance"
    if sort not in SORTS:
        raise BadRequest(f"sort: expected one of {', '.join(SORTS)}, got {sort!r}")
    filters = Filters(query, outlet=outlet or None, language=lang or None, since=when("since", since),
                      until=when("until", until))
    return SearchParams(filters, sort=sort, with_copies=flag("with_copies", with_copies),
                        limit=bounded("limit", limit, 20, 1, MAX_LIMIT), offset=decode_cursor(cursor))
