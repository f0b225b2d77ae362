"""`wirewatch run`: APScheduler is each process's local clock; PostgreSQL decides what is due.

One asyncio event loop (Twisted's asyncio reactor) carries APScheduler's AsyncIOScheduler and
Scrapy's AsyncCrawlerRunner (`crawler.run.CrawlSession`), so crawls run in this process and no
reactor is ever restarted (README "Performance" has the measurement behind this choice).
Each outlet has one job (its interval, or its cron expression; jitter; coalesce;
max_instances=1). When it fires, the job asks the database for the outlet's lease
(`scheduler.leases`); only a due outlet that no live process holds is crawled; afterwards
`scheduler.due` decides the next due time and the job is moved to it. When the lease is
elsewhere, the job is moved to the time the database gives, so the local clock follows it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import psycopg
from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from alerts.deliver import release_dead_claims
from crawler.outlet import Outlet
from crawler.run import CrawlSession, OutletResult, run_on_reactor
from db import runs
from db.connect import DatabaseUnavailable, connect
from scheduler import jobs
from scheduler.config import Config
from scheduler.leases import Leases, process_alive, worker_id
from scheduler.metrics import Metrics

log = logging.getLogger(__name__)

FIRST_RUN_SPREAD = timedelta(seconds=2)
MAX_JITTER_SECONDS = 60.0
RETRY_LOST_RACE = timedelta(seconds=5)
# The alert drainer's run length: it drains, then waits on LISTEN wirewatch_articles, so an
# instant alert leaves within milliseconds of its commit; each run starts with a sweep for
# digests and retries.
ALERTS_INTERVAL_SECONDS = 5.0
DB_RETRY_FIRST = 5.0
DB_RETRY_MAX = 300.0


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Daemon:
    """The state one `wirewatch run` process shares between its jobs."""

    def __init__(self, outlets: list[Outlet], config: Config, dsn: str, *,
                 clock: Callable[[], datetime] = utc_now, metrics: Metrics | None = None, **option_overrides) -> None:
        self.outlets = {o.name: o for o in outlets}
        self.config = config
        self.dsn = dsn
        self.clock = clock
        self.owner = worker_id()
        self.leases = Leases(dsn, self.owner, timedelta(seconds=config.lease_seconds), clock)
        self.metrics = metrics or Metrics()
        self.options = jobs.crawl_options(config, dsn, **option_overrides)
        self.session: CrawlSession | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.stopping = threading.Event()  # also for thread-pool jobs, which cannot await
        self._slots: asyncio.Semaphore | None = None
        self._inflight: set[asyncio.Task] = set()
        self._db_backoff: dict[str, float] = {}  # outlet -> next pause after a database error

    def open(self) -> None:
        """Call on the running event loop."""
        self.session = CrawlSession(self.options, owner=self.owner)
        self._slots = asyncio.Semaphore(self.config.parallel_crawls)
        self.leases.release_orphans()
        with connect(self.dsn, autocommit=True) as conn:
            release_dead_claims(conn, process_alive)

    async def crawl_outlet(self, name: str, *, force: bool = False) -> OutletResult | None:
        """Claim, crawl, record; None when the outlet was not this process's to crawl now."""
        if self.stopping.is_set():
            return None
        outlet = self.outlets[name]
        task = asyncio.current_task()
        self._inflight.add(task)
        try:
            return await self._claim_and_crawl(outlet, force)
        except (psycopg.OperationalError, DatabaseUnavailable) as exc:
            # The database is down or restarting: keep running, try this outlet again later. A
            # lease this crawl still holds makes the retry wait for its expiry (lease_seconds).
            delay = self._db_backoff.get(name, DB_RETRY_FIRST)
            self._db_backoff[name] = min(delay * 2, DB_RETRY_MAX)
            log.warning("database unavailable for %s: %s; retrying in %.0fs", name,
                        (str(exc).strip().splitlines() or [type(exc).__name__])[0], delay,
                        extra={"event": "db_unavailable", "outlet": name})
            self._move_job(outlet, self.clock() + timedelta(seconds=delay))
            return None
        finally:
            self._inflight.discard(task)

    async def _claim_and_crawl(self, outlet: Outlet, force: bool) -> OutletResult | None:
        name = outlet.name
        self.metrics.waiting.inc()
        async with self._slots:
            self.metrics.waiting.dec()
            if self.stopping.is_set():
                return None
            row = await asyncio.to_thread(self.leases.claim, name, force=force)
            self._db_backoff.pop(name, None)
            if row is None:
                await self._follow_database(outlet)
                return None
            return await self._crawl_claimed(outlet)

    async def _crawl_claimed(self, outlet: Outlet) -> OutletResult | None:
        now = self.clock()
        keeper = asyncio.create_task(self.leases.keep_alive(outlet.name))
        self.metrics.running.inc()
        result: OutletResult | None = None
        try:
            [result] = await self.session.crawl([outlet], now)
        except (psycopg.OperationalError, DatabaseUnavailable):
            raise  # not a crash: crawl_outlet retries with backoff
        except Exception:
            log.exception("crawl of %s crashed", outlet.name, extra={"event": "crawl_crashed", "outlet": outlet.name})
        finally:
            keeper.cancel()
            self.metrics.running.dec()
        outcome, delays = await asyncio.to_thread(self._record, outlet, result)
        if result is not None:
            self.metrics.crawl_finished(result, healthy=outcome.healthy, delays=delays)
            self.metrics.host_waiting.set(self.session.host_limiter.waiting)
        self._move_job(outlet, outcome.next_due_at)
        return result

    def _record(self, outlet: Outlet, result: OutletResult | None):
        with connect(self.dsn) as conn:
            outcome = jobs.record(conn, outlet, result, owner=self.owner, now=self.clock())
            delays = runs.publication_delays(conn, result.run_id) if result and result.articles_stored else []
        return outcome, delays

    async def _follow_database(self, outlet: Outlet) -> None:
        """Not ours now: fire again when the database says the outlet is due or its lease expires."""
        row = await asyncio.to_thread(self.leases.state, outlet.name)
        now = self.clock()
        if row is None:
            return
        when = max(t for t in (row.next_due_at, row.lease_expires_at, now + RETRY_LOST_RACE) if t is not None)
        self._move_job(outlet, when + timedelta(seconds=random.uniform(0, 2)))

    def _move_job(self, outlet: Outlet, when: datetime) -> None:
        if self.scheduler is not None and self.scheduler.running and not self.stopping.is_set():
            job = self.scheduler.get_job(outlet.name)
            if job is not None:
                job.modify(next_run_time=when)

    def trigger_for(self, outlet: Outlet):
        if outlet.cron:
            return CronTrigger.from_crontab(outlet.cron, timezone=timezone.utc)
        seconds = outlet.interval.total_seconds()
        return IntervalTrigger(seconds=seconds, jitter=min(MAX_JITTER_SECONDS, seconds * 0.1), timezone=timezone.utc)

    def schedule(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}, timezone=timezone.utc)
        now = self.clock()
        for index, outlet in enumerate(self.outlets.values()):
            scheduler.add_job(crawl_outlet_job, self.trigger_for(outlet), args=[self, outlet.name], id=outlet.name,
                              name=f"crawl {outlet.name}",
                              next_run_time=now + FIRST_RUN_SPREAD * index / max(1, len(self.outlets)))
        scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)
        self.scheduler = scheduler
        return scheduler

    async def stop(self) -> None:
        """Stop taking work; let in-flight crawls finish their fetched items (bounded); release leases."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            # pause, not shutdown: shutting the asyncio executor down would cancel the running crawls
            self.scheduler.pause()
        if self.session is not None:
            try:
                await asyncio.wait_for(self.session.stop(), self.config.shutdown_seconds)
            except TimeoutError:
                log.warning("crawls did not stop within %.0fs; leaving them", self.config.shutdown_seconds,
                            extra={"event": "shutdown_timeout"})
        pending = {t for t in self._inflight if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=self.config.shutdown_seconds)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        released = await asyncio.to_thread(self.leases.release_all)
        if released:
            log.info("released leases on %s", ", ".join(sorted(released)), extra={"event": "leases_released"})

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


async def crawl_outlet_job(daemon: Daemon, name: str) -> None:
    """Module-level so APScheduler can name it; one outlet per job so a slow outlet delays no other."""
    await daemon.crawl_outlet(name)


class DrainerBackoff:
    """The alert drainer's state across runs: after a database error, one warning line and a pause
    (5 s, doubling to 5 min) instead of a traceback at every 5 s tick."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.resume_at = 0.0

    def failed(self, exc: Exception) -> None:
        self.delay = min(self.delay * 2, DB_RETRY_MAX) if self.delay else DB_RETRY_FIRST
        self.resume_at = time.monotonic() + self.delay
        log.warning("alert drainer: database unavailable: %s; retrying in %.0fs",
                    (str(exc).strip().splitlines() or [type(exc).__name__])[0], self.delay,
                    extra={"event": "alerts_db_unavailable"})


def alerts_job(dsn: str, stopping: threading.Event, backoff: DrainerBackoff | None = None) -> None:
    """Module-level so APScheduler can name it: drain the alert outbox, then wake on new articles."""
    from alerts.listen import drain_and_listen

    backoff = backoff or DrainerBackoff()
    if time.monotonic() < backoff.resume_at:
        return
    try:
        if backoff.delay:
            # This process's drainer is this one thread: whatever it still holds claimed was cut
            # by the outage before it was sent (or marked) and is given back now, not after its lease.
            with connect(dsn, autocommit=True) as conn:
                release_dead_claims(conn, process_alive, include_own=True)
            log.info("alert drainer: database reachable again", extra={"event": "alerts_db_back"})
            backoff.delay = 0.0
        drain_and_listen(dsn, ALERTS_INTERVAL_SECONDS - 0.5, stop=stopping)
    except (psycopg.OperationalError, DatabaseUnavailable) as exc:
        backoff.failed(exc)


def run_daemon(outlets: list[Outlet], config: Config, dsn: str, **option_overrides) -> None:
    """Run until SIGTERM/SIGINT, then stop cleanly and return (exit status 0)."""
    daemon = Daemon(outlets, config, dsn, **option_overrides)
    if config.metrics_port:
        daemon.metrics.serve(config.metrics_port, config.metrics_address)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        daemon.open()
        scheduler = daemon.schedule()
        # Further periodic jobs (the alert outbox drain...) are added here, as module-level
        # functions; plain functions run in APScheduler's thread pool, off the event loop.
        # The drainer blocks on LISTEN for most of its run: its own thread, not the loop's pool.
        scheduler.add_executor(ThreadPoolExecutor(1), "alerts")
        scheduler.add_job(alerts_job, "interval", seconds=ALERTS_INTERVAL_SECONDS, args=[dsn, daemon.stopping, DrainerBackoff()],
                          id=":alerts", name="deliver alerts", executor="alerts",  # no outlet slug has a colon
                          next_run_time=daemon.clock())
        scheduler.start()
        done = asyncio.Event()

        def on_signal(signum: int) -> None:
            if daemon.stopping.is_set():
                return
            log.info("received %s: finishing in-flight crawls, then exiting", signal.Signals(signum).name,
                     extra={"event": "shutdown"})
            loop.create_task(daemon.stop()).add_done_callback(lambda _: done.set())

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        log.info("wirewatch running as %s: %d outlets, up to %d crawls at once", daemon.owner, len(outlets),
                 config.parallel_crawls, extra={"event": "daemon_started"})
        await done.wait()

    try:
        run_on_reactor(main)
    finally:
        daemon.close()
    log.info("wirewatch stopped", extra={"event": "daemon_stopped"})


def run_once(outlets: list[Outlet], config: Config, dsn: str, **option_overrides) -> list[OutletResult]:
    """Crawl every outlet once now (due or not) unless another process holds it; then return."""
    daemon = Daemon(outlets, config, dsn, **option_overrides)

    async def main() -> list[OutletResult]:
        daemon.open()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: loop.create_task(daemon.stop()))
        found = await asyncio.gather(*(daemon.crawl_outlet(o.name, force=True) for o in outlets))
        skipped = [o.name for o, r in zip(outlets, found) if r is None and not daemon.stopping.is_set()]
        if skipped:
            log.warning("skipped %s: being crawled by another process", ", ".join(skipped),
                        extra={"event": "outlets_leased_elsewhere"})
        return [r for r in found if r is not None]

    try:
        return run_on_reactor(main)
    finally:
        daemon.close()


def _log_job_error(event: JobExecutionEvent) -> None:
    # APScheduler 3.x hands the traceback over already formatted, as a string.
    log.error("job %s failed: %r\n%s", event.job_id, event.exception, (event.traceback or "").rstrip(),
              extra={"event": "job_failed", "outlet": event.job_id})
