"""What every outlet spider shares: its context, article requests, the article callback, failures."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import FetchedPage
from crawler.outlet import Outlet
from crawler.urls import canonical_url, is_http_url

log = logging.getLogger(__name__)


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

    def discovery_request(self, url: str, callback: Callable, *, top: bool = True) -> scrapy.Request:
        """A feed, sitemap or section page; `top` for the ones named in the outlet definition."""
        return scrapy.Request(url, callback=callback, errback=self.discovery_failed,
                              meta={"wirewatch_top": top}, dont_filter=True)

    def discovery_done(self, response: Response) -> None:
        """Count a discovery document (feed, sitemap, section page) that was fetched and parsed."""
        self.context.count(pages_fetched=1)
        if response.meta.get("wirewatch_top"):
            self.context.sources_ok += 1

    def discovery_broken(self, response: Response, reason: str) -> None:
        """A discovery document that arrived but cannot be used (malformed feed, empty sitemap...)."""
        self.context.count(pages_fetched=1, errors=1)
        self.context.source_failures.append((response.url, reason))
        log.debug("%s %s unusable: %s", self.outlet.name, response.url, reason,
                    extra={"event": "source_unusable", "outlet": self.outlet.name, "url": response.url})

    def article_requests(self, urls: Iterable[str], base: str | None = None) -> list[scrapy.Request]:
        candidates = []
        for raw in urls:
            if not raw:
                continue
            url = canonical_url(raw, base=base)
            if is_http_url(url):
                candidates.append(url)
        new = self.context.claim_new(list(dict.fromkeys(candidates)))
        return [scrapy.Request(url, callback=self.parse_article, errback=self.article_failed,
                               meta={"wirewatch_via": self.kind}) for url in new]

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
        # Logged once per outlet, with every failed source, when the crawl ends (crawler.run).
        log.debug("%s source %s failed: %s", self.outlet.name, url, reason,
                    extra={"event": "source_failed", "outlet": self.outlet.name, "url": url})

    def article_failed(self, failure: Failure) -> None:
        url = failure.request.url if hasattr(failure, "request") else "?"
        self.context.count(errors=1)
        log.warning("%s article %s failed: %s", self.outlet.name, url, _reason(failure),
                    extra={"event": "fetch_failed", "outlet": self.outlet.name, "url": url})


def _reason(failure: Failure) -> str:
    value = failure.value
    response = getattr(value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    text = str(value).strip() or type(value).__name__
    return f"{type(value).__name__}: {text.splitlines()[0]}" if type(value).__name__ not in text else text.splitlines()[0]
