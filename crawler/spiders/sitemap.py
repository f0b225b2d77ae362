"""Sitemaps and sitemap indexes, Google News sitemaps included, with a publication-date cut-off."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import scrapy
from lxml import etree
from scrapy.http import Response

from crawler.spiders.base import OutletSpider
from crawler.urls import is_http_url

MAX_INDEX_DEPTH = 2
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file

# No entity expansion, no network, no huge trees: a sitemap is untrusted input.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False,
                          remove_comments=True, remove_pis=True, load_dtd=False)


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    published: datetime | None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[SitemapEntry]


def parse_sitemap(body: bytes) -> Sitemap:
    """Raises ValueError with a readable reason for anything that is not a sitemap."""
    body = _maybe_gunzip(body)
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        raise ValueError(f"root element is <{kind}>, not <urlset> or <sitemapindex>")
    entries = []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        loc = published = None
        for child in node.iter():
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "loc" and loc is None and child.text:
                loc = child.text.strip()
            elif name in ("publication_date", "lastmod") and child.text:
                when = _parse_date(child.text)
                # news:publication_date is the better signal than lastmod when both exist
                if when and (published is None or name == "publication_date"):
                    published = when
        if loc:
            entries.append(SitemapEntry(loc, published))
    return Sitemap(kind == "sitemapindex", entries)


def _maybe_gunzip(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(body, MAX_SITEMAP_BYTES + 1)
    if len(out) > MAX_SITEMAP_BYTES:
        raise ValueError(f"gzip sitemap expands beyond {MAX_SITEMAP_BYTES} bytes")
    return out


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class SitemapSpider(OutletSpider):
    kind = "sitemap"

    def discovery_requests(self) -> Iterable[scrapy.Request]:
        return [self._sitemap_request(url) for url in self.outlet.sitemaps]

    def _sitemap_request(self, url: str, *, top: bool = True) -> scrapy.Request:
        request = self.discovery_request(url, self.parse_sitemap, top=top)
        # A sitemap may exceed the page cap (DOWNLOAD_MAXSIZE), still enforced while decompressing.
        request.meta["download_maxsize"] = self.settings.getint("WIREWATCH_SITEMAP_MAX_BYTES", MAX_SITEMAP_BYTES)
        return request

    def parse_sitemap(self, response: Response):
        if self.unchanged(response):
            return
        try:
            sitemap = parse_sitemap(response.body)
        except ValueError as exc:
            self.discovery_broken(response, str(exc))
            return
        self.discovery_done(response)
        cutoff = self.outlet.sitemap_cutoff(self.context.now)
        if sitemap.is_index:
            depth = response.meta.get("wirewatch_depth", 0) + 1
            if depth > MAX_INDEX_DEPTH:
                self.discovery_broken(response, f"sitemap indexes nested deeper than {MAX_INDEX_DEPTH}")
                return
            skipped = []
            for entry in sitemap.entries:
                if entry.published is None or entry.published >= cutoff:
                    # Not canonical_url: a child sitemap's query (`?from=...`) is part of its address.
                    try:
                        url = response.urljoin(entry.loc)
                    except ValueError as exc:  # a malformed <loc>: that sitemap alone is skipped
                        skipped.append((entry.loc, str(exc)))
                        continue
                    if not is_http_url(url):
                        skipped.append((entry.loc, "not an http(s) URL with a valid host and port"))
                        continue
                    request = self._sitemap_request(url, top=False)
                    request.meta["wirewatch_depth"] = depth
                    yield request
            if skipped:
                self.skip_links(response.url, skipped)
            return
        fresh = [e.loc for e in sitemap.entries if e.published is None or e.published >= cutoff]
        yield from self.article_requests(fresh, base=response.url)
