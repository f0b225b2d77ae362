"""RSS and Atom feeds: every entry's link is an article candidate."""

from __future__ import annotations

from collections.abc import Iterable

import feedparser
import scrapy
from scrapy.http import Response

from crawler.spiders.base import OutletSpider


def feed_links(body: bytes) -> tuple[list[str], str | None]:
    """Entry links of a feed, and the reason it is unusable when it has none."""
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    links = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (l.get("href") for l in entry.get("links", []) if l.get("rel", "alternate") == "alternate"), None)
        if link:
            links.append(link)
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
        if problem:
            self.discovery_broken(response, problem)
            return
        self.discovery_done(response)
        yield from self.article_requests(links, base=response.url)
