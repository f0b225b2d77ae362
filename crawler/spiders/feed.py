"""RSS and Atom feeds: every entry's link is an article candidate."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import feedparser
import scrapy
from scrapy.http import Response

from crawler.spiders.base import OutletSpider

log = logging.getLogger(__name__)


# An internal DTD subset declaring entities. No feed needs one; a "billion laughs" does. expat
# refuses the expansion, but feedparser then retries with its loose parser, which took 3.7 s and
# 57 MB on a 1 KB document: refuse it before parsing.
_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^>\[]*\[[^\]]*<!ENTITY", re.I)


def feed_links(body: bytes) -> tuple[list[str], str | None]:
    """Entry links of a feed, and the reason it is unusable when it has none. Parsed from bytes
    only: feedparser given a string may take it for a URL or a file name and open it."""
    if _ENTITY_DECLARATION.search(body[:64 * 1024]):
        return [], "declares XML entities (refused: entity expansion)"
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    links = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (l.get("href") for l in entry.get("links", []) if l.get("rel", "alternate") == "alternate"), None)
        if link:
            links.append(link)
    if links and parsed.get("bozo"):
        # Recovered by feedparser's loose parser: used, and said once (the caller logs it).
        return links, f"malformed, {len(links)} links recovered ({type(parsed.bozo_exception).__name__}: " \
                      f"{str(parsed.bozo_exception)[:200]})"
    if links:
        return links, None
    if parsed.get("bozo"):
        return [], f"not a valid feed ({type(parsed.bozo_exception).__name__}: {parsed.bozo_exception})"
    if parsed.get("version"):
        return [], None  # a valid, empty feed
    return [], "not an RSS or Atom feed"


class FeedSpider(OutletSpider):
    kind = "feed"

    def discovery_requests(self) -> Iterable[scrapy.Request]:
        return [self.discovery_request(url, self.parse_feed) for url in self.outlet.feeds]

    def parse_feed(self, response: Response):
        if self.unchanged(response):
            return
        links, problem = feed_links(response.body)
        if problem and not links:
            self.discovery_broken(response, problem)
            return
        if problem:
            self.context.count(errors=1)  # used, but the run counts the fault
            log.warning("%s feed %s %s", self.outlet.name, response.url, problem,
                        extra={"event": "source_malformed", "outlet": self.outlet.name, "url": response.url})
        self.discovery_done(response)
        yield from self.article_requests(links, base=response.url)
