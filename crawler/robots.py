"""robots.txt fetched once per site for every crawl in the process, not once per crawl.

Scrapy's RobotsTxtMiddleware keeps its parsers in the middleware, and each outlet's spider runs
in its own crawler: every poll of an unchanged outlet cost one robots.txt download per spider
on top of its 304s. `SharedRobotsTxtMiddleware` replaces it (`crawler.run.scrapy_settings`) and
keeps finished fetches in a process-wide cache, by scheme, host and port, for
`WIREWATCH_ROBOTS_TTL` seconds (crawl.robots_ttl; 24 h, the longest RFC 9309 section 2.4 and
Google use). A miss is fetched through the current crawler's engine, as Scrapy does.

What Scrapy does with the answer is unchanged: the body of any response is parsed (a 404 page or
a 5xx error page usually holds no rules, so it allows everything), and a fetch that fails
allows everything. What is kept for later crawls: the parsed rules of a 2xx-4xx answer. A 429,
a 5xx or a failed fetch is used by the current crawl only, so the next crawl asks again instead
of crawling a day without rules.

Safety: the cache holds rules, never responses, and never causes or permits a request. Every
request of every crawl still passes `crawler.middlewares.UnsafeDestinationMiddleware` (priority
40) before it reaches this middleware (100), and a miss's fetch goes through the whole chain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import ParseResult

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

log = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0
MISSING = object()  # not in the cache, or stale (None is a cached "no rules": allow everything)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def robots_key(url: ParseResult) -> str:
    """`https://example.org:443`: robots.txt applies to one scheme, host and port (RFC 9309 2.3)."""
    try:
        port = url.port or _DEFAULT_PORTS.get(url.scheme)
    except ValueError:  # a port out of range: the request itself fails; keyed as written
        return f"{url.scheme}://{url.netloc.lower()}"
    return f"{url.scheme}://{(url.hostname or '').lower()}:{port}"


@dataclass
class _Entry:
    parser: RobotParser
    size: int  # bytes of the robots.txt body, for the byte bound
    fetched_at: float


class RobotsCache:
    """Parsed robots.txt by `robots_key`, least recently used first out; bounded in entries and in
    the robots.txt bytes behind them (a body above `max_body` is not kept: Google reads 500 KiB).

    Only finished fetches are stored, and a stored parser refers to no crawler. A crawl that finds
    another crawl fetching the same key waits on a future this cache owns, which the fetching crawl
    resolves whatever becomes of its fetch, and with a bound; never on the other crawler's Deferred,
    which could outlive its engine. `clock` is monotonic seconds; tests pass their own."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 32 * 1024 * 1024, max_body: int = 512 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body = max_body
        self.clock = clock
        self.bytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._pending: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, ttl: float) -> RobotParser | object:
        """The parser if it was fetched less than `ttl` seconds ago, else MISSING (a stale one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        if self.clock() - entry.fetched_at >= ttl:
            self._drop(key)
            return MISSING
        self._entries.move_to_end(key)
        return entry.parser

    def put(self, key: str, parser: RobotParser, size: int) -> bool:
        if size > self.max_body:
            return False
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(parser, size, self.clock())
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
        for future in self._pending.values():
            if not future.done():
                future.set_result(None)
        self._pending.clear()

    def pending(self, key: str) -> asyncio.Future[None] | None:
        return self._pending.get(key)

    def begin(self, key: str) -> asyncio.Future[None] | None:
        """Announce a fetch of `key`; None if another is announced already. Call `end` in a finally."""
        if key in self._pending:
            return None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    def end(self, key: str, future: asyncio.Future[None] | None) -> None:
        if future is None:
            return
        if self._pending.get(key) is future:
            del self._pending[key]
        if not future.done():
            future.set_result(None)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size


SHARED = RobotsCache()  # the process's cache; `SHARED.clear()` in tests


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware reading and filling `SHARED`. Within one crawler, requests that
    arrive while its robots.txt is being fetched wait on that crawler's own Deferred, as in Scrapy."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.ttl = crawler.settings.getfloat("WIREWATCH_ROBOTS_TTL", DEFAULT_TTL)
        # How long to wait for another crawl's fetch of the same robots.txt before fetching it too.
        self.wait_limit = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30.0)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        key = robots_key(url)
        if key not in self._parsers:
            waiting: Deferred[RobotParser | None] = Deferred()
            self._parsers[key] = waiting
            parser = None
            try:
                parser = await self._shared_or_fetched(request, url, key)
            finally:  # also when cancelled: this crawler's other requests must not wait forever
                self._parsers[key] = parser
                waiting.callback(parser)
        parser = self._parsers[key]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _shared_or_fetched(self, request: Request, url: ParseResult, key: str) -> RobotParser | None:
        cache = SHARED
        other = cache.pending(key)
        if other is not None:
            try:
                await asyncio.wait_for(asyncio.shield(other), self.wait_limit)
            except TimeoutError:
                pass  # fetched below, without announcing: the other fetch is still announced
        cached = cache.get(key, self.ttl)
        if cached is not MISSING:
            self._stats.inc_value("robotstxt/shared_cache_hit")
            return cached  # type: ignore[return-value]
        announced = cache.begin(key)
        try:
            return await self._fetch(request, url, key)
        finally:
            cache.end(key, announced)

    async def _fetch(self, request: Request, url: ParseResult, key: str) -> RobotParser | None:
        """Scrapy's fetch (same request, stats and robots_parsed signal); the parser is built without
        the crawler, so a cached one does not keep this finished crawl's spider alive."""
        robots_request = Request(f"{url.scheme}://{url.netloc}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
                                 meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
        self._stats.inc_value("robotstxt/request_count")
        try:
            response = await self.crawler.engine.download_async(robots_request)
        except Exception as exc:
            if not isinstance(exc, IgnoreRequest):
                # DEBUG: the host's other requests fail alike and the spiders report those (Scrapy's
                # own ERROR line here is filtered out by scheduler.logs for the same reason).
                log.debug("robots.txt %s not fetched: %s", robots_request.url, exc,
                          extra={"event": "robots_failed", "url": robots_request.url})
                self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            return None  # allow everything, in this crawl only
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        parser = self._parserimpl.from_crawler(None, response.body)  # type: ignore[arg-type]
        await self.crawler.signals.send_catch_log_async(signal=signals.robots_parsed, robotparser=parser,
                                                        request=request)
        if response.status < 500 and response.status != 429:
            SHARED.put(key, parser, len(response.body))
        return parser
