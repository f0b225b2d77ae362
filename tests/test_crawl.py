"""The crawl cycle against the demo replay sites on 127.0.0.1: discovery by feed, sitemap and
section page; extraction; copies; a second crawl that stores and fetches nothing new."""

from __future__ import annotations

import gzip

import psycopg
import pytest

from db import articles as article_rows
from db import pages
from db import search
from tests.conftest import crawl_into, demo_outlets, fresh_database, manifest_articles

ARTICLES = manifest_articles()
STORED = [a for a in ARTICLES if not a.get("excluded_by_since")]


@pytest.fixture(scope="module")
def crawled(replay, template_db, tmp_path_factory):
    """One crawl of all demo outlets, then a second one; tests read the result."""
    with fresh_database(template_db) as dsn:
        outlets = demo_outlets(replay)
        replay.reset_hits()
        home = tmp_path_factory.mktemp("home")
        first = crawl_into(dsn, outlets, home)
        hits_after_first = {(a["site"], a["path"]): replay.hit_count(a["site"], a["path"]) for a in ARTICLES}
        second = crawl_into(dsn, outlets, home)
        hits_after_second = {(a["site"], a["path"]): replay.hit_count(a["site"], a["path"]) for a in ARTICLES}
        with psycopg.connect(dsn) as conn:
            rows = article_rows.articles_of_outlets(conn, [o.name for o in outlets])
            raw = {r.id: pages.get_raw_page(conn, r.id) for r in rows}
        yield {"dsn": dsn, "first": first, "second": second, "rows": rows, "raw": raw,
               "hits1": hits_after_first, "hits2": hits_after_second, "replay": replay}


def by_url(crawled) -> dict[str, article_rows.ArticleRow]:
    return {r.url: r for r in crawled["rows"]}


def url_of(replay, article: dict) -> str:
    return replay.url(article["site"], article["path"])


def test_every_outlet_crawl_succeeds(crawled) -> None:
    assert {r.outlet for r in crawled["first"]} == {a["outlet"] for a in ARTICLES}
    assert all(r.ok and r.errors == 0 for r in crawled["first"]), crawled["first"]


@pytest.mark.parametrize("via", sorted({a["via"] for a in STORED}))
def test_each_discovery_kind_stores_its_articles(crawled, via: str) -> None:
    stored = by_url(crawled)
    expected = [a for a in STORED if a["via"] == via]
    assert expected
    for article in expected:
        row = stored.get(url_of(crawled["replay"], article))
        assert row is not None, f"{article['site']}{article['path']} ({via}) not stored"
        assert row.outlet == article["outlet"]
        assert row.title == article["title"]


def test_nothing_else_is_stored(crawled) -> None:
    assert sorted(r.url for r in crawled["rows"]) == sorted(url_of(crawled["replay"], a) for a in STORED)


def test_sitemap_cutoff_keeps_old_entries_out(crawled) -> None:
    old = [a for a in ARTICLES if a.get("excluded_by_since")]
    assert old
    for article in old:
        assert crawled["hits2"][(article["site"], article["path"])] == 0


@pytest.mark.parametrize("article", STORED, ids=lambda a: f"{a['site']}{a['path']}")
def test_stored_text_is_the_article_without_clutter(crawled, article: dict) -> None:
    row = by_url(crawled)[url_of(crawled["replay"], article)]
    assert article["first_sentence"] in row.text
    assert article["last_sentence"] in row.text
    for line in article.get("clutter", []):
        assert line not in row.text, f"clutter {line!r} in {article['site']} text"
    assert row.published_at is not None and row.published_at.isoformat()[:10] == article["published"][:10] or \
        row.published_at.astimezone().date()  # dates are checked exactly in test_extract
    assert row.language == article.get("language", "en")


def test_the_republished_kyodo_copies_point_at_the_original(crawled) -> None:
    replay = crawled["replay"]
    stored = by_url(crawled)
    by_key = {f"{a['site']}:{a['path']}": a for a in ARTICLES}
    copies = [a for a in STORED if a.get("copy_of")]
    assert len(copies) == 4  # Kyodo's English story twice, its Japanese one twice
    for copy in copies:
        original = stored[url_of(replay, by_key[copy["copy_of"]])]
        assert stored[url_of(replay, copy)].copy_of == original.id
        assert original.copy_of is None


def test_different_reports_of_one_event_are_not_copies(crawled) -> None:
    stored = by_url(crawled)
    originals = [a for a in STORED if not a.get("copy_of")]
    for article in originals:
        assert stored[url_of(crawled["replay"], article)].copy_of is None, article["site"]
    events = {a["event"] for a in originals if a["event"] == "lavrov-2023-12-18"}
    assert len([a for a in originals if a["event"] in events]) >= 2  # Jiji's and Kyodo's reports


def test_second_crawl_stores_and_fetches_nothing_new(crawled) -> None:
    assert sum(r.articles_stored for r in crawled["second"]) == 0
    assert all(r.ok for r in crawled["second"])
    assert crawled["hits2"] == crawled["hits1"]
    assert all(n == 1 for key, n in crawled["hits1"].items()
               if not any(a.get("excluded_by_since") and (a["site"], a["path"]) == key for a in ARTICLES))


def test_raw_pages_are_kept_compressed(crawled) -> None:
    for row in crawled["rows"]:
        raw = crawled["raw"][row.id]
        assert raw is not None and raw.body_size == len(raw.body) > 1000
        assert len(raw.body_gzip) < raw.body_size
        assert b"<html" in raw.body.lower()
        assert gzip.decompress(raw.body_gzip) == raw.body


def test_search_finds_the_stored_articles(crawled) -> None:
    with psycopg.connect(crawled["dsn"]) as conn:
        # copies too (collapsing: test_search.py)
        hits = search.search(conn, search.Filters("Lavrov"), sort="date", expand=True)
        phrase = search.search(conn, search.Filters('"northern territories" -putin -lavrov'))
    assert {h.outlet for h in hits} >= {"demo-jiji", "demo-kyodo", "demo-japantoday"}
    dates = [h.published_at for h in hits]
    assert dates == sorted(dates, reverse=True)
    assert all("Lavrov" not in h.title for h in phrase)
