"""A per-host cap on concurrent requests that holds across outlets crawled in one process.

Scrapy's CONCURRENT_REQUESTS_PER_DOMAIN is per crawler, and every outlet's spider runs in
its own crawler: two outlets on one host (an outlet's feed and a sister outlet's sitemap, or
syndication partners sharing a CDN) would each get the full allowance. The middleware sits
last before the download handler, so robots.txt and the other middlewares run first; the
slot is held from the download's start to its response or failure.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

SLOT_META = "wirewatch_host_slot"
SHUTTING_DOWN = "shutting down: not started"


class HostLimiter:
    """Counting slots per host; a host's bookkeeping is dropped when it is idle (bounded memory)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._active: Counter[str] = Counter()
        self._waiters: dict[str, deque[asyncio.Future[None]]] = {}
        self.closed = False

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiters.values())

    @property
    def active(self) -> int:
        return sum(self._active.values())

    def close(self) -> None:
        """Graceful stop: downloads under way keep their slots; every waiting and later request is refused."""
        self.closed = True
        for queue in self._waiters.values():
            for future in queue:
                if not future.done():
                    future.set_exception(IgnoreRequest(SHUTTING_DOWN))
        self._waiters.clear()

    async def acquire(self, host: str) -> None:
        """Raises IgnoreRequest once closed."""
        if self.closed:
            raise IgnoreRequest(SHUTTING_DOWN)
        if self._active[host] < self.limit:
            self._active[host] += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(host, deque()).append(future)
        try:
            await future  # release() hands its slot over: the count stays as it is
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(host)  # the slot arrived just as we were cancelled: pass it on
            raise

    def release(self, host: str) -> None:
        queue = self._waiters.get(host)
        while queue:
            future = queue.popleft()
            if not future.done():
                future.set_result(None)
                return
        self._waiters.pop(host, None)
        self._active[host] -= 1
        if self._active[host] <= 0:
            del self._active[host]


class HostLimitMiddleware:
    """Downloader middleware taking the limiter from the spider's context (`CrawlContext.host_limiter`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostLimitMiddleware:
        return cls(crawler)

    def _limiter(self) -> HostLimiter | None:
        context = getattr(self.crawler.spider, "context", None)
        return getattr(context, "host_limiter", None)

    async def process_request(self, request: Request) -> None:
        limiter = self._limiter()
        if limiter is None or SLOT_META in request.meta:
            return None
        host = (urlsplit(request.url).hostname or "").lower()
        await limiter.acquire(host)
        request.meta[SLOT_META] = host
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        return None

    def _release(self, request: Request) -> None:
        host = request.meta.pop(SLOT_META, None)
        limiter = self._limiter()
        if host is not None and limiter is not None:
            limiter.release(host)
