"""Conditional GET: an unchanged feed costs one 304 and no parsing; a server without
validators is compared by body hash; validators are kept only once every listed article is
archived, so a failed article is not hidden by the next 304."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import psycopg
import pytest

from scheduler.outlets import parse_outlets
from tests.conftest import LocalSite, crawl_into

ARTICLE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2024-01-0{n}T10:00:00+00:00"></head><body><article>
<h1>{title}</h1>{paragraphs}</article></body></html>"""


def article_html(n: int) -> bytes:
    paragraphs = "".join(f"<p>Story {n}, paragraph {i}: the harbour authority reported that ships number {i * n} "
                         f"and {i + n} waited outside the breakwater for the storm to pass.</p>" for i in range(8))
    return ARTICLE.format(title=f"Harbour story number {n}", n=n, paragraphs=paragraphs).encode()


def feed_xml(base: str, items: list[int]) -> bytes:
    entries = "".join(f"<item><title>Story {n}</title><link>{base}/story/{n}</link></item>" for n in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title><link>{base}/</link>'
            f"{entries}</channel></rss>").encode()


class Site(LocalSite):
    """A feed and its articles on 127.0.0.1, recording each request's conditional headers and status."""

    def __init__(self, validators: bool) -> None:
        self.validators = validators
        self.items = [1]
        self.failing: set[int] = set()
        self.delay = 0.0  # seconds each article takes to answer
        self.arrived: list[str] = []  # paths, as requests arrive (before any delay)
        self.log: list[tuple[str, str | None, int]] = []  # (path, If-None-Match, status)
        super().__init__()

    def arrive(self, path: str) -> None:
        self.arrived.append(path)

    def record(self, path: str, if_none_match: str | None, status: int) -> None:
        self.log.append((path, if_none_match, status))

    def respond(self, path: str, if_none_match: str | None) -> tuple[int, bytes, dict[str, str]]:
        if path == "/feed.xml":
            body = feed_xml(self.base, self.items)
            headers = {"Content-Type": "application/rss+xml"}
            if self.validators:
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                headers["ETag"] = etag
                if if_none_match == etag:
                    return 304, b"", headers
            return 200, body, headers
        if path.startswith("/story/"):
            n = int(path.rsplit("/", 1)[1])
            time.sleep(self.delay)
            if n in self.failing:
                return 503, b"busy", {"Content-Type": "text/plain"}
            return 200, article_html(n), {"Content-Type": "text/html; charset=utf-8"}
        return 404, b"", {"Content-Type": "text/plain"}

    def requests(self, path: str) -> list[tuple[str | None, int]]:
        return [(inm, status) for p, inm, status in self.log if p == path]


@pytest.fixture
def site(request):
    s = Site(validators=request.param)
    yield s
    s.close()


def outlet_for(site: Site):
    return parse_outlets(f'[[outlet]]\nname = "harbour"\ntitle = "Harbour"\nhomepage = "{site.base}/"\n'
                         f'language = "en"\nfeeds = ["{site.base}/feed.xml"]\n')


def stored(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM articles WHERE outlet = 'harbour'").fetchone()[0]


@pytest.mark.parametrize("site", [True], indirect=True, ids=["etag"])
def test_an_unchanged_feed_costs_one_304(site: Site, dsn: str, tmp_path: Path) -> None:
    outlets = outlet_for(site)
    [first] = crawl_into(dsn, outlets, tmp_path)
    assert first.ok and first.articles_stored == 1 and first.links_seen == 1
    [second] = crawl_into(dsn, outlets, tmp_path)
    [(no_validator, status1), (etag_sent, status2)] = site.requests("/feed.xml")
    assert no_validator is None and status1 == 200 and etag_sent and status2 == 304
    assert second.ok and second.sources_unchanged == 1 and second.links_seen == 0  # nothing parsed
    assert len(site.requests("/story/1")) == 1  # a known article is never fetched again

    site.items = [1, 2]  # the feed changes: a 200, parsed, only the new article fetched
    [third] = crawl_into(dsn, outlets, tmp_path)
    assert site.requests("/feed.xml")[-1][1] == 200 and site.requests("/feed.xml")[-1][0] is not None
    assert third.links_seen == 2 and third.links_new == 1 and third.articles_stored == 1
    assert len(site.requests("/story/1")) == 1 and stored(dsn) == 2


@pytest.mark.parametrize("site", [False], indirect=True, ids=["no-validators"])
def test_without_validators_the_body_hash_decides(site: Site, dsn: str, tmp_path: Path) -> None:
    outlets = outlet_for(site)
    crawl_into(dsn, outlets, tmp_path)
    [second] = crawl_into(dsn, outlets, tmp_path)
    assert [status for _, status in site.requests("/feed.xml")] == [200, 200]
    assert all(inm is None for inm, _ in site.requests("/feed.xml"))
    assert second.sources_unchanged == 1 and second.links_seen == 0


@pytest.mark.parametrize("site", [True], indirect=True, ids=["etag"])
def test_a_failed_article_is_not_hidden_by_the_next_304(site: Site, dsn: str, tmp_path: Path) -> None:
    outlets = outlet_for(site)
    site.items, site.failing = [1, 2], {2}
    [first] = crawl_into(dsn, outlets, tmp_path)
    assert first.articles_stored == 1
    site.failing = set()
    [second] = crawl_into(dsn, outlets, tmp_path)
    assert site.requests("/feed.xml")[-1] == (None, 200)  # validators were not kept
    assert second.articles_stored == 1 and stored(dsn) == 2
    [third] = crawl_into(dsn, outlets, tmp_path)
    assert site.requests("/feed.xml")[-1][1] == 304 and third.sources_unchanged == 1
