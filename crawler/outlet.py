"""What the crawler needs to know about one outlet. Built from TOML by `scheduler.outlets`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Section:
    """A listing page whose links matching `link_pattern` (a regex searched in the URL) are articles."""

    url: str
    link_pattern: str


@dataclass(frozen=True)
class ExtractionRules:
    """Per-outlet help for the extractor, applied before the generic extraction."""

    drop: tuple[str, ...] = ()
    body: str | None = None
    date: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class Outlet:
    name: str
    title: str
    homepage: str
    language: str
    wire: bool = False
    interval: timedelta = timedelta(minutes=30)
    # A crontab expression ("*/15 6-23 * * *", UTC) instead of the interval; no adaptation then.
    cron: str | None = None
    # Bounds of adaptive polling; None: the scheduler's defaults around `interval`.
    min_interval: timedelta | None = None
    max_interval: timedelta | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[Section, ...] = ()
    # Sitemap entries published before the cut-off are not fetched: a window back from now,
    # or a fixed date.
    sitemap_since: timedelta | date = timedelta(days=2)
    hosts: tuple[str, ...] = ()
    rules: ExtractionRules = field(default_factory=ExtractionRules)

    def sitemap_cutoff(self, now: datetime) -> datetime:
        if isinstance(self.sitemap_since, timedelta):
            return now - self.sitemap_since
        return datetime.combine(self.sitemap_since, time.min, tzinfo=timezone.utc)

    def covered_hosts(self) -> frozenset[str]:
        """Hosts whose pages belong to this outlet: the homepage's, its sources' and `hosts`."""
        urls = [self.homepage, *self.feeds, *self.sitemaps, *(s.url for s in self.sections)]
        found = {host_of(u) for u in urls} | {h.lower() for h in self.hosts}
        return frozenset(h for h in found if h)


def host_of(url: str) -> str:
    """Lower-case host (with a non-default port), without a leading `www.`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    return host
