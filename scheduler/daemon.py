"""`wirewatch run`: one APScheduler job per outlet at its interval, until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta, timezone

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from crawler.outlet import Outlet
from scheduler.config import Config
from scheduler.jobs import crawl_and_record, interrupt_children

log = logging.getLogger(__name__)

MAX_PARALLEL_CRAWLS = 4
FIRST_RUN_SPREAD = timedelta(seconds=2)


def crawl_job(outlet: Outlet, config: Config, dsn: str) -> None:
    """Module-level so APScheduler can name it; one outlet per job so a slow outlet delays no other."""
    crawl_and_record([outlet], config, dsn)


def run_daemon(outlets: list[Outlet], config: Config, dsn: str) -> None:
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(MAX_PARALLEL_CRAWLS)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=timezone.utc,
    )
    now = datetime.now(timezone.utc)
    for index, outlet in enumerate(outlets):
        interval = outlet.interval.total_seconds()
        scheduler.add_job(
            crawl_job, "interval", seconds=interval, jitter=min(60.0, interval * 0.1),
            args=[outlet, config, dsn], id=outlet.name, name=f"crawl {outlet.name}",
            next_run_time=now + FIRST_RUN_SPREAD * index / max(1, len(outlets)),
        )
    scheduler.add_listener(_log_job_error, EVENT_JOB_ERROR)

    stopping = threading.Event()

    def stop(signum: int, _frame) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log.info("received %s: finishing in-flight crawls, then exiting", signal.Signals(signum).name,
                 extra={"event": "shutdown"})
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("wirewatch running: %d outlets, up to %d crawls at once", len(outlets), MAX_PARALLEL_CRAWLS,
             extra={"event": "daemon_started"})
    scheduler.start()
    interrupt_children()
    log.info("wirewatch stopped", extra={"event": "daemon_stopped"})


def _log_job_error(event: JobExecutionEvent) -> None:
    log.error("job %s failed: %r", event.job_id, event.exception,
              exc_info=(type(event.exception), event.exception, event.traceback),
              extra={"event": "job_failed", "outlet": event.job_id})
