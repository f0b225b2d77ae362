"""`wirewatch import`: WARC and HTML files through the same pipeline as a crawl."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from db import articles as article_rows
from scheduler.outlets import parse_outlets
from scheduler.database import sync_outlets
from scheduler.imports import import_files
from tests.conftest import crawl_into, demo_outlets, fresh_database, manifest_articles

STORED = [a for a in manifest_articles() if not a.get("excluded_by_since")]


def write_warc(path: Path, replay, articles: list[dict]) -> None:
    """Fetch each page from the replay server and record request/response pairs, as a crawler would."""
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=path.name.endswith(".gz"))
        for article in articles:
            url = replay.url(article["site"], article["path"])
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                headers = list(response.headers.items())
            http_headers = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
            request_line = StatusAndHeaders(f"GET {article['path']} HTTP/1.1", [("User-Agent", "test")],
                                            is_http_request=True)
            writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                                          http_headers=request_line))
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=http_headers))


def snapshot(dsn: str, outlets: list[str]) -> list[tuple]:
    """What matters of an archive: articles by URL with their text and copy relation by URL."""
    with psycopg.connect(dsn) as conn:
        rows = article_rows.articles_of_outlets(conn, outlets)
    url_of = {r.id: r.url for r in rows}
    return sorted((r.url, r.outlet, r.title, r.text, r.published_at, url_of.get(r.copy_of)) for r in rows)


@pytest.mark.parametrize("name", ["replay.warc.gz", "replay.warc"])
def test_warc_import_stores_what_the_crawl_stores(replay, template_db, tmp_path: Path, name: str) -> None:
    outlets = demo_outlets(replay)
    names = [o.name for o in outlets]
    warc = tmp_path / name
    # Copies first: the originals arrive late, as they may in a real backfill.
    write_warc(warc, replay, sorted(STORED, key=lambda a: not a.get("copy_of")))
    with fresh_database(template_db) as crawl_dsn, fresh_database(template_db) as import_dsn:
        crawl_into(crawl_dsn, outlets, tmp_path / "home")
        with psycopg.connect(import_dsn) as conn:
            sync_outlets(conn, outlets)
            summary = import_files(conn, [warc], outlets)
        assert summary.pages == len(STORED)
        assert summary.outcomes["stored"] + summary.outcomes["copies"] == len(STORED)
        assert snapshot(import_dsn, names) == snapshot(crawl_dsn, names)
        # Importing the same file again changes nothing.
        with psycopg.connect(import_dsn) as conn:
            again = import_files(conn, [warc], outlets)
        assert again.outcomes["duplicates"] == len(STORED)
        assert snapshot(import_dsn, names) == snapshot(crawl_dsn, names)


def test_keys_from_the_extraction_workers_link_as_those_computed_here(replay, template_db, tmp_path: Path) -> None:
    """With a time cap, the workers compute each article's fingerprint, band keys, wire and story
    terms (crawler.text_keys); without, crawler.linking does: the same copies, wires and stories."""
    outlets = demo_outlets(replay)
    names = [o.name for o in outlets]
    warc = tmp_path / "replay.warc"
    write_warc(warc, replay, sorted(STORED, key=lambda a: not a.get("copy_of")))  # take-overs too

    def linked(dsn: str) -> list[tuple]:
        with psycopg.connect(dsn) as conn:
            rows = article_rows.articles_of_outlets(conn, names)
        url_of = {r.id: r.url for r in rows}
        return sorted((r.url, r.text, url_of.get(r.copy_of), r.similarity, r.wire_service, url_of.get(r.story_id))
                      for r in rows)

    with fresh_database(template_db) as here_dsn, fresh_database(template_db) as ahead_dsn:
        for dsn, extract_timeout in ((here_dsn, None), (ahead_dsn, 20.0)):
            with psycopg.connect(dsn) as conn:
                sync_outlets(conn, outlets)
                import_files(conn, [warc], outlets, extract_timeout=extract_timeout)
        here = linked(here_dsn)
        assert linked(ahead_dsn) == here
    assert len(here) == len(STORED)
    assert any(row[2] for row in here) and any(row[4] for row in here) and any(row[5] for row in here)


def test_html_file_of_an_unknown_host_gets_a_host_outlet(replay, conn, tmp_path: Path) -> None:
    article = next(a for a in STORED if a["site"] == "asahi")
    with urllib.request.urlopen(replay.url(article["site"], article["path"]), timeout=10) as response:
        page = tmp_path / "page.html"
        page.write_bytes(response.read())
    summary = import_files(conn, [page], [], url="https://www.example-news.test/2024/story.html?utm_source=x")
    assert summary.outcomes["stored"] == 1
    rows = article_rows.articles_of_outlets(conn, ["example-news.test"])
    assert [r.url for r in rows] == ["https://www.example-news.test/2024/story.html"]
    assert article["first_sentence"] in rows[0].text


def test_unreadable_files_are_reported_not_fatal(conn, tmp_path: Path) -> None:
    bad = tmp_path / "broken.warc.gz"
    bad.write_bytes(gzip.compress(b"<html>an HTML page saved under the wrong name</html>\n"))
    no_url = tmp_path / "bare.html"
    no_url.write_text("<html><body><p>No canonical link here.</p></body></html>")
    summary = import_files(conn, [bad, no_url], [])
    assert summary.outcomes["errors"] == 2
    assert any("broken.warc.gz" in p for p in summary.problems)
    assert any("--url" in p for p in summary.problems)


def test_import_command(replay, cli_env, tmp_path: Path) -> None:
    warc = tmp_path / "two.warc.gz"
    write_warc(warc, replay, [a for a in STORED if a["site"] in ("jiji", "diplomat")])
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "import", str(warc)], env=cli_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Imported 2 pages from 1 files: 2 articles stored" in result.stdout
