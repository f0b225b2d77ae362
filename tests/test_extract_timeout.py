"""Extraction of one page has a time cap (crawl.extract_timeout): a page that lxml and trafilatura
take seconds over (19,000 inline elements, under the 20,000-element size cap) is cut at the cap
in its worker process, gives one log line naming outlet and URL, counts as a skipped page and an
error of the crawl run, and the rest of the crawl is stored."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from crawler.extract import Article, extract_article
from crawler.extract_worker import ExtractionFailed, TimedExtractor
from tests.conftest import fresh_database
from tests.hostile_server import article_html, rss
from tests.test_hostile import crawl_logged, lines_naming, outlet_toml

CAP = 0.75  # the slow page takes 3 s on an idle machine of this kind, 4-5 s under load
SLOW_PAGE = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A page of words</title></head>"
             "<body><article><h1>A page of words</h1><p>"
             + "".join(f"<span>word{i} </span>" for i in range(19_000))
             + "</p></article></body></html>").encode()
GOOD = ["/good/1", "/good/2", "/good/3"]


class Site:
    """/feed.xml lists the good articles with /slow among them; served from a thread on 127.0.0.1."""

    def __init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
                elif self.path == "/feed.xml":
                    body, kind = rss(site.base, [GOOD[0], "/slow", *GOOD[1:]]), "application/rss+xml"
                elif self.path == "/slow":
                    body, kind = SLOW_PAGE, "text/html; charset=utf-8"
                elif self.path.startswith("/good/"):
                    body, kind = article_html(int(self.path.rsplit("/", 1)[1])), "text/html; charset=utf-8"
                else:
                    body, kind = b"not found", "text/plain"
                self.send_response(404 if body == b"not found" else 200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def slow_seconds() -> float:
    """How long the page takes without a cap: the cap must be what cuts it."""
    started = time.monotonic()
    result = extract_article(SLOW_PAGE, url="http://example.org/slow")
    assert isinstance(result, Article)  # a page the extractor does finish, given the time
    return time.monotonic() - started


def test_the_slow_page_is_slow_without_a_cap(slow_seconds: float) -> None:
    assert slow_seconds > 2 * CAP


def test_a_page_over_the_cap_is_cut_and_its_worker_replaced(slow_seconds: float) -> None:
    extract = TimedExtractor(CAP)
    try:
        assert isinstance(extract(article_html(1), url="http://example.org/1"), Article)
        worker = extract._local.worker.process
        started = time.monotonic()
        result = extract(SLOW_PAGE, url="http://example.org/slow")
        seconds = time.monotonic() - started
        assert isinstance(result, ExtractionFailed)
        assert result.reason == f"extraction took longer than {CAP:g}s (crawl.extract_timeout)"
        assert CAP <= seconds < min(CAP + 1.5, slow_seconds)
        assert not worker.is_alive() and worker.exitcode is not None
        article = extract(article_html(2), url="http://example.org/2")  # a fresh worker
        assert isinstance(article, Article) and "northern lighthouse" in article.text
    finally:
        extract.close()
    assert not extract._workers


def test_a_worker_that_dies_mid_page_fails_only_that_page() -> None:
    extract = TimedExtractor(60.0)
    try:
        assert isinstance(extract(article_html(1), url="http://example.org/1"), Article)
        pid = extract._local.worker.process.pid
        threading.Timer(0.5, os.kill, (pid, 9)).start()
        result = extract(SLOW_PAGE, url="http://example.org/slow")
        assert isinstance(result, ExtractionFailed) and result.reason == "extraction process died (exit code -9)"
        assert isinstance(extract(article_html(2), url="http://example.org/2"), Article)
    finally:
        extract.close()


def test_the_setting_reaches_the_crawl(tmp_path: Path) -> None:
    from scheduler.config import load_config
    from scheduler.jobs import crawl_options

    assert load_config(env={"WIREWATCH_HOME": str(tmp_path)}).extract_timeout == 20.0
    config = load_config(env={"WIREWATCH_HOME": str(tmp_path), "WIREWATCH_CRAWL_EXTRACT_TIMEOUT": "3.5"})
    assert crawl_options(config, "dbname=x").extract_timeout == 3.5


def test_the_crawl_logs_counts_and_goes_on(template_db: str, tmp_path: Path, slow_seconds: float) -> None:
    site = Site()
    try:
        with fresh_database(template_db) as dsn:
            results, log = crawl_logged(dsn, outlet_toml("wordy", site.base, [f"{site.base}/feed.xml"]), tmp_path,
                                        extract_timeout=CAP, per_domain_concurrency=1)
            with psycopg.connect(dsn) as conn:
                stored = {row[0] for row in conn.execute("SELECT url FROM articles")}
                run = conn.execute("SELECT status, pages_fetched, articles_stored, pages_skipped, errors "
                                   "FROM crawl_runs").fetchone()
    finally:
        site.close()
    assert [r.ok for r in results] == [True]
    assert stored == {site.base + path for path in GOOD}
    status, fetched, stored_count, skipped, errors = run
    assert (status, stored_count, skipped, errors) == ("ok", 3, 1, 1) and fetched >= 4  # the feed counts too
    lines = lines_naming(log, f"{site.base}/slow")
    assert len(lines) == 1, lines
    assert "skipped wordy page" in lines[0] and f"extraction took longer than {CAP:g}s" in lines[0]
    assert "WARNING" in lines[0] and "Traceback" not in log


def test_import_has_the_same_cap(template_db: str, tmp_path: Path, slow_seconds: float) -> None:
    """`wirewatch import` extracts under crawl.extract_timeout too: the slow file is skipped, the
    good one stored."""
    from scheduler.imports import import_files

    for name, page in [("slow", SLOW_PAGE), ("good", article_html(1))]:  # a canonical URL each: import needs one
        (tmp_path / f"{name}.html").write_bytes(
            page.replace(b"<head>", f'<head><link rel="canonical" href="https://example.test/{name}">'.encode(), 1))
    with fresh_database(template_db) as dsn, psycopg.connect(dsn) as conn:
        started = time.monotonic()
        summary = import_files(conn, [tmp_path / "slow.html", tmp_path / "good.html"], [], extract_timeout=CAP)
        took = time.monotonic() - started
    assert summary.outcomes["skipped"] == 1 and summary.outcomes["stored"] == 1, summary
    assert took < slow_seconds + 30  # the slow page cost the cap, not its whole extraction
