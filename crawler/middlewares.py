"""Downloader middlewares: refuse unsafe destinations; retry 429/5xx with backoff and Retry-After.

Scrapy's RetryMiddleware retries a 503 at once and ignores Retry-After; here RETRY_HTTP_CODES
is empty (`crawler.run.scrapy_settings`), so it retries only network errors and this module
owns every retry of an HTTP status.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from crawler.safety import UnsafeDestination, check_address, check_resolved, check_scheme, literal_address, parse_networks

log = logging.getLogger(__name__)

UNSAFE = "unsafe destination"
HOST_FAILING = "host failing"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 522, 524})
RETRY_META = "wirewatch_retries"


class UnsafeDestinationMiddleware:
    """First in the chain (before robots.txt, which would otherwise fetch from the host), and
    on every redirect hop: a redirect comes back through the engine as a new request."""

    def __init__(self, allowed: tuple, dns_timeout: float) -> None:
        self.allowed = allowed
        self.dns_timeout = dns_timeout
        self._resolved: dict[str, str | None] = {}  # host -> refusal reason; one lookup per host per crawl

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UnsafeDestinationMiddleware:
        allowed = parse_networks(crawler.settings.getlist("WIREWATCH_ALLOWED_NETWORKS"))
        return cls(allowed, crawler.settings.getfloat("DNS_TIMEOUT", 10.0))

    async def process_request(self, request: Request) -> None:
        try:
            host = check_scheme(request.url)
        except UnsafeDestination as exc:
            raise IgnoreRequest(f"{UNSAFE}: {exc}") from None
        reason = self._resolved.get(host, "")
        if reason == "":
            reason = await self._check(host, urlsplit(request.url).port)
            self._resolved[host] = reason
        if reason is not None:
            raise IgnoreRequest(f"{UNSAFE}: {reason}")
        return None

    async def _check(self, host: str, port: int | None) -> str | None:
        try:
            address = literal_address(host)
            if address is not None:
                check_address(address, self.allowed)
                return None
            try:
                infos = await asyncio.wait_for(
                    asyncio.get_running_loop().getaddrinfo(host, port or 80, type=1), self.dns_timeout)
            except (OSError, TimeoutError):
                return None  # the download then fails with its own DNS error
            check_resolved(host, infos, self.allowed)
        except UnsafeDestination as exc:
            return str(exc)
        return None


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class BackoffMiddleware:
    """Retries 429 and 5xx answers after a pause: the server's Retry-After when it gives one (up
    to `WIREWATCH_MAX_RETRY_WAIT`; a longer one ends the attempt and is handed to the scheduler
    through the spider's context), else exponential backoff with jitter. After
    `WIREWATCH_HOST_FAILURE_LIMIT` such answers in a row from one host, the rest of this crawl's
    requests to it are not sent: a 5xx storm costs a few requests, not one per article.

    The pause holds the host's slot (crawler.hostlimit): nothing else is sent to a host that asked
    for a pause."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.max_retries = settings.getint("RETRY_TIMES", 2)
        self.base = settings.getfloat("WIREWATCH_RETRY_BACKOFF", 1.0)
        self.max_wait = settings.getfloat("WIREWATCH_MAX_RETRY_WAIT", 30.0)
        self.limit = settings.getint("WIREWATCH_HOST_FAILURE_LIMIT", 5)
        self.failing: Counter[str] = Counter()  # host -> failed answers in a row
        self.reported: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc  # with the port: one server, not every site on its address
        if self.failing[host] >= self.limit:
            self._report_storm(host)
            raise IgnoreRequest(f"{HOST_FAILING}: {self.failing[host]} answers in a row were 429 or 5xx; "
                                "not fetched in this crawl")
        return None

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        host = urlsplit(request.url).netloc  # with the port: one server, not every site on its address
        if response.status not in RETRY_STATUSES:
            self.failing.pop(host, None)
            return response
        self.failing[host] += 1
        retries = request.meta.get(RETRY_META, 0)
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.max_wait:
            self._defer_outlet(asked)
            return response  # fails as HTTP 429/503; the outlet is not due before `asked`
        if retries >= self.max_retries or self.failing[host] >= self.limit:
            return response
        wait = asked if asked is not None else self.base * 2 ** retries * random.uniform(0.75, 1.25)
        log.debug("HTTP %d from %s; retrying in %.1fs", response.status, request.url, wait,
                  extra={"event": "fetch_retry", "url": request.url})
        await asyncio.sleep(wait)
        retry = request.replace(dont_filter=True, priority=request.priority - 1)
        retry.meta[RETRY_META] = retries + 1
        return retry

    def _report_storm(self, host: str) -> None:
        if host in self.reported:
            return  # one line per host and crawl; each skipped request is counted, not logged
        self.reported.add(host)
        outlet = getattr(getattr(self.crawler.spider, "context", None), "outlet", None)
        name = outlet.name if outlet is not None else "?"
        log.warning("%s host %s failing: %d answers in a row were 429 or 5xx; its other pages wait for the next crawl",
                    name, host, self.failing[host], extra={"event": "host_failing", "outlet": name, "url": host})

    def _defer_outlet(self, seconds: float) -> None:
        context = getattr(self.crawler.spider, "context", None)
        if context is not None:
            context.retry_after = max(context.retry_after, seconds)
