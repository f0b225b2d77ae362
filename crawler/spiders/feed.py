"""RSS and Atom feeds: every entry's link is an article candidate, the newest first.

feedparser is pure Python (a 14 MB feed of 130,000 items takes it 12 s or more): feeds are parsed
in a thread (`OutletSpider.off_loop`) and only the newest `crawl.max_feed_items` entries are used.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable

import feedparser
import feedparser.api
import scrapy
from defusedxml import DefusedXmlException
from scrapy.http import Response

from crawler.spiders.base import OutletSpider

log = logging.getLogger(__name__)


# feedparser's strict pass is a SAX parser, by default the stdlib's expat driver, which expands
# internal entities up to expat's amplification limit: a 1 KB "billion laughs" cost 2 s and 50 MB
# before expat gave up, and feedparser's loose parser then ran over it anyway. A pattern over the
# bytes cannot tell a DOCTYPE from a comment or a quoted "]" (a 70 KB comment, `<!-- ] -->`,
# `SYSTEM "a>b"` all got past the one we had), so the strict pass itself refuses: defusedxml's
# driver raises at the first entity declaration, before anything is expanded (a DOCTYPE without
# entities, such as RSS 0.91's, still parses). The loose fallback, used only when the strict pass
# fails on a syntax error, gets from feedparser only flat entities (no "&" in their values).
feedparser.api.PREFERRED_XML_PARSERS = ["defusedxml.expatreader"]


def feed_links(body: bytes, keep: int | None = None) -> tuple[list[str], str | None]:
    """Entry links of a feed, and the reason it is unusable when it has none (`feed_entries`)."""
    links, problem, _ = feed_entries(body, keep)
    return links, problem


def feed_entries(body: bytes, keep: int | None = None) -> tuple[list[str], str | None, int]:
    """The newest `keep` entry links of a feed (by published or updated date; undated entries after
    dated ones, in the feed's order), the reason it is unusable when it has none, and how many
    entries had a link. Parsed from bytes only: feedparser given a string may take it for a URL
    or a file name and open it."""
    try:
        parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except DefusedXmlException:  # raised through feedparser, which catches only SAXException
        # One wording for every such feed: crawler.run groups failed sources by reason.
        return [], "declares XML entities (refused: entity expansion)", 0
    dated: list[tuple[float, int, str]] = []
    for position, entry in enumerate(parsed.entries):
        link = entry.get("link") or next(
            (l.get("href") for l in entry.get("links", []) if l.get("rel", "alternate") == "alternate"), None)
        if link:
            when = entry.get("published_parsed") or entry.get("updated_parsed")
            dated.append((calendar.timegm(when) if when else float("-inf"), -position, link))
    listed = len(dated)
    if keep is not None and listed > keep:
        dated.sort(reverse=True)  # stable enough: ties are broken by position, first first
        dated = dated[:keep]
    elif any(when != float("-inf") for when, _, _ in dated):
        dated.sort(reverse=True)
    links = [link for _, _, link in dated]
    problem = _problem(parsed, links)
    return links, problem, listed


def _problem(parsed, links: list[str]) -> str | None:
    if links and parsed.get("bozo"):
        # Recovered by feedparser's loose parser: used, and said once (the caller logs it).
        return f"malformed, {len(links)} links recovered ({type(parsed.bozo_exception).__name__}: " \
               f"{str(parsed.bozo_exception)[:200]})"
    if links:
        return None
    if parsed.get("bozo"):
        return f"not a valid feed ({type(parsed.bozo_exception).__name__}: {parsed.bozo_exception})"
    if parsed.get("version"):
        return None  # a valid, empty feed
    return "not an RSS or Atom feed"


class FeedSpider(OutletSpider):
    kind = "feed"

    def discovery_requests(self) -> Iterable[scrapy.Request]:
        return [self.discovery_request(url, self.parse_feed) for url in self.outlet.feeds]

    async def parse_feed(self, response: Response):
        if self.unchanged(response):
            return
        keep = self.context.limits.feed_items
        links, problem, listed = await self.off_loop(feed_entries, response.body, keep)
        if problem and not links:
            self.discovery_broken(response, problem)
            return
        if problem:
            self.context.count(errors=1)  # used, but the run counts the fault
            log.warning("%s feed %s %s", self.outlet.name, response.url, problem,
                        extra={"event": "source_malformed", "outlet": self.outlet.name, "url": response.url})
        self.discovery_done(response)
        if listed > len(links):
            log.warning("%s feed %s lists %s items: %s left out, the newest %s kept (crawl.max_feed_items)",
                        self.outlet.name, response.url, f"{listed:,}", f"{listed - len(links):,}", f"{len(links):,}",
                        extra={"event": "feed_capped", "outlet": self.outlet.name, "url": response.url,
                               "left_out": listed - len(links)})
        for request in self.article_requests(links, base=response.url):
            yield request
