"""Watches into the database: PostgreSQL parses each query first, and config-file watches are
kept in step with the file."""

from __future__ import annotations

import logging

import psycopg

from alerts.spec import WatchError, WatchSpec
from db import watches as watch_rows

log = logging.getLogger(__name__)


def check_with_database(conn: psycopg.Connection, spec: WatchSpec) -> None:
    """WatchError when PostgreSQL finds no searchable word in the query or does not know the zone."""
    parsed = watch_rows.check(conn, spec.query, spec.time_zone)
    # English articles are matched with the english parse, all others with the simple one:
    # each that can apply must keep a word ('the' is a word to simple, a stop word to english).
    english = spec.language is None or spec.language.startswith("en")
    other = spec.language is None or not spec.language.startswith("en")
    if (english and not parsed.english) or (other and not parsed.simple):
        raise WatchError(f"watch {spec.name!r}: query: {spec.query!r} has no searchable word "
                         "(only stop words or operators); try e.g. '\"northern territories\" OR kuril -hockey'")
    if not parsed.time_zone_known:
        raise WatchError(f"watch {spec.name!r}: time_zone: PostgreSQL does not know {spec.time_zone!r} "
                         "(expected an IANA zone such as 'Asia/Tokyo' or 'UTC')")


def _fields(spec: WatchSpec) -> watch_rows.WatchFields:
    return watch_rows.WatchFields(
        name=spec.name, query=spec.query, outlets=list(spec.outlets), language=spec.language, mode=spec.mode,
        daily_at=spec.daily_at, time_zone=spec.time_zone, updates=spec.updates, source=spec.source,
    )


def add_watch(conn: psycopg.Connection, spec: WatchSpec) -> int:
    """Create a watch (one transaction); WatchError when the name is taken or the query is empty."""
    return _save(conn, spec, create=True)


def replace_watch(conn: psycopg.Connection, spec: WatchSpec) -> int:
    """Overwrite an existing watch's settings and channels (one transaction)."""
    return _save(conn, spec, create=False)


def _save(conn: psycopg.Connection, spec: WatchSpec, *, create: bool) -> int:
    with conn.transaction():
        check_with_database(conn, spec)
        if create:
            watch_id = watch_rows.insert_watch(conn, _fields(spec))
            missing = f"watch {spec.name!r} already exists; change it with `wirewatch watch edit {spec.name}`"
        else:
            watch_id = watch_rows.update_watch(conn, _fields(spec))
            missing = f"no watch named {spec.name!r} (see `wirewatch watch list`)"
        if watch_id is None:
            raise WatchError(missing)
        watch_rows.set_channels(conn, watch_id, [(c.reveal(), c.masked) for c in spec.channels])
    log.info("watch %s %s: %s", spec.name, "added" if create else "changed", spec,
             extra={"event": "watch_saved", "watch": spec.name})
    return watch_id


def sync_config_watches(conn: psycopg.Connection, specs: tuple[WatchSpec, ...], source: str) -> None:
    """Make the database's config-defined watches those of the file; one transaction, so a bad
    watch in the file changes nothing. A CLI watch of the same name becomes the file's. A config
    watch the file no longer defines is deleted only if it never raised an alert: a file that lacks
    it may be the wrong file, and its alerts are history no sync should take; one with alerts is
    kept as a command-line watch, for `wirewatch watch remove`."""
    try:
        with conn.transaction():
            for spec in specs:
                check_with_database(conn, spec)
                fields = _fields(spec)
                # update, else insert, else update: another process may insert it in between
                watch_id = (watch_rows.update_watch(conn, fields) or watch_rows.insert_watch(conn, fields)
                            or watch_rows.update_watch(conn, fields))
                watch_rows.set_channels(conn, watch_id, [(c.reveal(), c.masked) for c in spec.channels])
            released = watch_rows.release_config_watches_except(conn, [s.name for s in specs])
    except WatchError as exc:
        raise WatchError(f"{source}: {exc}") from None
    for name, alerts in released:
        if alerts == 0:
            log.info("watch %s removed: no longer in %s (it had no alerts)", name, source,
                     extra={"event": "watch_removed", "watch": name})
        else:
            log.warning("watch %s is no longer in %s but has %d alerts: kept as a command-line watch "
                        "(`wirewatch watch remove %s` deletes it and its alerts)", name, source, alerts, name,
                        extra={"event": "watch_kept", "watch": name})
