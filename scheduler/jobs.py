"""A crawl's outcome recorded on the outlet's row through the `scheduler.due` policy; and the
one-shot crawl in a fresh child process that `wirewatch demo` and the tests use.

The daemon crawls in its own process (`scheduler.daemon`, measured in README "Performance");
a child process is kept for one-shot callers whose process may already have run a reactor.
"""

from __future__ import annotations

import logging
import multiprocessing
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import psycopg

from crawler.outlet import Outlet
from crawler.run import CrawlOptions, OutletResult, crawl
from db import outlets as outlet_rows
from db.connect import connect
from scheduler import due
from scheduler.config import Config

log = logging.getLogger(__name__)


def crawl_options(config: Config, dsn: str, **overrides) -> CrawlOptions:
    options = CrawlOptions(
        dsn=dsn,
        user_agent=config.effective_user_agent,
        concurrency=config.concurrency,
        per_domain_concurrency=config.per_domain_concurrency,
        download_timeout=config.download_timeout,
        max_page_bytes=config.max_page_bytes,
        extract_timeout=config.extract_timeout,
        obey_robots=config.obey_robots,
        robots_ttl=config.robots_ttl,
        allowed_networks=config.allowed_networks,
        dedupe_window=config.dedupe_window,
        alert_max_age=config.alert_max_age,
        max_sitemap_children=config.max_sitemap_children,
        max_sitemap_depth=config.max_sitemap_depth,
        max_sitemap_fetches=config.max_sitemap_fetches,
        max_sitemap_urls=config.max_sitemap_urls,
        max_feed_items=config.max_feed_items,
        max_article_requests=config.max_article_requests,
    )
    return replace(options, **overrides)


def bounds_for(outlet: Outlet) -> due.Bounds:
    return due.default_bounds(outlet.interval, outlet.min_interval, outlet.max_interval)


def cron_next(outlet: Outlet, now: datetime) -> datetime | None:
    if not outlet.cron:
        return None
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(outlet.cron, timezone=timezone.utc).get_next_fire_time(None, now)


def decide(outlet: Outlet, row: outlet_rows.ScheduleRow | None, result: OutletResult | None, now: datetime,
           rand: Callable[[], float] = random.random) -> outlet_rows.CrawlOutcome:
    """What to write on the outlet's row after a crawl (`result` None: the crawl crashed)."""
    state = due.State(
        poll=timedelta(seconds=row.poll_seconds) if row and row.poll_seconds else None,
        failure_score=row.failure_score if row else 0.0,
        consecutive_failures=row.consecutive_failures if row else 0,
    )
    if result is not None and not result.completed:
        # Stopped by a shutdown: neither a success nor a failure. Due again at once, for
        # whichever process runs next; what was stored is stored, the rest is fetched then.
        return outlet_rows.CrawlOutcome(
            ok=False, error="stopped by shutdown before it finished", consecutive_failures=state.consecutive_failures,
            failure_score=state.failure_score, healthy=state.failure_score < due.DEFAULT_POLICY.unhealthy_score,
            next_due_at=now, poll_seconds=int((state.poll or outlet.interval).total_seconds()),
            run_id=result.run_id)
    poll = due.Poll(
        ok=result is not None and result.ok,
        links_seen=result.links_seen if result else 0,
        links_new=result.links_new if result else 0,
        unchanged=bool(result and result.links_seen == 0 and result.sources_unchanged > 0),
        failure_kinds=result.failure_kinds if result else ("crashed",),
    )
    decision = due.decide(state, poll, bounds_for(outlet), now, cron_next=cron_next(outlet, now), rand=rand)
    if result is not None and result.retry_after:
        # The server's Retry-After was longer than a crawl waits: honour it here.
        decision = replace(decision, next_due_at=max(decision.next_due_at, now + timedelta(seconds=result.retry_after)))
    if not decision.healthy and state.failure_score < due.DEFAULT_POLICY.unhealthy_score:
        log.error("outlet %s marked unhealthy after %d failed crawls; next try %s", outlet.name,
                  decision.consecutive_failures, decision.next_due_at.isoformat(timespec="seconds"),
                  extra={"event": "outlet_unhealthy", "outlet": outlet.name})
    return outlet_rows.CrawlOutcome(
        ok=poll.ok, error=None if poll.ok else (result.error if result else "crawl crashed") or "no source could be fetched",
        consecutive_failures=decision.consecutive_failures, failure_score=decision.failure_score,
        healthy=decision.healthy, next_due_at=decision.next_due_at,
        poll_seconds=int(decision.poll.total_seconds()), run_id=result.run_id if result else None)


def record(conn: psycopg.Connection, outlet: Outlet, result: OutletResult | None, *, owner: str | None,
           now: datetime) -> outlet_rows.CrawlOutcome:
    """Decide and write the outcome, releasing `owner`'s lease."""
    outcome = decide(outlet, outlet_rows.schedule(conn, outlet.name), result, now)
    conn.commit()
    if not outlet_rows.finish_crawl(conn, name=outlet.name, owner=owner or "", now=now, outcome=outcome):
        log.warning("lease on %s was lost during its crawl; its outcome is left to the new holder", outlet.name,
                    extra={"event": "lease_lost", "outlet": outlet.name})
    return outcome


def _child_main(outlets, options, log_level, log_format, now, sender) -> None:
    from scheduler.logs import configure_logging

    configure_logging(log_level, log_format)
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
    process.start()
    sender.close()
    try:
        kind, payload = receiver.recv()
    except EOFError:
        kind, payload = "error", "crawl process exited without a result"
    finally:
        process.join()
    if kind == "error":
        return f"{payload} (exit code {process.exitcode})"
    return payload


def crawl_and_record(outlets: list[Outlet], config: Config, dsn: str, now: datetime | None = None,
                     **option_overrides) -> list[OutletResult]:
    """Crawl in a child, then record each outlet's outcome (failure count, next due time)."""
    now = now or datetime.now(timezone.utc)
    options = crawl_options(config, dsn, **option_overrides)
    outcome = crawl_in_child(outlets, options, config, now)
    by_name = {o.name: o for o in outlets}
    with connect(dsn) as conn:
        if isinstance(outcome, str):
            log.error("crawl of %s failed: %s", ", ".join(by_name), outcome, extra={"event": "crawl_crashed"})
            for outlet in outlets:
                record(conn, outlet, None, owner=None, now=now)
            return []
        for result in outcome:
            record(conn, by_name[result.outlet], result, owner=None, now=now)
    return outcome
