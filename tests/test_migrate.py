"""Migrations: applied once, recorded, safe when two processes start together."""

from __future__ import annotations

import threading
import uuid

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db.migrate import bundled_migrations, migrate
from tests.conftest import server_dsn


def test_template_has_the_schema(conn: psycopg.Connection) -> None:
    columns = {r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'articles'")}
    assert {"id", "url", "outlet", "title", "text", "published_at", "fetched_at", "copy_of", "authors",
            "language", "search"} <= columns
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in bundled_migrations()]


def test_migrate_again_applies_nothing(conn: psycopg.Connection) -> None:
    assert migrate(conn) == []


def test_concurrent_migrations_apply_each_file_once() -> None:
    name = f"wirewatch_race_{uuid.uuid4().hex[:8]}"
    admin = server_dsn()
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(admin, dbname=name)
    applied: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with psycopg.connect(dsn) as c:
                applied.extend(m.version for m in migrate(c))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert not errors
        assert sorted(applied) == [m.version for m in bundled_migrations()]
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
