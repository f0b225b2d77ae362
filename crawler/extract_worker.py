"""Extraction of one page under a time cap.

lxml and trafilatura spend their time in C code that neither a thread nor a signal handler can
interrupt (a SIGALRM handler only runs once lxml returns to Python), so the one sound cap is a
process that can be killed. Each ingest thread hands its pages to its own worker process; a
page that is not done within the cap kills that worker, and a fresh one takes its place on the
next page. Workers are forked by multiprocessing's fork server, a clean process started once
that has imported crawler.extract: a fork of the crawl process itself would copy its event loop,
threads and database sockets in an undefined state, and a `spawn` costs each worker a fresh
interpreter and that import (0.4 s, again after every page over the cap). Where there is no fork
server (Windows), workers are spawned.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from crawler.extract import Article, Skipped
from crawler.outlet import ExtractionRules

log = logging.getLogger(__name__)
K = TypeVar("K")
D = TypeVar("D")
Request = tuple  # extract_article's arguments: (html, url, rules, content_type)

# A worker imports crawler.extract (~1 s) and warms it up before its first page is timed.
START_TIMEOUT_SECONDS = 120.0
_WARM_UP = ("<html><head><title>Warm-up</title></head><body><article><h1>Warm-up</h1>"
            + "<p>The worker extracts one small page before its first real one is timed.</p>" * 8
            + "</article></body></html>")


@dataclass(frozen=True)
class ExtractionFailed(Skipped):
    """Extraction did not finish (over the time cap, or its process died): an error of the crawl
    run, where a Skipped page is only not an article."""


class TimedExtractor:
    """`extract_article` with a per-page time limit: one worker process per calling thread, or
    several for one caller with `extract_ahead`."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._local = threading.local()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, html: str | bytes, url: str | None = None, rules: ExtractionRules | None = None,
                 content_type: str | None = None) -> Article | Skipped:
        return self.extract_deriving(None, html, url, rules, content_type)[0]

    def extract_deriving(self, derive: Callable[[Article], D] | None, html: str | bytes, url: str | None = None,
                         rules: ExtractionRules | None = None,
                         content_type: str | None = None) -> tuple[Article | Skipped, D | None]:
        """`self(html, ...)` and `derive(article)` of the Article it gives, computed by the worker
        within the page's cap (a module-level function: it travels by name); None for a Skipped."""
        worker = getattr(self._local, "worker", None)
        if worker is None or not worker.alive():
            worker = self._local.worker = self._start()
        outcome, derived = worker.extract((html, url, rules, content_type), self.timeout, derive)
        if isinstance(outcome, ExtractionFailed):
            self._discard(worker)
            self._local.worker = None
        return outcome, derived

    def extract_ahead(self, requests: Iterable[tuple[K, Request]], workers: int,
                      compress: Callable[[bytes], bytes] | None = None,
                      derive: Callable[[Article], D] | None = None) -> ExtractedAhead[K, D]:
        """(key, result, compressed, derived) for each (key, (html, url, rules, content_type)) of
        `requests`, in their order, extracted by up to `workers` processes at once: while the caller
        handles one result, the next pages are being extracted. Each page has the whole time cap,
        counted from when its worker (idle until then) receives it. At most
        ExtractedAhead.READ_AHEAD * `workers` requests are read ahead. For a page that gave an Article, the worker also computes, within the page's cap,
        `compressed` = `compress(html)` and `derived` = `derive(article)` (module-level functions:
        they travel by name); each is None otherwise, or without its function."""
        return ExtractedAhead(self, requests, max(1, workers), compress, derive)

    def _start(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the extractor is closed")
            worker = _Worker()
            self._workers.append(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._forget(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


class ExtractedAhead(Generic[K, D]):
    """The iterator of TimedExtractor.extract_ahead; `close()` (or exhaustion) stops its workers.

    A worker that finishes a page is given the next one as soon as the caller comes by (`next()`,
    `waiting()`) or while it waits for an earlier page, whether or not the caller has reached that
    worker's page: with one page per worker read ahead, a worker done early would idle until the
    caller had handled every page before its own. So up to READ_AHEAD pages per worker are read,
    one in flight per worker, the finished ones kept in order."""

    READ_AHEAD = 2

    def __init__(self, extractor: TimedExtractor, requests: Iterable[tuple[K, Request]], workers: int,
                 compress: Callable[[bytes], bytes] | None, derive: Callable[[Article], D] | None) -> None:
        self._extractor = extractor
        self._compress = compress
        self._derive = derive
        self._source = iter(requests)
        self._exhausted = False
        self._limit = self.READ_AHEAD * workers
        self._idle: list[_Worker] = [extractor._start() for _ in range(workers)]
        # [key, request, worker while in flight, (outcome, compressed, derived) once back], in input order
        self._pending: deque[list] = deque()

    def __iter__(self) -> ExtractedAhead[K, D]:
        return self

    def __next__(self) -> tuple[K, Article | Skipped, bytes | None, D | None]:
        try:
            self._dispatch(block=True)
            if not self._pending:
                raise StopIteration
            entry = self._pending[0]
            while entry[3] is None:
                # Until this page is back (or past its deadline), the other workers are kept busy.
                worker = entry[2]
                if worker.conn.poll(0) or time.monotonic() >= worker.deadline:
                    self._collect(entry)
                    break
                busy = [e[2].conn for e in self._pending if e[2] is not None]
                starting = [w.conn for w in self._idle if not w.ready]
                multiprocessing.connection.wait(busy + starting, timeout=max(0.0, worker.deadline - time.monotonic()))
                for spare in self._idle:
                    spare.wait_ready(0)  # reads a "ready", which is then not waited for again
                self._dispatch(block=False)
            self._pending.popleft()
            self._dispatch(block=False)  # the next page starts before the caller handles this one
            return entry[0], *entry[3]
        except BaseException:
            self.close()
            raise

    def waiting(self) -> bool:
        """Whether the next result is not there yet: the caller would wait for it. Hands finished
        workers their next pages meanwhile."""
        self._dispatch(block=False)
        if not self._pending:
            return not self._exhausted
        entry = self._pending[0]
        return entry[3] is None and (entry[2] is None or not entry[2].conn.poll(0))

    def close(self) -> None:
        busy = [e[2] for e in self._pending if e[2] is not None]
        self._pending.clear()
        self._exhausted = True
        workers, self._idle = busy + self._idle, []
        for worker in workers:
            self._extractor._forget(worker)
            worker.stop()

    def _collect(self, entry: list) -> None:
        """The result of an entry's page (there, or its deadline passed); its worker becomes idle,
        or is replaced when the page failed."""
        worker, entry[2] = entry[2], None
        entry[3] = worker.receive()
        if isinstance(entry[3][0], ExtractionFailed):
            self._extractor._discard(worker)
            worker = self._extractor._start()
        self._idle.append(worker)

    def _dispatch(self, block: bool) -> None:
        """Collect the results that are back, read ahead, and send each page without a worker to an
        idle, started worker, in input order; with `block`, wait for a worker to finish starting
        when the first page has none."""
        pending, idle = self._pending, self._idle
        for entry in pending:
            if entry[2] is not None and entry[2].conn.poll(0):
                self._collect(entry)
        while not self._exhausted and len(pending) < self._limit:
            try:
                pending.append([*next(self._source), None, None])
            except StopIteration:
                self._exhausted = True
        for entry in pending:
            if entry[2] is not None or entry[3] is not None:
                continue
            worker = _ready_worker(idle, block=block and entry is pending[0])
            if worker is None:
                return
            idle.remove(worker)
            failed = worker.send(entry[1], self._extractor.timeout, self._compress, self._derive)
            if failed is None:
                entry[2] = worker
            else:  # died before the page reached it
                entry[3] = (failed, None, None)
                self._extractor._discard(worker)
                idle.append(self._extractor._start())


def _ready_worker(idle: list[_Worker], *, block: bool) -> _Worker | None:
    for worker in idle:
        if worker.wait_ready(0):
            return worker
    if not block:
        return None
    multiprocessing.connection.wait([w.conn for w in idle], timeout=min(w.start_timeout() for w in idle))
    for worker in idle:
        if worker.wait_ready(0):
            return worker
    raise RuntimeError(f"extraction worker did not start within {START_TIMEOUT_SECONDS:.0f}s")


class _Worker:
    """One extraction process; at most one page in flight, whose cap runs from the moment it is sent
    (the worker is idle then, so that is when it starts on the page)."""

    def __init__(self) -> None:
        ctx = _context()
        self.conn, child = ctx.Pipe()
        # daemon: never outlives the crawl process, even when close() is not reached
        self.process = ctx.Process(target=_serve, args=(child,), name="wirewatch-extract", daemon=True)
        self.process.start()
        child.close()
        self.started = time.monotonic()
        self.ready = False
        self.deadline: float | None = None  # of the page in flight

    def wait_ready(self, timeout: float) -> bool:
        """True once the worker has started (imported and warmed up extraction); waits up to `timeout`."""
        if not self.ready:
            try:
                if not self.conn.poll(timeout):
                    return False
                self.conn.recv()  # "ready"
            except (EOFError, OSError):
                raise RuntimeError(f"extraction worker died while starting (exit code {self.process.exitcode})")
            self.ready = True
        return True

    def start_timeout(self) -> float:
        return max(0.0, self.started + START_TIMEOUT_SECONDS - time.monotonic())

    def alive(self) -> bool:
        return self.process.is_alive()

    def extract(self, request: tuple, timeout: float, derive: Callable | None = None) -> tuple[Article | Skipped, object]:
        if (failed := self.send(request, timeout, derive=derive)) is not None:
            return failed, None
        outcome, _, derived = self.receive()
        return outcome, derived

    def send(self, request: tuple, timeout: float, compress: Callable[[bytes], bytes] | None = None,
             derive: Callable | None = None) -> ExtractionFailed | None:
        if not self.wait_ready(self.start_timeout()):
            self.kill()
            raise RuntimeError(f"extraction worker did not start within {START_TIMEOUT_SECONDS:.0f}s")
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        try:
            self.conn.send((request, compress, derive))
        except OSError:
            return self._died()
        return None

    def receive(self) -> tuple[Article | Skipped, bytes | None, object]:
        """The result of the page in flight with its compressed page and derived value, or
        ExtractionFailed once its deadline has passed."""
        deadline, self.deadline = self.deadline, None
        try:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                failed = ExtractionFailed(f"extraction took longer than {self.timeout:g}s (crawl.extract_timeout)")
                return failed, None, None
            kind, value, compressed, derived = self.conn.recv()
        except (EOFError, OSError):
            return self._died(), None, None
        if kind == "error":  # a bug in extraction, not bad input: raised as it would be in-process
            raise value
        return value, compressed, derived

    def _died(self) -> ExtractionFailed:
        self.process.join(1)
        return ExtractionFailed(f"extraction process died (exit code {self.process.exitcode})")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        if self.deadline is not None:  # a page in flight: its answer is not wanted
            self.kill()
            return
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # Read when the server starts (once per process). crawler.text_keys: what crawler.ingest asks
    # workers to derive from an article (numpy and all, 0.1 s a worker otherwise, on its first page).
    ctx.set_forkserver_preload(["crawler.extract", "crawler.text_keys"])
    return ctx


def _serve(conn: Connection) -> None:
    """The worker's loop: one (request, compress, derive) in, one (kind, value, compressed, derived)
    out, until None or the parent is gone."""
    # The parent decides when a worker ends: a Ctrl-C or SIGTERM to the process group must not
    # cut a page that the graceful stop lets finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from crawler.extract import extract_article

    extract_article(_WARM_UP, url="http://warm-up.invalid/")
    try:
        conn.send("ready")
    except OSError:  # the parent died while this worker started
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        args, compress, derive = request
        try:
            article = extract_article(*args)
            # Here, not in the storing process, which handles every page in turn; the page's
            # time cap covers it (a few tenths of a second for the largest page).
            found = isinstance(article, Article)
            compressed = compress(args[0]) if compress and found and isinstance(args[0], bytes) else None
            derived = derive(article) if derive and found else None
            result = ("ok", article, compressed, derived)
        except Exception as exc:  # a bug: sent to the parent, which raises it
            result = ("error", exc, None, None)
        try:
            conn.send(result)
        except OSError:  # the parent is gone (killed): nobody to answer
            return
        except Exception:  # an unpicklable exception: its text still reaches the parent
            try:
                conn.send(("error", RuntimeError(f"{type(result[1]).__name__}: {result[1]}"), None, None))
            except OSError:
                return
