"""URL identity: canonical addresses, identity keys, trusted canonicals, and one row per page."""

from __future__ import annotations

import pytest

from crawler.ingest import Duplicate, Stored
from crawler.urls import canonical_url, trustworthy_canonical, url_key
from db import articles
from tests.archive_pages import store
from tests.test_dedupe import KYODO


@pytest.mark.parametrize("url, canonical", [
    ("https://Example.COM:443/news/a?utm_source=x&utm_medium=rss#comments", "https://example.com/news/a"),
    ("https://example.com/news/a?fbclid=IwAR0abc&id=3&gclid=1", "https://example.com/news/a?id=3"),
    ("https://example.com/news/a?b=2&a=1", "https://example.com/news/a?a=1&b=2"),
    ("http://example.com:80/news/a", "http://example.com/news/a"),
    ("https://example.com/news/a/amp", "https://example.com/news/a"),
    ("https://example.com/news/a/amp/", "https://example.com/news/a"),
    ("https://example.com/amp/news/a", "https://example.com/news/a"),
    ("https://example.com/news/a.amp", "https://example.com/news/a"),
    ("https://example.com/news/a.amp.html", "https://example.com/news/a.html"),
    ("https://example.com/news/a?outputType=amp", "https://example.com/news/a"),
    ("https://example.com/news/a?amp=1&page=2", "https://example.com/news/a?page=2"),
    ("https://example.com/news/a?output=json", "https://example.com/news/a?output=json"),
    ("https://example-com.cdn.ampproject.org/c/s/example.com/news/a", "https://example.com/news/a"),
])
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize("variant", [
    "https://www.example.com/news/a",
    "http://example.com/news/a",
    "https://m.example.com/news/a/",
    "https://mobile.example.com/news/a?utm_campaign=share",
    "https://amp.example.com/news/a",
    "https://example.com/news/a/amp#top",
    "https://example-com.cdn.ampproject.org/c/s/example.com/news/a",
])
def test_variants_of_one_page_share_an_identity_key(variant: str) -> None:
    assert url_key(variant) == url_key("https://example.com/news/a") == "//example.com/news/a"


def test_different_pages_keep_different_keys() -> None:
    assert url_key("https://example.com/news/a") != url_key("https://example.com/news/b")
    assert url_key("https://example.com/news/a?id=1") != url_key("https://example.com/news/a?id=2")
    assert url_key("https://m.example.com/a") != url_key("https://m.other.com/a")
    assert url_key("https://m.com/a") == "//m.com/a"  # a bare two-label host is not a mobile prefix


@pytest.mark.parametrize("declared, page, trusted", [
    ("https://example.com/news/a", "https://example.com/news/a?ref=rss", True),
    ("https://www.example.com/news/a", "https://m.example.com/news/a", True),
    ("https://kyodonews.net/news/a", "https://japantoday.com/news/a", False),  # the syndication partner's
    ("https://example.com/", "https://example.com/news/a", False),  # every page claiming the home page
    ("https://example.com/", "https://example.com/", True),
    ("javascript:void(0)", "https://example.com/news/a", False),
    (None, "https://example.com/news/a", False),
])
def test_trustworthy_canonical(declared, page: str, trusted: bool) -> None:
    assert trustworthy_canonical(declared, page) is trusted


def test_one_page_reached_by_several_links_is_one_row(conn) -> None:
    first = store(conn, "example", "https://www.example.com/news/a", "Lavrov says", KYODO)
    assert isinstance(first, Stored)
    for variant in ("http://example.com/news/a?utm_source=twitter", "https://m.example.com/news/a/",
                    "https://www.example.com/news/a/amp"):
        again = store(conn, "example", variant, "Lavrov says", KYODO)
        assert isinstance(again, Duplicate) and again.article_id == first.article_id, variant
    assert len(articles.articles_after(conn, 0, 10)) == 1


def test_a_known_page_is_not_fetched_again(conn) -> None:
    """The crawler claims discovered links by key (crawler.run); what it asks the archive."""
    store(conn, "example", "https://www.example.com/news/a", "Lavrov says", KYODO)
    variants = ["https://m.example.com/news/a", "http://example.com/news/a/amp"]
    assert articles.known_urls(conn, [url_key(v) for v in variants]) == {"//example.com/news/a"}
    assert articles.known_urls(conn, [url_key("https://example.com/news/b")]) == set()
