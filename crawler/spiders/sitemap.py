"""Sitemaps and sitemap indexes, Google News sitemaps included, with a publication-date cut-off.

A sitemap is parsed as a stream (lxml iterparse over the decompressed bytes, each entry dropped
once read) and only the newest `keep` entries are held: a 500,000-URL sitemap built a 1.3 GB tree
and queued 500,000 requests when it was parsed whole. Parsing runs in a thread (see
`OutletSpider.off_loop`), so a big one never stalls the other outlets' downloads.
"""

from __future__ import annotations

import heapq
import io
import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import scrapy
from lxml import etree
from scrapy.http import Response

from crawler.spiders.base import OutletSpider
from crawler.urls import is_http_url

log = logging.getLogger(__name__)

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
_CHUNK = 64 * 1024
_DATE_TAGS = frozenset({"publication_date", "lastmod"})
_UNDATED = float("-inf")


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    published: datetime | None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[SitemapEntry]  # newest first (undated ones last, in document order), at most `keep`
    listed: int = 0              # entries in the document
    too_old: int = 0             # of those, published before the cut-off (not kept)

    @property
    def left_out(self) -> int:
        """Entries after the cut-off that the cap left out."""
        return self.listed - self.too_old - len(self.entries)


class _TooBig(Exception):
    pass


class _Gunzipped(io.RawIOBase):
    """The decompressed bytes of a gzip body, read as a stream (never all in memory), cut at `limit`."""

    def __init__(self, body: bytes, limit: int) -> None:
        self._body = memoryview(body)
        self._pos = 0
        self._limit = limit
        self._out = 0
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else _CHUNK
        while not self._inflate.eof:
            pending = self._inflate.unconsumed_tail
            if not pending:
                if self._pos >= len(self._body):
                    return b""
                pending = self._body[self._pos:self._pos + _CHUNK]
                self._pos += _CHUNK
            data = self._inflate.decompress(pending, size)
            if data:
                self._out += len(data)
                if self._out > self._limit:
                    raise _TooBig
                return data
        return b""


def _check_gunzipped_size(body: bytes, limit: int) -> None:
    """Refuses a gzip bomb before any parsing (inflating 50 MB and dropping it costs ~0.1 s): a bomb
    of valid entries would otherwise cost a parse of 50 MB before the stream's own cap stops it."""
    stream = _Gunzipped(body, limit)
    try:
        while stream.read(_CHUNK * 16):
            pass
    except _TooBig:
        raise ValueError(f"gzip sitemap expands beyond {limit} bytes") from None
    except zlib.error as exc:
        raise ValueError(f"not a valid gzip file ({exc})") from None


def parse_sitemap(body: bytes, *, since: datetime | None = None, keep: int | None = None,
                  keep_sitemaps: int | None = None) -> Sitemap:
    """The newest `keep` URLs of a urlset (`keep_sitemaps` children of an index) published at or
    after `since` (an entry without a date is never too old). Raises ValueError with a readable
    reason for anything that is not a sitemap.

    Untrusted input: no entity is resolved, no DTD or network is loaded, no huge text node is
    accepted, and a gzip body stops at MAX_SITEMAP_BYTES as it is decompressed. Entity
    declarations still reach libxml2, whose amplification limit refuses a billion laughs."""
    gzipped = body[:2] == b"\x1f\x8b"
    if gzipped:
        _check_gunzipped_size(body, MAX_SITEMAP_BYTES)
    source = _Gunzipped(body, MAX_SITEMAP_BYTES) if gzipped else io.BytesIO(body)
    # Only entry elements raise events (a Python step per <url>, not per element: 500,000 URLs in
    # about 2 s); the document's root is then known at the first entry, or at the end.
    events = etree.iterparse(source, events=("end",), tag=("{*}url", "{*}sitemap", "url", "sitemap"),
                             resolve_entities=False, no_network=True, huge_tree=False, recover=False,
                             remove_comments=True, remove_pis=True, load_dtd=False)
    cutoff = since.timestamp() if since is not None else _UNDATED
    root = None
    limit = keep
    heap: list[tuple[float, int, SitemapEntry]] = []  # (published, -position, entry): the smallest goes first
    listed = too_old = 0
    try:
        for _, node in events:
            parent = node.getparent()
            if root is None:
                root = _root(parent)
                limit = keep_sitemaps if _local(root.tag) == "sitemapindex" else keep
            if parent is not root:
                continue  # a <url> nested deeper is not an entry (its ancestor entry reads it)
            entry = _entry(node)
            # Drop what was read: the root keeps no children, so memory holds one entry at a time.
            node.clear()
            while node.getprevious() is not None:
                del parent[0]
            if entry is None:
                continue
            listed += 1
            when = entry.published.timestamp() if entry.published is not None else _UNDATED
            if entry.published is not None and when < cutoff:  # undated: never too old
                too_old += 1
                continue
            item = (when, -listed, entry)
            if limit is None or len(heap) < limit:
                heapq.heappush(heap, item)
            elif limit and item > heap[0]:
                heapq.heapreplace(heap, item)
        if root is None:
            root = _root(events.root)
    except _TooBig:
        raise ValueError(f"gzip sitemap expands beyond {MAX_SITEMAP_BYTES} bytes") from None
    except zlib.error as exc:
        raise ValueError(f"not a valid gzip file ({exc})") from None
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    kind = _local(root.tag)
    entries = [entry for _, _, entry in sorted(heap, reverse=True)]
    return Sitemap(kind == "sitemapindex", entries, listed, too_old)


def _root(node: etree._Element | None) -> etree._Element:
    if node is None:
        raise ValueError("not well-formed XML (no root element)")
    while node.getparent() is not None:
        node = node.getparent()
    kind = _local(node.tag) if isinstance(node.tag, str) else "?"
    if kind not in ("urlset", "sitemapindex"):
        raise ValueError(f"root element is <{kind}>, not <urlset> or <sitemapindex>")
    return node


def _entry(node: etree._Element) -> SitemapEntry | None:
    loc = published = None
    for child in node.iter():
        if not isinstance(child.tag, str):
            continue
        name = _local(child.tag)
        if name == "loc" and loc is None and child.text:
            loc = child.text.strip()
        elif name in _DATE_TAGS and child.text:
            when = _parse_date(child.text)
            # news:publication_date is the better signal than lastmod when both exist
            if when and (published is None or name == "publication_date"):
                published = when
    return SitemapEntry(loc, published) if loc else None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


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
        self.context.sitemaps_requested += 1
        request = self.discovery_request(url, self.parse_sitemap, top=top)
        # A sitemap may exceed the page cap (DOWNLOAD_MAXSIZE), still enforced while decompressing.
        request.meta["download_maxsize"] = self.settings.getint("WIREWATCH_SITEMAP_MAX_BYTES", MAX_SITEMAP_BYTES)
        return request

    async def parse_sitemap(self, response: Response):
        if self.unchanged(response):
            return
        limits = self.context.limits
        cutoff = self.outlet.sitemap_cutoff(self.context.now)
        depth = response.meta.get("wirewatch_depth", 0) + 1  # if this is an index
        # No more children than this crawl may still fetch: the rest are never held in memory.
        room = max(0, limits.sitemap_fetches - self.context.sitemaps_requested)
        try:
            sitemap = await self.off_loop(parse_sitemap, response.body, since=cutoff, keep=limits.sitemap_urls,
                                          keep_sitemaps=min(limits.sitemap_children, room))
        except ValueError as exc:
            self.discovery_broken(response, str(exc))
            return
        if sitemap.is_index and depth > limits.sitemap_depth:
            self.discovery_broken(response, f"sitemap indexes nested deeper than {limits.sitemap_depth} "
                                            "(crawl.max_sitemap_depth)")
            return
        self.discovery_done(response)
        if sitemap.is_index:
            # Other indexes may have used the crawl's fetches while this one was parsed in its thread.
            room = max(0, limits.sitemap_fetches - self.context.sitemaps_requested)
            if len(sitemap.entries) > room:
                sitemap = replace(sitemap, entries=sitemap.entries[:room])
        if sitemap.left_out:
            self._say_left_out(response.url, sitemap, room)
        if not sitemap.is_index:
            for request in self.article_requests([e.loc for e in sitemap.entries], base=response.url):
                yield request
            return
        skipped = []
        for entry in sitemap.entries:
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

    def _say_left_out(self, url: str, sitemap: Sitemap, room: int) -> None:
        limits = self.context.limits
        if sitemap.is_index:
            what, cap = "sitemaps", (f"crawl.max_sitemap_children ({limits.sitemap_children})"
                                     if room >= limits.sitemap_children else
                                     f"crawl.max_sitemap_fetches ({limits.sitemap_fetches}) per crawl")
        else:
            what, cap = "URLs", f"crawl.max_sitemap_urls ({limits.sitemap_urls})"
        old = f", {sitemap.too_old:,} older than sitemap_since" if sitemap.too_old else ""
        log.warning("%s sitemap %s lists %s %s%s: %s left out, the newest %s kept (%s)", self.outlet.name, url,
                    f"{sitemap.listed:,}", what, old, f"{sitemap.left_out:,}", f"{len(sitemap.entries):,}", cap,
                    extra={"event": "sitemap_capped", "outlet": self.outlet.name, "url": url,
                           "left_out": sitemap.left_out})
