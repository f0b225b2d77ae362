"""Open the archive the configuration points at: DSN or embedded server, migrated, outlets synced."""

from __future__ import annotations

import logging

import psycopg

from crawler.outlet import Outlet
from db import outlets as outlet_rows
from db.connect import connect, embedded_dsn
from db.migrate import migrate
from scheduler.config import Config
from scheduler.due import default_bounds

log = logging.getLogger(__name__)


def resolve_dsn(config: Config) -> str:
    if config.database_url is not None:
        return config.database_url.reveal()
    return embedded_dsn(config.embedded_pgdata)


def open_archive(config: Config) -> str:
    """The DSN in use, after applying any missing migration."""
    dsn = resolve_dsn(config)
    with connect(dsn) as conn:
        migrate(conn)
    return dsn


def sync_outlets(conn: psycopg.Connection, outlets: list[Outlet]) -> None:
    with conn.transaction():
        for o in outlets:
            outlet_rows.upsert_outlet(conn, name=o.name, title=o.title, homepage=o.homepage, language=o.language,
                                      wire=o.wire, interval_seconds=int(o.interval.total_seconds()))
            bounds = default_bounds(o.interval, o.min_interval, o.max_interval)
            outlet_rows.set_poll_bounds(conn, name=o.name, min_seconds=int(bounds.minimum.total_seconds()),
                                        max_seconds=int(bounds.maximum.total_seconds()))
