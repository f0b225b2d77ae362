"""Issue 19, items 1-3: one outlet whose feed, sitemap, sitemap index and section page each hold
malformed links among good ones, whose feed lists pages PostgreSQL cannot store as extracted
(JSON-LD `\\u0000`, `\\ud800`) or cannot store at all (a canonical URL too long for its index),
and whose other feeds and sitemaps hide a billion laughs from a pattern. Crawled once through
the daemon's crawl cycle against a real PostgreSQL; every fault is skipped alone, named by one
log line, counted in the run and shown by `wirewatch status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from crawler.urls import canonical_url, is_http_url, same_site, trustworthy_canonical, url_key
from db.storable import storable
from tests.conftest import fresh_database
from tests.hostile_server import LAUGHS_DISGUISES, HostileServer, bad_links
from tests.test_hostile import crawl_logged

SOURCES = ["feed", "sitemap", "index", "child", "section"]  # each lists bad_links(source)
GOOD = {"feed": [51, 52, 53], "sitemap": [54, 55, 56], "child": [57, 58, 59], "section": [60, 61, 62]}
UNSTORABLE = {"/jsonld/nul/63": "\x00", "/jsonld/surrogate/64": "\ufffd"}  # -> what the escape becomes
NOT_STORABLE = "/long-canonical/65"


def outlet_toml(base: str) -> str:
    feeds = [f"{base}/feed.xml", f"{base}/bad-links/feed.xml", *(f"{base}/feeds/{n}" for n in LAUGHS_DISGUISES)]
    sitemaps = [f"{base}/bad-links/sitemap.xml", f"{base}/bad-links/index.xml",
                *(f"{base}/sitemaps/{n}" for n in LAUGHS_DISGUISES)]
    quoted = lambda urls: "[" + ", ".join(f'"{u}"' for u in urls) + "]"  # noqa: E731
    return (f'[[outlet]]\nname = "blinded"\ntitle = "Blinded"\nhomepage = "{base}/"\nlanguage = "en"\n'
            f'interval = "1h"\nfeeds = {quoted(feeds)}\nsitemaps = {quoted(sitemaps)}\nsitemap_since = "2000-01-01"\n'
            f'[[outlet.sections]]\nurl = "{base}/bad-links/section.html"\nlink_pattern = "/(good/\\\\d+|section)"\n')


@pytest.fixture(scope="module")
def crawled(template_db: str, tmp_path_factory):
    with HostileServer() as server:
        server.feed_links = [*UNSTORABLE, NOT_STORABLE, "/good/66"]
        with fresh_database(template_db) as dsn:
            home = tmp_path_factory.mktemp("blinded")
            # Loopback IPv4 only, as in production nothing: http://[::1]/a/9 is then refused as unsafe.
            results, log = crawl_logged(dsn, outlet_toml(server.base), home, download_timeout=5.0,
                                        allowed_networks=("127.0.0.0/8",), retry_backoff=0.2)
            with psycopg.connect(dsn) as conn:
                stored = {url: (title, authors, tags) for url, title, authors, tags in
                          conn.execute("SELECT url, title, authors, tags FROM articles")}
                run = conn.execute("SELECT status, links_skipped, pages_not_stored, errors FROM crawl_runs").fetchone()
            env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
            env.update({"WIREWATCH_HOME": str(home), "WIREWATCH_DATABASE_URL": dsn})
            status = subprocess.run([sys.executable, "-m", "scheduler.cli", "status", "--format", "json"], env=env,
                                    capture_output=True, text=True, timeout=180)
            yield {"results": results, "log": log, "stored": stored, "run": run, "status": status,
                   "base": server.base, "requests": list(server.requests)}


def lines_with(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if text in line]


@pytest.mark.parametrize("source", list(GOOD))
def test_a_malformed_link_does_not_blind_its_source(crawled, source: str) -> None:
    for n in GOOD[source]:  # listed before and after the bad links
        assert f"{crawled['base']}/good/{n}" in crawled["stored"], (source, n)


@pytest.mark.parametrize("link", [link for source in SOURCES for link in bad_links(source)])
def test_a_malformed_link_is_skipped_with_one_line_naming_outlet_and_url(crawled, link: str) -> None:
    [line] = lines_with(crawled["log"], link)
    assert "blinded link" in line and "skipped" in line, line


def test_the_run_counts_the_links_skipped_and_status_shows_them(crawled) -> None:
    assert "Traceback" not in crawled["log"] and "Spider error" not in crawled["log"], crawled["log"]
    status, links_skipped, not_stored, errors = crawled["run"]
    assert links_skipped == 3 * len(SOURCES)
    assert errors >= links_skipped + not_stored
    [result] = crawled["results"]
    assert result.links_skipped == links_skipped and result.errors == errors
    assert crawled["status"].returncode == 0, crawled["status"].stderr
    [row] = [r for r in json.loads(crawled["status"].stdout) if r["outlet"] == "blinded"]
    assert row["links_skipped"] == links_skipped and row["not_stored"] == 1


def test_a_well_formed_ipv6_link_is_fetched_or_refused_not_skipped(crawled) -> None:
    [line] = lines_with(crawled["log"], "http://[::1]/a/9")
    assert "unsafe destination" in line and "blinded" in line, line


@pytest.mark.parametrize("path", list(UNSTORABLE))
def test_text_postgresql_cannot_hold_is_made_storable(crawled, path: str) -> None:
    title, authors, tags = crawled["stored"][crawled["base"] + path]
    mark = UNSTORABLE[path]
    assert title.startswith("Lighthouse") and "\x00" not in title
    assert title == f"Lighthouse{mark} keeper report {path.rsplit('/', 1)[1]}".replace("\x00", "")
    assert authors == [f"Ann{mark} Lee".replace("\x00", "")]
    assert all("\x00" not in tag and "\ud800" not in tag for tag in tags)


def test_a_page_that_cannot_be_stored_is_counted_and_the_crawl_goes_on(crawled) -> None:
    url = crawled["base"] + NOT_STORABLE
    [line] = lines_with(crawled["log"], url)
    assert "blinded" in line and "not stored" in line and "index row" in line, line
    assert crawled["run"][2] == 1  # pages_not_stored
    assert url not in crawled["stored"] and crawled["base"] + "/good/66" in crawled["stored"]
    # Refused once, not retried as if the database were down.
    assert sum(1 for path, _ in crawled["requests"] if path == NOT_STORABLE) == 1
    assert not lines_with(crawled["log"], "retrying in")


@pytest.mark.parametrize("name", list(LAUGHS_DISGUISES))
def test_a_disguised_entity_declaration_is_refused_by_the_parser(crawled, name: str) -> None:
    [failures] = lines_with(crawled["log"], "crawl of blinded: some sources failed")
    feed, sitemap = f"{crawled['base']}/feeds/{name}", f"{crawled['base']}/sitemaps/{name}"
    assert feed in failures and sitemap in failures
    assert "declares XML entities (refused: entity expansion)" in failures.split(feed)[0].rsplit(";", 1)[-1]
    assert all(path not in crawled["stored"] for path in (feed, sitemap))
    assert not any("lol" in title for title, _, _ in crawled["stored"].values())


# -- the same, one function at a time ---------------------------------------------------------

@pytest.mark.parametrize("link", ["http://example.com:99999/x", "http://[object Object]/a/1", "http://[::1/a/9",
                                  "http://exa mple.com:8o/x"])
def test_canonical_url_raises_value_error_for_a_malformed_link(link: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(link)
    assert not is_http_url(link)
    assert not trustworthy_canonical(link, "http://example.com/a")
    assert same_site(link, "http://example.com/") == (link == "http://example.com:99999/x")  # a host, whatever its port


def test_an_ipv6_literal_keeps_its_brackets() -> None:
    assert canonical_url("http://[::1]/a/9") == "http://[::1]/a/9"
    assert canonical_url("HTTP://[2001:DB8::1]:80/a?utm_source=x") == "http://[2001:db8::1]/a"
    assert url_key("https://[::1]:8443/a/") == "//[::1]:8443/a"


def test_storable_removes_nul_and_replaces_lone_surrogates_everywhere() -> None:
    assert storable("a\x00b\ud800c") == "ab\ufffdc"
    assert storable({"k\x00": ["x\udfff", ("y\x00",)], "n": 3, "t": None}) == {"k": ["x\ufffd", ("y",)], "n": 3,
                                                                                "t": None}
    text = "北方領土" * 1000
    assert storable(text) is text  # nothing to do: nothing copied
