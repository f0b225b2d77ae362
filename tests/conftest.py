"""Shared fixtures: a real PostgreSQL (embedded, or WIREWATCH_TEST_DATABASE_URL), a migrated
template database cloned per test, and the demo replay sites served on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db.connect import embedded_dsn
from db.migrate import migrate

TEMPLATE_DB = f"wirewatch_template_{os.getpid()}"


@functools.cache
def server_dsn() -> str:
    url = os.environ.get("WIREWATCH_TEST_DATABASE_URL")
    if url:
        return url
    # Short path: the embedded server's Unix socket lives here too.
    pgdata = Path(tempfile.mkdtemp(prefix="ww-pg-")) / "data"
    return embedded_dsn(pgdata, stop_on_exit=True)


def pytest_report_header(config) -> str:
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
    source = "WIREWATCH_TEST_DATABASE_URL" if os.environ.get("WIREWATCH_TEST_DATABASE_URL") else "embedded pgserver"
    return f"PostgreSQL {version} ({source})"


@pytest.fixture(scope="session")
def template_db() -> str:
    admin = server_dsn()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(TEMPLATE_DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    with psycopg.connect(make_conninfo(admin, dbname=TEMPLATE_DB)) as conn:
        migrate(conn)
    yield TEMPLATE_DB
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE_DB)))


@pytest.fixture
def dsn(template_db: str) -> str:
    """A fresh, migrated database for one test."""
    admin = server_dsn()
    name = f"wirewatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template_db)))
    yield make_conninfo(admin, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def conn(dsn: str):
    with psycopg.connect(dsn) as connection:
        yield connection


@pytest.fixture(scope="session")
def replay():
    """The demo replay sites, one 127.0.0.1 port each."""
    from demo.server import ReplayServer

    with ReplayServer() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli_env(dsn: str, home: Path) -> dict[str, str]:
    """Environment for running the `wirewatch` command against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update({"WIREWATCH_HOME": str(home), "WIREWATCH_DATABASE_URL": dsn})
    return env
