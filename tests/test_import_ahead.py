"""`wirewatch import` extracts the next pages in worker processes while it stores the current one
(crawler.extract_worker.TimedExtractor.extract_ahead) and commits several pages at once
(scheduler.imports._Batch). Neither may change what is stored, or in which order, and the time
cap stays a cap on each page."""

from __future__ import annotations

import gzip
import os
import random
import threading
import time
from pathlib import Path

import psycopg
import pytest

from crawler.extract import Article, extract_article
from crawler.extract_worker import ExtractionFailed, TimedExtractor
from crawler.text_keys import article_keys
from db.pages import compress_body, get_raw_page
from scheduler.imports import import_files
from tests.conftest import fresh_database
from tests.hostile_server import article_html
from tests.test_extract_timeout import CAP, SLOW_PAGE, slow_seconds  # noqa: F401 (fixture)


def request(body: bytes, n: int) -> tuple:
    return (body, f"http://example.org/{n}", None, "text/html; charset=utf-8")


def test_pages_come_back_in_order_and_a_slow_one_is_cut(slow_seconds: float) -> None:
    bodies = [article_html(1), SLOW_PAGE, article_html(2), article_html(3), SLOW_PAGE, article_html(4)]
    extract = TimedExtractor(CAP)
    try:
        started = time.monotonic()
        results = list(extract.extract_ahead(((n, request(b, n)) for n, b in enumerate(bodies)), workers=2,
                                             compress=compress_body, derive=article_keys))
        took = time.monotonic() - started
    finally:
        extract.close()
    assert [n for n, _, _, _ in results] == list(range(len(bodies)))
    for (n, result, compressed, keys), body in zip(results, bodies):
        if body is SLOW_PAGE:
            assert isinstance(result, ExtractionFailed), n
            assert result.reason == f"extraction took longer than {CAP:g}s (crawl.extract_timeout)"
            assert compressed is None and keys is None
        else:
            assert isinstance(result, Article), n
            assert gzip.decompress(compressed) == body
            # what crawler.linking would compute in this process from the same article
            assert keys == article_keys(extract_article(*request(body, n))) and keys.band_keys, n
    # Two slow pages cost about two caps (each in its own worker, replaced after), not their extraction.
    assert took < min(2 * CAP + 3, 2 * slow_seconds)
    assert not extract._workers


def test_the_page_behind_a_slow_one_has_its_whole_cap(slow_seconds: float) -> None:
    """Each page's cap runs from when its worker receives it: a page waiting behind a slow one in
    the caller's order is not cut for the time the slow one took."""
    # Each slow page finishes within its cap; the second would not if its cap had started with
    # the first's (it is read ahead while the first is extracted).
    cap = 1.5 * slow_seconds + 1
    extract = TimedExtractor(cap)
    try:
        bodies = [SLOW_PAGE, SLOW_PAGE, article_html(1)]
        results = list(extract.extract_ahead(((n, request(b, n)) for n, b in enumerate(bodies)), workers=1))
    finally:
        extract.close()
    assert all(isinstance(result, Article) and keys is None for _, result, _, keys in results), results


def test_a_worker_done_early_is_not_held_up_by_a_slow_page_before_its_own(slow_seconds: float) -> None:
    """While the caller waits for a slow page, the other worker extracts the pages behind it."""
    extract = TimedExtractor(60.0)
    bodies = [SLOW_PAGE, article_html(1), article_html(2), article_html(3)]
    try:
        ahead = extract.extract_ahead(((n, request(b, n)) for n, b in enumerate(bodies)), workers=2)
        first = next(ahead)
        behind = [entry[3] for entry in ahead._pending]  # the results already back
        rest = list(ahead)
    finally:
        extract.close()
    assert first[0] == 0 and isinstance(first[1], Article)
    assert len(behind) == 3 and all(r is not None and isinstance(r[0], Article) for r in behind), behind
    assert [n for n, _, _, _ in rest] == [1, 2, 3]


def test_a_worker_killed_mid_page_fails_only_that_page() -> None:
    extract = TimedExtractor(60.0)
    bodies = [article_html(1), SLOW_PAGE, article_html(2)]
    try:
        ahead = extract.extract_ahead(((n, request(b, n)) for n, b in enumerate(bodies)), workers=2)
        first = next(ahead)
        assert isinstance(first[1], Article)
        slow_worker = ahead._pending[0][2]  # the worker the slow page went to
        threading.Timer(0.3, os.kill, (slow_worker.process.pid, 9)).start()
        rest = list(ahead)
    finally:
        extract.close()
    assert [n for n, _, _, _ in rest] == [1, 2]
    assert isinstance(rest[0][1], ExtractionFailed)
    assert rest[0][1].reason == "extraction process died (exit code -9)"
    assert isinstance(rest[1][1], Article)


WORDS = ("harbour council ferry timetable winter storm fishing fleet bridge repair school budget library "
         "festival orchard harvest railway station museum exhibition hospital ward election count river "
         "flood warning mountain trail snowfall airport runway factory shift market prices").split()


def distinct_page(n: int) -> bytes:
    """An article whose text shares no run of words with another n's: no copy, no duplicate."""
    rng = random.Random(n)
    paragraphs = "".join("<p>" + " ".join(rng.choices(WORDS, k=40)).capitalize() + f" (report {n}-{i}).</p>"
                         for i in range(6))
    title = f"Town report {n}: " + " ".join(rng.choices(WORDS, k=4))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def _html_files(tmp_path: Path, pages: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for name, page in pages:  # a canonical URL each: import needs one
        path = tmp_path / f"{name}.html"
        path.write_bytes(page.replace(
            b"<head>", f'<head><link rel="canonical" href="https://example.test/{name}">'.encode(), 1))
        paths.append(path)
    return paths


def test_stored_pages_are_committed_before_a_slow_extraction_is_waited_for(
        template_db: str, tmp_path: Path, slow_seconds: float) -> None:
    """The import never keeps its transaction (and the dedupe lock) open while it waits for an
    extraction: the page before the slow one is visible to others while the slow one is extracted."""
    paths = _html_files(tmp_path, [("first", article_html(1)), ("slow", SLOW_PAGE), ("last", article_html(2))])
    with fresh_database(template_db) as dsn:
        outcome: dict = {}

        def run() -> None:
            with psycopg.connect(dsn) as conn:
                outcome["summary"] = import_files(conn, paths, [], extract_timeout=60.0, workers=2)

        thread = threading.Thread(target=run)
        thread.start()
        seen_while_running = False
        with psycopg.connect(dsn, autocommit=True) as watcher:
            while thread.is_alive():
                urls = {r[0] for r in watcher.execute("SELECT url FROM articles")}
                if urls == {"https://example.test/first"}:
                    seen_while_running = True
                time.sleep(0.05)
        thread.join()
        with psycopg.connect(dsn) as conn:
            rows = conn.execute("SELECT url FROM articles ORDER BY id").fetchall()
            raw = get_raw_page(conn, conn.execute("SELECT min(id) FROM articles").fetchone()[0])
    assert seen_while_running
    assert outcome["summary"].outcomes["stored"] == 3
    assert [r[0] for r in rows] == ["https://example.test/first", "https://example.test/slow",
                                    "https://example.test/last"]  # in the files' order
    assert raw.body == paths[0].read_bytes()  # compressed by the worker, read back as stored


def test_a_failed_import_keeps_what_it_committed_and_a_rerun_completes_it(template_db: str, tmp_path: Path) -> None:
    """A database error mid-import loses at most the uncommitted batch; importing the same files
    again stores the rest once (nothing doubled)."""
    paths = _html_files(tmp_path, [(f"page{n}", distinct_page(n)) for n in range(1, 7)])
    with fresh_database(template_db) as dsn:
        with psycopg.connect(dsn) as conn:
            calls = {"n": 0}
            from crawler import ingest

            original = ingest.outbox.article_stored

            def failing(conn_, article_id, *args, **kwargs):
                calls["n"] += 1
                if calls["n"] == 4:
                    conn_.execute("SELECT 1/0")  # a database error inside the store
                return original(conn_, article_id, *args, **kwargs)

            ingest.outbox.article_stored = failing
            try:
                with pytest.raises(psycopg.errors.DivisionByZero):
                    import_files(conn, paths, [], extract_timeout=20.0, workers=2)
            finally:
                ingest.outbox.article_stored = original
        with psycopg.connect(dsn) as conn:
            before = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            summary = import_files(conn, paths, [], extract_timeout=20.0, workers=2)
            urls = [r[0] for r in conn.execute("SELECT url FROM articles")]
    assert before < 4
    assert summary.outcomes["stored"] == 6 - before and summary.outcomes["duplicates"] == before
    assert sorted(urls) == sorted(f"https://example.test/page{n}" for n in range(1, 7))
