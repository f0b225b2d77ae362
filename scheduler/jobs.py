"""A crawl of some outlets in a fresh child process, and its outcome recorded on the outlets' rows.

A child process per crawl because Twisted's reactor cannot be restarted in a process
(scrapy/scrapy#2941). Measured on this machine: spawning the child and importing Scrapy
costs about 1 s per crawl, which an outlet polled every few minutes does not notice, and a
leak or crash in a crawl cannot take the daemon down with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import replace
from datetime import datetime, timezone

from crawler.outlet import Outlet
from crawler.run import CrawlOptions, OutletResult, crawl
from db import outlets as outlet_rows
from db.connect import connect
from scheduler.config import Config

log = logging.getLogger(__name__)

_active: set[multiprocessing.process.BaseProcess] = set()
_active_lock = threading.Lock()


def crawl_options(config: Config, dsn: str, **overrides) -> CrawlOptions:
    options = CrawlOptions(
        dsn=dsn,
        user_agent=config.effective_user_agent,
        concurrency=config.concurrency,
        per_domain_concurrency=config.per_domain_concurrency,
        download_timeout=config.download_timeout,
        max_page_bytes=config.max_page_bytes,
        obey_robots=config.obey_robots,
        dedupe_window=config.dedupe_window,
    )
    return replace(options, **overrides)


def _child_main(outlets, options, log_level, log_format, now, sender) -> None:
    from scheduler.logs import configure_logging

    configure_logging(log_level, log_format)
    # A SIGINT meant for the daemon reaches the whole process group; Scrapy handles its own.
    try:
        results = crawl(outlets, options, now=now)
    except BaseException as exc:  # reported to the parent, which logs it with the outlets' names
        sender.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    sender.send(("ok", results))


def crawl_in_child(
    outlets: list[Outlet], options: CrawlOptions, config: Config, now: datetime | None = None
) -> list[OutletResult] | str:
    """The per-outlet results, or a reason string when the child died without any."""
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, name="wirewatch-crawl",
                          args=(outlets, options, config.log_level, config.log_format, now, sender))
    with _active_lock:
        process.start()
        _active.add(process)
    sender.close()
    try:
        kind, payload = receiver.recv()
    except EOFError:
        kind, payload = "error", "crawl process exited without a result"
    finally:
        process.join()
        with _active_lock:
            _active.discard(process)
    if kind == "error":
        return f"{payload} (exit code {process.exitcode})"
    return payload


def crawl_and_record(outlets: list[Outlet], config: Config, dsn: str, now: datetime | None = None,
                     **option_overrides) -> list[OutletResult]:
    """Crawl in a child, then set each outlet's failure count and next due time."""
    now = now or datetime.now(timezone.utc)
    options = crawl_options(config, dsn, **option_overrides)
    outcome = crawl_in_child(outlets, options, config, now)
    by_name = {o.name: o for o in outlets}
    with connect(dsn) as conn:
        if isinstance(outcome, str):
            log.error("crawl of %s failed: %s", ", ".join(by_name), outcome, extra={"event": "crawl_crashed"})
            for outlet in outlets:
                _record(conn, outlet, ok=False, error=outcome, now=now)
            return []
        for result in outcome:
            _record(conn, by_name[result.outlet], ok=result.ok, error=result.error, now=now)
    return outcome


def _record(conn, outlet: Outlet, *, ok: bool, error: str | None, now: datetime) -> None:
    next_due = now + outlet.interval
    outlet_rows.record_crawl_outcome(conn, name=outlet.name, ok=ok, error=error, next_due_at=next_due)
    conn.commit()


def interrupt_children(timeout: float = 30.0) -> None:
    """Ask running crawls to finish what is in flight (SIGINT: Scrapy's graceful stop), bounded wait."""
    with _active_lock:
        children = list(_active)
    for child in children:
        if child.is_alive() and child.pid:
            try:
                os.kill(child.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
    for child in children:
        child.join(timeout)
        if child.is_alive():
            log.warning("crawl process %s did not stop in %.0fs; terminating it", child.pid, timeout)
            child.terminate()
