"""Shared fixtures: a real PostgreSQL (embedded, or WIREWATCH_TEST_DATABASE_URL), a migrated
template database cloned per test, and the demo replay sites served on 127.0.0.1."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from db.connect import embedded_dsn
from db.migrate import migrate

TEMPLATE_DB = f"wirewatch_template_{os.getpid()}"
LOOPBACK = "127.0.0.0/8,::1/128"  # crawl.allowed_networks for tests: every test server is on 127.0.0.1


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


@contextmanager
def fresh_database(template: str):
    """A new database cloned from the migrated template; dropped afterwards."""
    admin = server_dsn()
    name = f"wirewatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        yield make_conninfo(admin, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def dsn(template_db: str) -> str:
    """A fresh, migrated database for one test."""
    with fresh_database(template_db) as url:
        yield url


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
    env["WIREWATCH_CRAWL_ALLOWED_NETWORKS"] = LOOPBACK  # the test servers listen on 127.0.0.1
    return env


MANIFEST = Path(__file__).resolve().parent.parent / "demo" / "sites" / "manifest.toml"


def manifest_articles() -> list[dict]:
    import tomllib

    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["article"]


def demo_outlets(replay):
    from demo.outlets import outlets_toml
    from scheduler.outlets import parse_outlets

    return parse_outlets(outlets_toml(replay.bases), source="demo outlets")


def crawl_into(dsn: str, outlets, home: Path):
    """The daemon's crawl cycle (child process and all) for `outlets` into `dsn`."""
    from scheduler.config import load_config
    from scheduler.database import sync_outlets
    from scheduler.jobs import crawl_and_record

    config = load_config(env={"WIREWATCH_HOME": str(home), "WIREWATCH_CRAWL_ALLOWED_NETWORKS": LOOPBACK})
    with psycopg.connect(dsn) as conn:
        sync_outlets(conn, outlets)
    return crawl_and_record(outlets, config, dsn, throttle_start_delay=0.05)


class LocalSite:
    """An HTTP server on 127.0.0.1 (port 0) in a thread. A subclass answers in `respond(path,
    if_none_match)` -> (status, body, headers); `arrive` sees each request as it comes in and
    `record` once it is answered."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.arrive(self.path)
                if_none_match = self.headers.get("If-None-Match")
                status, body, headers = site.respond(self.path, if_none_match)
                site.record(self.path, if_none_match, status)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, path: str, if_none_match: str | None) -> tuple[int, bytes, dict[str, str]]:
        raise NotImplementedError

    def arrive(self, path: str) -> None:
        pass

    def record(self, path: str, if_none_match: str | None, status: int) -> None:
        pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (port 0) in a thread that records every JSON POST; answers
    with the statuses in `responses` in turn (then 200)."""

    def __init__(self) -> None:
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.times: list[float] = []
        self.responses: list[int] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.arrived:
                    status = receiver.responses.pop(0) if receiver.responses else 200
                    receiver.paths.append(self.path)
                    receiver.headers.append(dict(self.headers.items()))
                    receiver.times.append(time.time())
                    receiver.received.append(json.loads(body or b"{}"))
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def smtp_server():
    """An SMTP server (aiosmtpd) on 127.0.0.1 collecting messages in `.messages`."""
    import socket
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self) -> None:
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so port 0 cannot be used
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    controller.messages = handler.messages
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def demo_archive(replay, template_db, tmp_path_factory):
    """A database holding the crawled demo replay (read-only for its users: search, API, web UI)."""
    with fresh_database(template_db) as url:
        crawl_into(url, demo_outlets(replay), tmp_path_factory.mktemp("demo-home"))
        yield url
