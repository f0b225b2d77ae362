"""`wirewatch import`: WARC and HTML files through the same extract -> dedupe -> store path as a crawl."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from crawler.extract import Skipped, extract_article
from crawler.extract_worker import TimedExtractor
from crawler.ingest import Duplicate, IngestTarget, Stored, ingest_page
from crawler.items import FetchedPage
from crawler.outlet import Outlet, host_of
from crawler.warc import UnreadableFile, declared_url, is_warc, page_from_html_file, pages_from_warc
from db import outlets as outlet_rows
from db import runs

log = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 5.0


@dataclass
class ImportSummary:
    files: int = 0
    pages: int = 0
    outcomes: Counter = field(default_factory=Counter)  # stored / copies / duplicates / skipped / errors
    by_outlet: Counter = field(default_factory=Counter)  # articles stored per outlet
    problems: list[str] = field(default_factory=list)


def import_files(
    conn: psycopg.Connection, paths: list[Path], outlets: list[Outlet], *, url: str | None = None,
    dedupe_window=None, progress=None, extract_timeout: float | None = None,
) -> ImportSummary:
    """Import every page of `paths`; a bad file is reported and skipped, never fatal. With
    `extract_timeout`, each page is extracted in a worker process under that time cap, as crawls do."""
    if url is not None and (len(paths) != 1 or is_warc(paths[0])):
        raise ValueError("--url applies to a single HTML file")
    by_host = {host: outlet for outlet in outlets for host in outlet.covered_hosts()}
    summary = ImportSummary()
    run_ids: dict[str, int] = {}
    last_report = time.monotonic()
    extract = TimedExtractor(extract_timeout) if extract_timeout else extract_article
    try:
        for page in _pages(paths, url, summary):
            summary.pages += 1
            outlet = by_host.get(host_of(page.final_url))
            name = outlet.name if outlet else _host_outlet(conn, page.final_url)
            if name not in run_ids:
                with conn.transaction():
                    run_ids[name] = runs.start_run(conn, name, kind="import")
            target = IngestTarget(outlet=name, wire=outlet.wire if outlet else False,
                                  rules=outlet.rules if outlet else None, run_id=run_ids[name],
                                  **({"dedupe_window": dedupe_window} if dedupe_window else {}))
            result = ingest_page(conn, page, target, extract)
            _tally(summary, name, result)
            if progress and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                progress(summary)
                last_report = time.monotonic()
    finally:
        if isinstance(extract, TimedExtractor):
            extract.close()
        with conn.transaction():
            for run_id in run_ids.values():
                runs.finish_run(conn, run_id, "ok")
    return summary


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


def _host_outlet(conn: psycopg.Connection, url: str) -> str:
    name = host_of(url)
    with conn.transaction():
        outlet_rows.ensure_host_outlet(conn, name=name, homepage=f"{url.split('://')[0]}://{name}/", language=None)
    return name


def _tally(summary: ImportSummary, outlet: str, result) -> None:
    if isinstance(result, Stored):
        summary.outcomes["copies" if result.copy_of is not None else "stored"] += 1
        summary.by_outlet[outlet] += 1
    elif isinstance(result, Duplicate):
        summary.outcomes["duplicates"] += 1
    elif isinstance(result, Skipped):
        summary.outcomes["skipped"] += 1
