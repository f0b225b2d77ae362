"""What a watch is, checked before it reaches the database: from CLI flags or a [[watch]] table.

The query itself is checked by PostgreSQL (`alerts.store`), the one parser that matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from alerts.channels import Channel, ChannelError, parse_channel
from db.search import MAX_NEGATIONS, MAX_QUERY_CHARS, query_problem  # noqa: F401  (re-exported: the API's and CLI's check)

MODES = ("instant", "hourly", "daily")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TABLE_KEYS = {"name", "query", "channels", "outlets", "language", "mode", "at", "time_zone", "updates"}
# PostgreSQL refuses NUL in text; the other control characters have no meaning in a query or a name.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class WatchError(ValueError):
    """A watch that cannot be used; the message names the watch and the field."""


@dataclass(frozen=True)
class WatchSpec:
    name: str
    query: str
    channels: tuple[Channel, ...]
    outlets: tuple[str, ...] = ()
    language: str | None = None
    mode: str = "instant"
    daily_at: time | None = None
    time_zone: str = "UTC"
    updates: bool = False
    source: str = field(default="cli", compare=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.mode}: {', '.join(c.masked for c in self.channels)})"


def build_watch(
    name: str, query: str, channels: list[str] | tuple[str, ...], *, outlets: list[str] | tuple[str, ...] = (),
    language: str | None = None, mode: str = "instant", at: str | time | None = None, time_zone: str | None = None,
    updates: bool = False, source: str = "cli",
) -> WatchSpec:
    """A checked WatchSpec, or WatchError naming the first bad field."""
    where = f"watch {name!r}"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise WatchError(f"watch {name!r}: name: expected letters, digits, '-', '_' or '.' (at most 64), got {name!r}")
    if not isinstance(query, str) or not query.strip():
        raise WatchError(f"{where}: query: expected a web-search query such as '\"northern territories\" OR kuril'")
    if len(query) > MAX_QUERY_CHARS:
        raise WatchError(f"{where}: query: at most {MAX_QUERY_CHARS} characters, got {len(query)}")
    if CONTROL_RE.search(query):
        raise WatchError(f"{where}: query: contains a control character (such as NUL)")
    if problem := query_problem(query):
        raise WatchError(f"{where}: query: {problem}")
    if not isinstance(channels, list | tuple) or not channels:
        raise WatchError(f"{where}: channels: expected at least one apprise URL, e.g. json://127.0.0.1:8080/hook")
    parsed: list[Channel] = []
    for url in channels:
        if not isinstance(url, str):
            raise WatchError(f"{where}: channels: expected apprise URL strings, got {type(url).__name__}")
        if not _encodable(url) or CONTROL_RE.search(url):
            raise WatchError(f"{where}: channel {Channel(url).masked}: not valid UTF-8 text, or a control character")
        try:
            channel = parse_channel(url)
        except ChannelError as exc:
            raise WatchError(f"{where}: channel {exc}") from None
        if channel not in parsed:
            parsed.append(channel)
    if not isinstance(outlets, list | tuple) or not all(isinstance(o, str) and o and not CONTROL_RE.search(o)
                                                           and _encodable(o) for o in outlets):
        raise WatchError(f"{where}: outlets: expected a list of outlet names")
    if language is not None and (not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]+)*",
                                                                                       language)):
        raise WatchError(f"{where}: language: expected a language code such as 'en' or 'ja', got {language!r}")
    if mode not in MODES:
        raise WatchError(f"{where}: mode: expected one of {', '.join(MODES)}, got {mode!r}")
    daily_at = _daily_at(where, mode, at)
    if time_zone is not None and (not isinstance(time_zone, str) or not time_zone.strip()
                                  or CONTROL_RE.search(time_zone) or not _encodable(time_zone)):
        raise WatchError(f"{where}: time_zone: expected a zone name such as 'Asia/Tokyo', got {time_zone!r}")
    if not isinstance(updates, bool):
        raise WatchError(f"{where}: updates: expected true or false, got {updates!r}")
    return WatchSpec(name=name, query=query.strip(), channels=tuple(parsed), outlets=tuple(dict.fromkeys(outlets)),
                     language=language.lower() if language else None, mode=mode, daily_at=daily_at,
                     time_zone=(time_zone or "UTC").strip(), updates=updates, source=source)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _daily_at(where: str, mode: str, at: str | time | None) -> time | None:
    if mode != "daily":
        if at is not None:
            raise WatchError(f"{where}: at: only a daily digest has a time of day (mode is {mode!r})")
        return None
    if at is None:
        raise WatchError(f"{where}: at: a daily digest needs its local time, e.g. at = \"08:00\"")
    if isinstance(at, time):
        return at.replace(tzinfo=None)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", at.strip()) if isinstance(at, str) else None
    if not match:
        raise WatchError(f"{where}: at: expected a local time HH:MM such as '08:00', got {at!r}")
    return time(int(match[1]), int(match[2]))


def watch_from_table(table: Any) -> WatchSpec:
    """One [[watch]] table of wirewatch.toml."""
    if not isinstance(table, dict):
        raise WatchError("watch: expected [[watch]] tables")
    name = table.get("name")
    unknown = set(table) - TABLE_KEYS
    if unknown:
        raise WatchError(f"watch {name!r}: unknown key(s) {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(sorted(TABLE_KEYS))})")
    return build_watch(
        name, table.get("query"), table.get("channels") or (), outlets=table.get("outlets", ()),
        language=table.get("language"), mode=table.get("mode", "instant"), at=table.get("at"),
        time_zone=table.get("time_zone"), updates=table.get("updates", False), source="config",
    )
