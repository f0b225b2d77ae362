"""Extraction of one page under a time cap.

lxml and trafilatura spend their time in C code that neither a thread nor a signal handler can
interrupt (a SIGALRM handler only runs once lxml returns to Python), so the one sound cap is a
process that can be killed. Each ingest thread hands its pages to its own worker process; a
page that is not done within the cap kills that worker, and a fresh one takes its place on the
next page. Workers are started with `spawn`: the crawl process runs an event loop and threads,
which a fork would copy in an undefined state.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection

from crawler.extract import Article, Skipped
from crawler.outlet import ExtractionRules

log = logging.getLogger(__name__)

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
    """`extract_article` with a per-page time limit; one worker process per calling thread."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._local = threading.local()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, html: str | bytes, url: str | None = None, rules: ExtractionRules | None = None,
                 content_type: str | None = None) -> Article | Skipped:
        worker = getattr(self._local, "worker", None)
        if worker is None or not worker.alive():
            worker = self._local.worker = self._start()
        outcome = worker.extract((html, url, rules, content_type), self.timeout)
        if isinstance(outcome, ExtractionFailed):
            self._discard(worker)
            self._local.worker = None
        return outcome

    def _start(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the extractor is closed")
            worker = _Worker()
            self._workers.append(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        # daemon: never outlives the crawl process, even when close() is not reached
        self.process = ctx.Process(target=_serve, args=(child,), name="wirewatch-extract", daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(START_TIMEOUT_SECONDS):
            self.kill()
            raise RuntimeError(f"extraction worker did not start within {START_TIMEOUT_SECONDS:.0f}s")
        self.conn.recv()  # "ready"

    def alive(self) -> bool:
        return self.process.is_alive()

    def extract(self, request: tuple, timeout: float) -> Article | Skipped:
        try:
            self.conn.send(request)
            if not self.conn.poll(timeout):
                return ExtractionFailed(f"extraction took longer than {timeout:g}s (crawl.extract_timeout)")
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1)
            return ExtractionFailed(f"extraction process died (exit code {self.process.exitcode})")
        if kind == "error":  # a bug in extraction, not bad input: raised as it would be in-process
            raise value
        return value

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


def _serve(conn: Connection) -> None:
    """The worker's loop: one request in, one (kind, value) out, until None or the parent is gone."""
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
        try:
            result = ("ok", extract_article(*request))
        except Exception as exc:  # a bug: sent to the parent, which raises it
            result = ("error", exc)
        try:
            conn.send(result)
        except OSError:  # the parent is gone (killed): nobody to answer
            return
        except Exception:  # an unpicklable exception: its text still reaches the parent
            try:
                conn.send(("error", RuntimeError(f"{type(result[1]).__name__}: {result[1]}")))
            except OSError:
                return
