"""`wirewatch import`: WARC and HTML files through the same extract -> dedupe -> store path as a crawl."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import psycopg

from crawler.extract import Skipped, extract_article
from crawler.extract_worker import TimedExtractor
from crawler.ingest import Duplicate, IngestTarget, Stored, extraction_request, ingest_extracted
from crawler.items import FetchedPage
from crawler.outlet import ExtractionRules, Outlet, host_of
from crawler.text_keys import article_keys
from crawler.warc import UnreadableFile, declared_url, is_warc, page_from_html_file, pages_from_warc
from db import outlets as outlet_rows
from db import pages as raw_pages
from db import runs

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 5.0
# Extraction processes of one import. Storing a page here takes about half as long as
# extracting it (bench/import_path.py), so two workers keep this process busy; a third would
# only wait behind its one connection.
EXTRACT_WORKERS = max(1, min(2, os.cpu_count() or 1))
COMMIT_EVERY_SECONDS = 0.25


@dataclass
class ImportSummary:
    files: int = 0
    pages: int = 0
    outcomes: Counter = field(default_factory=Counter)  # stored / copies / duplicates / skipped / errors
    by_outlet: Counter = field(default_factory=Counter)  # articles stored per outlet
    problems: list[str] = field(default_factory=list)


def import_files(
    conn: psycopg.Connection, paths: list[Path], outlets: list[Outlet], *, url: str | None = None,
    dedupe_window=None, progress=None, extract_timeout: float | None = None, workers: int | None = None,
    alerts: bool = True, alert_max_age: timedelta | None = timedelta(days=2),
) -> ImportSummary:
    """Import every page of `paths`, in their order; a bad file is reported and skipped, never fatal.
    With `extract_timeout`, each page is extracted in a worker process under that time cap, as crawls
    do, by `workers` processes at once (default EXTRACT_WORKERS) while this one stores the pages
    before them."""
    if url is not None and (len(paths) != 1 or is_warc(paths[0])):
        raise ValueError("--url applies to a single HTML file")
    by_host = {host: outlet for outlet in outlets for host in outlet.covered_hosts()}
    summary = ImportSummary()
    run_ids: dict[str, int] = {}
    last_report = time.monotonic()
    requests = ((page, extraction_request(page, _rules(by_host, page))) for page in _pages(paths, url, summary))
    extractor = TimedExtractor(extract_timeout) if extract_timeout else None
    extracted = (extractor.extract_ahead(requests, workers=workers or EXTRACT_WORKERS, compress=raw_pages.compress_body,
                                         derive=article_keys) if extractor else _InProcess(requests))
    batch = _Batch(conn)
    try:
        for page, result, body_gzip, text_keys in extracted:
            batch.begin()
            summary.pages += 1
            outlet = by_host.get(host_of(page.final_url))
            name = outlet.name if outlet else host_of(page.final_url)
            if name not in run_ids:  # committed with the batch, and with the page counted in it
                if outlet is None:
                    _host_outlet(conn, page.final_url)
                run_ids[name] = runs.start_run(conn, name, kind="import")
            target = IngestTarget(outlet=name, wire=outlet.wire if outlet else False,
                                  rules=outlet.rules if outlet else None, run_id=run_ids[name],
                                  alerts=alerts, alert_max_age=alert_max_age,
                                  **({"dedupe_window": dedupe_window} if dedupe_window else {}))
            _tally(summary, name, ingest_extracted(conn, page, target, result, body_gzip, text_keys))
            batch.end(idle=extracted.waiting())
            if progress and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                progress(summary)
                last_report = time.monotonic()
        batch.commit()
    except BaseException as exc:
        batch.rollback(exc)
        raise
    finally:
        extracted.close()
        if extractor is not None:
            extractor.close()
        with conn.transaction():
            for run_id in run_ids.values():
                runs.finish_run(conn, run_id, "ok")
    return summary


class _Batch:
    """Consecutive pages committed together, each still in its own savepoint (crawler.ingest's
    transaction, nested): a commit waits for PostgreSQL's WAL flush, which cost as much as storing
    the page itself. The batch is committed whenever the import would wait for an extraction
    (then the flush costs nothing) and at least every COMMIT_EVERY_SECONDS, so it never holds the
    dedupe lock (crawler.ingest) longer than that while a crawl waits to store. What the import
    reports stored is committed when it returns; a crash loses at most the batch, which importing
    the same files again stores (each page's URL is checked first)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.transaction: psycopg.Transaction | None = None
        self.started = 0.0

    def begin(self) -> None:
        if self.transaction is None:
            self.transaction = self.conn.transaction()
            self.transaction.__enter__()
            self.started = time.monotonic()

    def end(self, *, idle: bool) -> None:
        if idle or time.monotonic() - self.started >= COMMIT_EVERY_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            transaction.__exit__(None, None, None)

    def rollback(self, exc: BaseException) -> None:
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            transaction.__exit__(type(exc), exc, exc.__traceback__)


class _InProcess:
    """extract_article on each request as it is read (no time cap); commits after every page."""

    def __init__(self, requests: Iterator) -> None:
        self._requests = requests

    def __iter__(self) -> _InProcess:
        return self

    def __next__(self) -> tuple:
        page, request = next(self._requests)
        return page, extract_article(*request), None, None

    def waiting(self) -> bool:
        return True

    def close(self) -> None:
        self._requests.close()


def _rules(by_host: dict[str, Outlet], page: FetchedPage) -> ExtractionRules | None:
    outlet = by_host.get(host_of(page.final_url))
    return outlet.rules if outlet else None


def _pages(paths: list[Path], url: str | None, summary: ImportSummary) -> Iterator[FetchedPage]:
    for path in paths:
        summary.files += 1
        try:
            if is_warc(path):
                yield from pages_from_warc(path)
                continue
            page = page_from_html_file(path, url or "")
            page_url = url or declared_url(page.body)
            if not page_url:
                raise UnreadableFile(f"{path}: no canonical or og:url in the page; give its address with --url")
            yield FetchedPage(url=page_url, final_url=page_url, body=page.body, status=None,
                              headers=page.headers, via="file")
        except UnreadableFile as exc:
            summary.outcomes["errors"] += 1
            summary.problems.append(str(exc))
            log.error("cannot import %s", exc, extra={"event": "import_failed", "url": str(path)})


def _host_outlet(conn: psycopg.Connection, url: str) -> None:
    name = host_of(url)
    outlet_rows.ensure_host_outlet(conn, name=name, homepage=f"{url.split('://')[0]}://{name}/", language=None)


def _tally(summary: ImportSummary, outlet: str, result) -> None:
    if isinstance(result, Stored):
        summary.outcomes["copies" if result.copy_of is not None else "stored"] += 1
        summary.by_outlet[outlet] += 1
    elif isinstance(result, Duplicate):
        summary.outcomes["duplicates"] += 1
    elif isinstance(result, Skipped):
        summary.outcomes["skipped"] += 1
