"""Logging set-up: the only place handlers are configured (the CLI and crawl child processes call it)."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime, timezone

# Attributes every LogRecord has; anything else was passed in `extra=` and goes into JSON output.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            payload["traceback"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


# Failures these report reach wirewatch's errbacks, which log them once with the outlet's name.
_REPEATS = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.robotstxt",
            "scrapy.downloadermiddlewares.httpcompression", "scrapy.core.downloader.handlers.http11")


def _quiet_scrapy(record: logging.LogRecord) -> bool:
    """Scrapy's start-up banner and per-spider INFO lines repeat what wirewatch says once per
    crawl; its warnings and errors still pass. (Scrapy resets its loggers' levels when a
    crawl starts, so a handler filter is the place that sticks.)"""
    if record.name.startswith(_REPEATS):
        return False
    return record.levelno >= logging.WARNING or not record.name.startswith(("scrapy", "twisted"))


class OnceAMinute(logging.Filter):
    """One line per distinct message a minute: psycopg's pool logs each failed reconnection (two
    lines, twice a second, for as long as the database is down)."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        text = " ".join(record.getMessage().split())
        now = time.monotonic()
        if now - self.last.get(text, -self.seconds) < self.seconds:
            return False
        self.last[text] = now
        record.msg, record.args = text + " (repeats within a minute not shown)", None
        return True


_pool_filter = OnceAMinute()


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    verbose = level == "DEBUG"
    if not verbose:
        handler.addFilter(_quiet_scrapy)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Scrapy's own lines repeat what our spiders already say once per event.
    for name, quiet_level in (("twisted", logging.CRITICAL),
                              ("trafilatura", logging.CRITICAL), ("htmldate", logging.CRITICAL),
                              ("pgserver", logging.WARNING), ("apscheduler", logging.WARNING),
                              ("readability", logging.WARNING),
                              ("psycopg.pool", logging.WARNING)):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else quiet_level)
    pool_logger = logging.getLogger("psycopg.pool")
    if _pool_filter not in pool_logger.filters:
        pool_logger.addFilter(_pool_filter)
