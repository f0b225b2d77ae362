"""Apply the numbered migrations in `db/migrations/` that a database has not seen yet.

Each migration runs in its own transaction together with its row in `schema_migrations`,
under a transaction-level advisory lock, so two daemons starting at once cannot both apply it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from db.queries import QUERIES

log = logging.getLogger(__name__)

FILENAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Arbitrary constant: the advisory lock key that serialises migrations ("wwmigrat").
MIGRATION_LOCK_KEY = 0x77776D6967726174


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("db").joinpath("migrations").iterdir():
        match = FILENAME_RE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"db/migrations: two files share a version number: {versions}")
    return found


def migrate(conn: psycopg.Connection, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply what is missing; return the migrations applied by this call."""
    migrations = bundled_migrations() if migrations is None else migrations
    applied_now: list[Migration] = []
    with conn.transaction():
        # CREATE TABLE IF NOT EXISTS still races with itself; the lock closes that.
        conn.execute(QUERIES["lock_migrations"], {"key": MIGRATION_LOCK_KEY})
        conn.execute(QUERIES["create_schema_migrations"])
    for migration in migrations:
        with conn.transaction():
            conn.execute(QUERIES["lock_migrations"], {"key": MIGRATION_LOCK_KEY})
            done = conn.execute(QUERIES["migration_applied"], {"version": migration.version}).fetchone()
            if done:
                continue
            conn.execute(migration.sql)
            conn.execute(QUERIES["record_migration"], {"version": migration.version, "name": migration.name})
            applied_now.append(migration)
            log.info("applied migration %04d_%s", migration.version, migration.name,
                     extra={"event": "migration_applied", "version": migration.version})
    return applied_now
