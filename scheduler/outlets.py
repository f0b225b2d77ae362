"""Load and validate outlet definitions (`seeds/outlets.toml` format) into `crawler.outlet.Outlet`.

Every mistake is reported as `OutletsError("FILE: outlet 'NAME': FIELD: what is wrong")`.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cssselect import GenericTranslator, SelectorError

from crawler.outlet import ExtractionRules, Outlet, Section
from db.durations import DURATION_RE, DURATION_UNITS  # the one duration syntax, shared with --since

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# Control characters (NUL included, which PostgreSQL refuses in text) have no place in a title or URL.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Beyond this a duration is a typo; it also keeps seconds within the database's integer columns.
MAX_DURATION = timedelta(days=3650)

OUTLET_FIELDS = {
    "name", "title", "homepage", "language", "wire", "interval", "feeds", "sitemaps",
    "sitemap_since", "hosts", "sections", "rules", "cron", "min_interval", "max_interval",
}
SECTION_FIELDS = {"url", "link_pattern"}
RULE_FIELDS = {"drop", "body", "date", "author"}
MIN_INTERVAL = timedelta(seconds=30)


class OutletsError(ValueError):
    """An outlets file that cannot be used; the message names file, outlet and field."""


def bundled_outlets_path() -> Path:
    return Path(str(resources.files("seeds").joinpath("outlets.toml")))


def load_outlets(path: Path | str) -> list[Outlet]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OutletsError(f"{path}: cannot read outlets file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise OutletsError(f"{path}: not UTF-8 text") from None
    return parse_outlets(text, source=str(path))


def parse_outlets(text: str, source: str = "<outlets>") -> list[Outlet]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OutletsError(f"{source}: invalid TOML: {exc}") from None
    unknown = set(data) - {"outlet"}
    if unknown:
        raise OutletsError(f"{source}: unknown top-level key(s) {sorted(unknown)}; expected [[outlet]] tables")
    entries = data.get("outlet")
    if not isinstance(entries, list) or not entries:
        raise OutletsError(f"{source}: no [[outlet]] tables")
    outlets: list[Outlet] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        outlet = _parse_outlet(entry, _Where(source, f"outlet #{index}"))
        if outlet.name in seen:
            raise OutletsError(f"{source}: outlet '{outlet.name}': name: defined twice")
        seen.add(outlet.name)
        outlets.append(outlet)
    return outlets


class _Where:
    def __init__(self, source: str, outlet: str) -> None:
        self.source = source
        self.outlet = outlet

    def error(self, field: str, message: str) -> OutletsError:
        return OutletsError(f"{self.source}: {self.outlet}: {field}: {message}")


def _parse_outlet(entry: Any, where: _Where) -> Outlet:
    if not isinstance(entry, dict):
        raise where.error("outlet", "expected a table")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise where.error("name", f"expected a slug of a-z, 0-9 and '-', got {name!r}")
    where.outlet = f"outlet '{name}'"
    unknown = set(entry) - OUTLET_FIELDS
    if unknown:
        raise where.error(sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(OUTLET_FIELDS))})")

    feeds = _url_list(entry, "feeds", where)
    sitemaps = _url_list(entry, "sitemaps", where)
    sections = _sections(entry.get("sections", []), where)
    if not (feeds or sitemaps or sections):
        raise where.error("feeds", "an outlet needs at least one of feeds, sitemaps or sections")
    language = _string(entry, "language", where)
    if not LANGUAGE_RE.match(language):
        raise where.error("language", f"expected a language tag such as 'en' or 'ja', got {language!r}")
    wire = entry.get("wire", False)
    if not isinstance(wire, bool):
        raise where.error("wire", f"expected true or false, got {wire!r}")
    interval = _duration(entry.get("interval", "30m"), "interval", where)
    if interval < MIN_INTERVAL:
        raise where.error("interval", f"at least {MIN_INTERVAL.seconds}s, got {entry['interval']!r}")
    cron = _cron(entry.get("cron"), where)
    bounds = {}
    for field in ("min_interval", "max_interval"):
        if field in entry:
            bounds[field] = _duration(entry[field], field, where)
            if bounds[field] < MIN_INTERVAL:
                raise where.error(field, f"at least {MIN_INTERVAL.seconds}s, got {entry[field]!r}")
    if bounds.get("min_interval", interval) > interval or bounds.get("max_interval", interval) < interval:
        raise where.error("interval", "must lie between min_interval and max_interval")
    hosts = entry.get("hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise where.error("hosts", "expected a list of host names")

    return Outlet(
        name=name,
        title=_string(entry, "title", where),
        homepage=_url(entry.get("homepage"), "homepage", where),
        language=language,
        wire=wire,
        interval=interval,
        cron=cron,
        min_interval=bounds.get("min_interval"),
        max_interval=bounds.get("max_interval"),
        feeds=feeds,
        sitemaps=sitemaps,
        sections=sections,
        sitemap_since=_since(entry.get("sitemap_since", "2d"), where),
        hosts=tuple(h.lower() for h in hosts),
        rules=_rules(entry.get("rules", {}), where),
    )


def _string(entry: dict, field: str, where: _Where) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise where.error(field, f"expected a non-empty string, got {value!r}")
    if CONTROL_RE.search(value):
        raise where.error(field, f"contains a control character: {value!r}")
    return value.strip()


def _url(value: Any, field: str, where: _Where) -> str:
    if not isinstance(value, str):
        raise where.error(field, f"expected a URL string, got {value!r}")
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise where.error(field, f"expected an absolute http(s) URL, got {value!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or CONTROL_RE.search(value):
        raise where.error(field, f"expected an absolute http(s) URL, got {value!r}")
    return value


def _url_list(entry: dict, field: str, where: _Where) -> tuple[str, ...]:
    value = entry.get(field, [])
    if not isinstance(value, list):
        raise where.error(field, f"expected a list of URLs, got {value!r}")
    return tuple(_url(v, f"{field}[{i}]", where) for i, v in enumerate(value))


def _duration(value: Any, field: str, where: _Where) -> timedelta:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        if value > MAX_DURATION.total_seconds():
            raise where.error(field, f"at most {MAX_DURATION.days}d, got {value!r}")
        return timedelta(seconds=value)
    match = DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise where.error(field, f"expected a duration such as '90s', '15m', '2h' or '1d', got {value!r}")
    seconds = int(match[1]) * DURATION_UNITS[match[2]]
    if seconds > MAX_DURATION.total_seconds():
        raise where.error(field, f"at most {MAX_DURATION.days}d, got {value!r}")
    return timedelta(seconds=seconds)


def _cron(value: Any, where: _Where) -> str | None:
    if value is None:
        return None
    from datetime import datetime, timezone

    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise where.error("cron", f"expected a crontab expression such as '*/15 * * * *', got {value!r}")
    try:
        trigger = CronTrigger.from_crontab(value, timezone="UTC")
    except (TypeError, ValueError) as exc:
        raise where.error("cron", f"expected a crontab expression such as '*/15 * * * *', got {value!r} ({exc})") from None
    if trigger.get_next_fire_time(None, datetime.now(timezone.utc)) is None:  # "0 0 30 2 *"
        raise where.error("cron", f"{value!r} never fires")
    return value


def _since(value: Any, where: _Where) -> timedelta | date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    try:
        return _duration(value, "sitemap_since", where)
    except OutletsError:
        raise where.error(
            "sitemap_since", f"expected a duration such as '2d' or a date such as '2023-12-01', got {value!r}"
        ) from None


def _sections(value: Any, where: _Where) -> tuple[Section, ...]:
    if not isinstance(value, list):
        raise where.error("sections", "expected [[outlet.sections]] tables")
    sections = []
    for i, item in enumerate(value):
        field = f"sections[{i}]"
        if not isinstance(item, dict):
            raise where.error(field, "expected a table with url and link_pattern")
        unknown = set(item) - SECTION_FIELDS
        if unknown:
            raise where.error(f"{field}.{sorted(unknown)[0]}", "unknown field (known: url, link_pattern)")
        pattern = item.get("link_pattern")
        if not isinstance(pattern, str) or not pattern:
            raise where.error(f"{field}.link_pattern", f"expected a regular expression, got {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise where.error(f"{field}.link_pattern", f"invalid regular expression: {exc}") from None
        sections.append(Section(url=_url(item.get("url"), f"{field}.url", where), link_pattern=pattern))
    return tuple(sections)


def _rules(value: Any, where: _Where) -> ExtractionRules:
    if not isinstance(value, dict):
        raise where.error("rules", "expected a table")
    unknown = set(value) - RULE_FIELDS
    if unknown:
        raise where.error(f"rules.{sorted(unknown)[0]}", f"unknown field (known: {', '.join(sorted(RULE_FIELDS))})")
    drop = value.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(d, str) and d for d in drop):
        raise where.error("rules.drop", "expected a list of CSS selectors")
    for field in ("body", "date", "author"):
        if field in value and not (isinstance(value[field], str) and value[field]):
            raise where.error(f"rules.{field}", "expected a CSS selector string")
    for selector in [*drop, *(value.get(f) for f in ("body", "date", "author") if value.get(f))]:
        _check_selector(selector, where)
    return ExtractionRules(
        drop=tuple(drop), body=value.get("body"), date=value.get("date"), author=value.get("author")
    )


def _check_selector(selector: str, where: _Where) -> None:
    try:
        GenericTranslator().css_to_xpath(selector)
    except SelectorError as exc:
        raise where.error("rules", f"invalid CSS selector {selector!r}: {exc}") from None
