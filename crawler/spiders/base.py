"""What every outlet spider shares: its context, article requests, the article callback, failures."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import scrapy
from scrapy.http import Response
from scrapy.exceptions import IgnoreRequest
from twisted.internet import error as net_error
from twisted.python.failure import Failure

from crawler.hostlimit import SHUTTING_DOWN
from crawler.items import FetchedPage
from crawler.middlewares import HOST_FAILING, UNSAFE
from crawler.outlet import Outlet
from crawler.urls import canonical_url, is_http_url, url_key

log = logging.getLogger(__name__)

# Malformed links logged one by one per discovery document; the rest in one line with their count.
SKIPPED_LINKS_LOGGED = 10
# Article links that answered 404/410 named in the outlet's one summary line (crawler.run).
MISSING_NAMED = 3
T = TypeVar("T")


@dataclass(frozen=True)
class DiscoveryLimits:
    """How much one outlet's crawl may discover (config `crawl.max_*`). An index of 3,000 indexes
    of 3,000 sitemaps was 9 million requests, a 500,000-URL sitemap 500,000: past a cap the newest
    entries are kept (by date where the source gives one) and one line says how many were left out."""

    sitemap_children: int = 50    # children taken from one sitemap index
    sitemap_depth: int = 2        # sitemap indexes nested in one another
    sitemap_fetches: int = 100    # sitemaps and indexes requested in one crawl
    sitemap_urls: int = 1000      # URLs taken from one sitemap (a Google News sitemap holds at most 1,000)
    feed_items: int = 500         # items taken from one feed
    article_requests: int = 2000  # new article pages requested in one crawl


@dataclass(frozen=True)
class SourceState:
    """A feed's, sitemap's or section page's validators from its last complete crawl."""

    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None


@dataclass
class CrawlContext:
    """Handed to a spider by `crawler.run`; the spider itself never touches the database."""

    outlet: Outlet
    run_id: int
    now: datetime
    # Returns the URLs not yet archived nor claimed by another spider of this crawl, and claims them.
    claim_new: Callable[[list[str]], list[str]]
    # Adds to the run's counters (pages_fetched=1, errors=1, ...).
    count: Callable[..., None]
    # Extract, dedupe and store one fetched article page (`crawler.ingest` over the database).
    ingest: Callable[[FetchedPage], object]
    source_failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    sources_ok: int = 0
    # Conditional GET: validators known before the crawl, and the ones seen in it (saved by
    # crawler.run only when the outlet's crawl completed, so a crash cannot hide articles).
    validators: dict[str, SourceState] = field(default_factory=dict)
    fresh_validators: dict[str, SourceState] = field(default_factory=dict)
    sources_unchanged: int = 0
    links_seen: int = 0
    links_new: int = 0
    links_skipped: int = 0  # malformed links, each skipped alone (OutletSpider.article_requests)
    articles_failed: int = 0
    failure_kinds: list[str] = field(default_factory=list)
    # Process-wide per-host cap (crawler.hostlimit.HostLimiter); None: Scrapy's per-crawler limit only.
    host_limiter: Any = None
    # Executor running `ingest` off the event loop (crawler.pipelines); None: run it inline.
    workers: Any = None
    # Seconds a server asked us to stay away (Retry-After beyond what a crawl waits; crawler.middlewares).
    retry_after: float = 0.0
    limits: DiscoveryLimits = field(default_factory=DiscoveryLimits)
    # Executor parsing feeds and sitemaps off the event loop (OutletSpider.off_loop); None: inline.
    parsers: Any = None
    sitemaps_requested: int = 0
    articles_requested: int = 0
    articles_missing: int = 0  # article links that answered 404 or 410
    missing_named: list[str] = field(default_factory=list)  # the first MISSING_NAMED of them


class OutletSpider(scrapy.Spider):
    """Base of the generic spiders: subclasses list discovery requests and parse what they return."""

    kind = "outlet"

    def __init__(self, context: CrawlContext, **kwargs) -> None:
        super().__init__(name=f"{self.kind}:{context.outlet.name}", **kwargs)
        self.context = context
        self.outlet = context.outlet

    def discovery_requests(self) -> Iterable[scrapy.Request]:
        raise NotImplementedError

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.discovery_requests():
            yield request

    async def off_loop(self, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`parse(*args)` in the context's parser threads: a 14 MB feed took feedparser 12 s, and on
        the event loop no outlet of the process got a request meanwhile (26.8 s in one case). The
        GIL is shared, but the loop gets it back within its switch interval (5 ms)."""
        if self.context.parsers is None:
            return parse(*args, **kwargs)
        return await asyncio.wrap_future(self.context.parsers.submit(parse, *args, **kwargs))

    def discovery_request(self, url: str, callback: Callable, *, top: bool = True) -> scrapy.Request:
        """A feed, sitemap or section page; `top` for the ones named in the outlet definition."""
        headers = {}
        known = self.context.validators.get(url)
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        return scrapy.Request(url, callback=callback, errback=self.discovery_failed, headers=headers,
                              meta={"wirewatch_top": top, "wirewatch_source": url,
                                    "handle_httpstatus_list": [304]}, dont_filter=True)

    def unchanged(self, response: Response) -> bool:
        """True when a discovery document is as it was at the last complete crawl: a 304, or the
        same body (servers without validators). Then it is counted and not parsed again."""
        source = response.meta.get("wirewatch_source", response.url)
        if response.status != 304:
            digest = hashlib.sha256(response.body).hexdigest()
            self.context.fresh_validators[source] = SourceState(
                etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
                body_sha256=digest)
            known = self.context.validators.get(source)
            if known is None or known.body_sha256 != digest:
                return False
        self.context.sources_unchanged += 1
        self.context.count(pages_fetched=1)
        if response.meta.get("wirewatch_top"):
            self.context.sources_ok += 1
        log.debug("%s %s unchanged (%s)", self.outlet.name, source,
                  "304" if response.status == 304 else "same body",
                  extra={"event": "source_unchanged", "outlet": self.outlet.name, "url": source})
        return True

    def discovery_done(self, response: Response) -> None:
        """Count a discovery document (feed, sitemap, section page) that was fetched and parsed."""
        self.context.count(pages_fetched=1)
        if response.meta.get("wirewatch_top"):
            self.context.sources_ok += 1

    def discovery_broken(self, response: Response, reason: str) -> None:
        """A discovery document that arrived but cannot be used (malformed feed, empty sitemap...)."""
        self.context.count(pages_fetched=1, errors=1)
        self.context.source_failures.append((response.url, reason))
        self.context.failure_kinds.append("unusable")
        log.debug("%s %s unusable: %s", self.outlet.name, response.url, reason,
                    extra={"event": "source_unusable", "outlet": self.outlet.name, "url": response.url})

    def article_requests(self, urls: Iterable[str], base: str | None = None, *,
                         source: str | None = None) -> list[scrapy.Request]:
        """Requests for the new article links of one discovery document (`source`, else `base`).
        A link no request can be made of is skipped alone: logged, counted, and the others go on."""
        candidates = []
        skipped: list[tuple[str, str]] = []
        for raw in urls:
            if not raw:
                continue
            try:
                url = canonical_url(raw, base=base)
                url_key(url)  # claim_new keys every candidate: a link must survive that too
            except ValueError as exc:
                skipped.append((raw, str(exc)))
                continue
            if is_http_url(url):
                candidates.append(url)
        if skipped:
            self.skip_links(source or base or "?", skipped)
        candidates = list(dict.fromkeys(candidates))
        new = self.context.claim_new(candidates)
        self.context.links_seen += len(candidates)
        self.context.links_new += len(new)
        # In the order given (newest first); what is past the crawl's cap waits for a later crawl.
        room = max(0, self.context.limits.article_requests - self.context.articles_requested)
        if len(new) > room:
            where = source or base or "?"
            log.warning("%s %s: %d new article links left out: crawl.max_article_requests (%d) reached in this crawl",
                        self.outlet.name, where, len(new) - room, self.context.limits.article_requests,
                        extra={"event": "articles_capped", "outlet": self.outlet.name, "url": where})
            new = new[:room]
        self.context.articles_requested += len(new)
        # dont_filter: claim_new has already deduplicated; Scrapy's filter would silently drop a
        # redirect loop's second visit, with no errback and no log line.
        # Reversed: Scrapy's scheduler is last in, first out, so the newest link is fetched first.
        return [scrapy.Request(url, callback=self.parse_article, errback=self.article_failed, dont_filter=True,
                               meta={"wirewatch_via": self.kind}) for url in reversed(new)]

    def skip_links(self, source: str, skipped: list[tuple[str, str]]) -> None:
        """Malformed links of one document: counted in the run (and as errors: the source's fault)."""
        self.context.links_skipped += len(skipped)
        self.context.count(links_skipped=len(skipped), errors=len(skipped))
        for raw, reason in skipped[:SKIPPED_LINKS_LOGGED]:
            link = printable(raw)
            log.warning("%s link %s in %s skipped: %s", self.outlet.name, link, source, reason,
                        extra={"event": "link_skipped", "outlet": self.outlet.name, "url": link, "source": source})
        if len(skipped) > SKIPPED_LINKS_LOGGED:
            log.warning("%s %s: %d more malformed links skipped", self.outlet.name, source,
                        len(skipped) - SKIPPED_LINKS_LOGGED,
                        extra={"event": "links_skipped", "outlet": self.outlet.name, "url": source})

    def parse_article(self, response: Response) -> Iterable[FetchedPage]:
        yield FetchedPage(
            url=response.request.meta.get("redirect_urls", [response.url])[0],
            final_url=response.url,
            body=response.body,
            status=response.status,
            headers={k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()},
            via=self.kind,
        )

    def discovery_failed(self, failure: Failure) -> None:
        url = failure.request.url if hasattr(failure, "request") else "?"
        reason = _reason(failure)
        self.context.count(errors=1)
        self.context.source_failures.append((url, reason))
        self.context.failure_kinds.append(failure_kind(failure))
        # Logged once per outlet, with every failed source, when the crawl ends (crawler.run).
        log.debug("%s source %s failed: %s", self.outlet.name, url, reason,
                    extra={"event": "source_failed", "outlet": self.outlet.name, "url": url})

    def article_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        self.context.count(errors=1)
        self.context.articles_failed += 1
        if failure.check(IgnoreRequest) and str(failure.value).startswith((SHUTTING_DOWN, HOST_FAILING)):
            return  # not fetched because the crawl is stopping or the host is failing (logged once); next crawl
        # Named by the link the outlet gave, which a redirect may have led elsewhere.
        origin = request.meta.get("redirect_urls", [url])[0] if request is not None else url
        if failure_kind(failure) == "http_404":
            # A sitemap of dead links is a thousand of these: one summary line per crawl (crawler.run).
            self.context.articles_missing += 1
            if len(self.context.missing_named) < MISSING_NAMED:
                self.context.missing_named.append(origin)
            log.debug("%s article %s failed: %s", self.outlet.name, origin, _reason(failure),
                      extra={"event": "fetch_failed", "outlet": self.outlet.name, "url": origin})
            return
        hop = f" (after redirects, at {url})" if origin != url else ""
        log.warning("%s article %s failed: %s%s", self.outlet.name, origin, _reason(failure), hop,
                    extra={"event": "fetch_failed", "outlet": self.outlet.name, "url": origin})


def printable(text: str, limit: int = 300) -> str:
    """A link as a log line may show it: cut, with control characters escaped (no forged lines)."""
    text = text[:limit] + ("..." if len(text) > limit else "")
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _reason(failure: Failure) -> str:
    value = failure.value
    response = getattr(value, "response", None)
    if response is not None:
        location = response.headers.get(b"Location")
        if 300 <= response.status < 400 and location:
            return f"HTTP {response.status}, redirect to {location.decode('latin-1')[:200]} not followed"
        return f"HTTP {response.status}"
    text = str(value).strip() or type(value).__name__
    if text == "DownloadCancelledError":  # Scrapy cancels a body growing past DOWNLOAD_MAXSIZE; its own line is quieted
        return "download cancelled: larger than crawl.max_page_bytes"
    return f"{type(value).__name__}: {text.splitlines()[0]}" if type(value).__name__ not in text else text.splitlines()[0]


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def failure_kind(failure: Failure) -> str:
    """What went wrong, as the scheduler weighs it (`scheduler.due.FAILURE_WEIGHTS`)."""
    value = failure.value
    response = getattr(value, "response", None)
    if response is not None:
        status = response.status
        if status in (404, 410):
            return "http_404"
        if status in (403, 429):
            return f"http_{status}"
        return "http_5xx" if status >= 500 else "http_4xx"
    if isinstance(value, (net_error.TimeoutError, net_error.TCPTimedOutError, TimeoutError)):
        return "timeout"
    if isinstance(value, net_error.DNSLookupError):
        return "dns"
    if isinstance(value, IgnoreRequest) and "robots" in str(value).lower():
        return "robots"
    if isinstance(value, IgnoreRequest) and str(value).startswith(UNSAFE):
        return "unsafe"
    if isinstance(value, IgnoreRequest) and str(value).startswith(HOST_FAILING):
        return "http_5xx"
    if isinstance(value, (net_error.ConnectError, net_error.ConnectionLost, ConnectionError)):
        return "connection"
    return "other"
