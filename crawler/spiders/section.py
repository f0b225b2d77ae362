"""Section pages: links whose absolute URL matches the outlet's pattern are article candidates."""

from __future__ import annotations

import re
from collections.abc import Iterable

import scrapy
from scrapy.http import Response, TextResponse

from crawler.outlet import Section
from crawler.spiders.base import OutletSpider


def section_links(response: TextResponse, pattern: str) -> list[str]:
    """Absolute links matching the pattern. A link that cannot be made absolute
    (`http://[object Object]/a/1`) is kept as written when it matches: article_requests then
    skips and counts it, where an exception here would have lost every link of the page."""
    matcher = re.compile(pattern)
    found = []
    for href in response.css("a::attr(href)").getall():
        href = href.strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        try:
            url = response.urljoin(href)
        except ValueError:
            url = href
        if matcher.search(url):
            found.append(url)
    return found


class SectionSpider(OutletSpider):
    kind = "section"

    def discovery_requests(self) -> Iterable[scrapy.Request]:
        return [self._request(section) for section in self.outlet.sections]

    def _request(self, section: Section) -> scrapy.Request:
        request = self.discovery_request(section.url, self.parse_section)
        request.meta["wirewatch_pattern"] = section.link_pattern
        return request

    def parse_section(self, response: Response):
        if self.unchanged(response):
            return
        if not isinstance(response, TextResponse):
            self.discovery_broken(response, f"not an HTML page ({response.headers.get('Content-Type', b'?').decode()})")
            return
        self.discovery_done(response)
        yield from self.article_requests(section_links(response, response.meta["wirewatch_pattern"]),
                                         source=response.url)
