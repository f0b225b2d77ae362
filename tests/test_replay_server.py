"""The demo replay server (demo.server) and the ground truth it ships (demo/sites/manifest.toml)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import etree
from lxml import html as lxml_html

from demo.outlets import outlets_toml
from demo.server import SITES_DIR, ReplayServer

REPO = Path(__file__).resolve().parent.parent
MANIFEST: dict[str, Any] = tomllib.loads((SITES_DIR / "manifest.toml").read_text(encoding="utf-8"))
ARTICLES: list[dict[str, Any]] = MANIFEST["article"]
PAGES = [(a["site"], a["path"]) for a in ARTICLES] + [(n["site"], n["path"]) for n in MANIFEST["non_article"]]
PAGE_ENTRIES = {(e["site"], e["path"]): e for e in [*ARTICLES, *MANIFEST["non_article"]]}
SITES = ["jiji", "kyodo", "japantoday", "japantimes", "diplomat", "asahi", "kyodo-ja", "shiretoko", "saikai"]
SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "news": "http://www.google.com/schemas/sitemap-news/0.9"}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def page_text(body: bytes) -> str:
    return " ".join(lxml_html.fromstring(body).text_content().split())


def test_one_loopback_port_per_site(server: ReplayServer) -> None:
    assert set(server.bases) == set(SITES)
    ports = set()
    for base in server.bases.values():
        assert base.startswith("http://127.0.0.1:")
        ports.add(int(base.rsplit(":", 1)[1]))
    assert len(ports) == len(server.bases)


@pytest.mark.parametrize(("site", "path"), PAGES)
def test_manifest_pages_are_served_as_html(server: ReplayServer, site: str, path: str) -> None:
    entry = PAGE_ENTRIES[(site, path)]
    status, headers, body = fetch(server.url(site, path))
    assert status == 200
    assert b"{{" not in body
    doc = lxml_html.fromstring(body)
    assert doc.get("lang") == entry.get("language", "en")
    if "charset" in entry:  # legacy encoding: the header names none, only the page's <meta> does
        assert headers["Content-Type"] == "text/html"
        body.decode(entry["charset"])  # the bytes really are that encoding
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        declared = doc.xpath("//meta[@http-equiv='Content-Type']/@content | //meta/@charset")
        assert [d for d in declared if entry["charset"].replace("_", "") in d.lower().replace("_", "")]
    else:
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert doc.xpath("//meta[@charset='utf-8']")
    canonical = doc.xpath("//link[@rel='canonical']/@href")
    assert canonical and canonical[0].startswith(server.bases[site])


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: f"{a['site']}:{a['path']}")
def test_article_metadata_and_truth(server: ReplayServer, article: dict[str, Any]) -> None:
    status, _, body = fetch(server.url(article["site"], article["path"]))
    assert status == 200
    doc = lxml_html.fromstring(body)
    url = server.url(article["site"], article["path"])
    assert doc.xpath("//link[@rel='canonical']/@href") == [url]
    og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
    assert og["og:type"] == "article" and og["og:url"] == url and og["og:site_name"]
    assert og["og:title"].startswith(article["title"])
    assert og["article:published_time"] == article["published"]

    ld = [json.loads(s) for s in doc.xpath("//script[@type='application/ld+json']/text()")]
    flat = [x for item in ld for x in (item if isinstance(item, list) else item.get("@graph", [item]))]
    news = [x for x in flat if x.get("@type") == "NewsArticle"]
    assert len(news) == 1
    na = news[0]
    assert na["headline"] == article["title"]
    assert na["datePublished"] == article["published"] and na["dateModified"]
    assert [a["name"] for a in na["author"]] == article["authors"]
    assert na["publisher"]["name"] and na["inLanguage"].startswith(article.get("language", "en")) and na["url"] == url

    paragraphs = [" ".join(p.text_content().split()) for p in doc.xpath("//p")]
    first = paragraphs.index(article["first_sentence"])
    last = paragraphs.index(article["last_sentence"])
    assert last > first
    # Between the first and last body paragraphs sit inline clutter paragraphs ("Related coverage:",
    # subscription boxes); the rest must be exactly the article's paragraphs, free of any clutter line.
    clutter = article["clutter"]
    real = [p for p in paragraphs[first : last + 1] if not any(c in p for c in clutter)]
    assert len(real) == article["paragraphs"]
    assert real[0] == article["first_sentence"] and real[-1] == article["last_sentence"]
    text = page_text(body)
    assert article["title"] in text
    for line in clutter:
        assert line in text, line


def test_copies_point_at_served_originals() -> None:
    by_key = {f"{a['site']}:{a['path']}": a for a in ARTICLES}
    copies = [a for a in ARTICLES if "copy_of" in a]
    assert len(copies) == 4
    for copy in copies:
        original = by_key[copy["copy_of"]]
        assert original["event"] == copy["event"]
        assert original["paragraphs"] == copy["paragraphs"] + copy.get("dropped_paragraphs", 0)
        assert original.get("language", "en") == copy.get("language", "en")
        assert original["published"] < copy["published"]
    assert sum(a["excluded_by_since"] for a in ARTICLES) == 1


def test_conditional_get_and_head(server: ReplayServer) -> None:
    url = server.url("jiji", "/news/2023121800719.html")
    status, headers, body = fetch(url)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert fetch(url, headers={"If-None-Match": headers["ETag"]})[0] == 304
    assert fetch(url, headers={"If-None-Match": '"stale"'})[0] == 200
    assert fetch(url, headers={"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    status, head_headers, head_body = fetch(url, method="HEAD")
    assert status == 200 and head_body == b""
    assert int(head_headers["Content-Length"]) == len(body)


def test_not_found_and_no_escape(server: ReplayServer) -> None:
    for path in ("/no-such-page.html", "/news/", "/../manifest.toml", "/%2e%2e/manifest.toml"):
        status, headers, body = fetch(server.url("jiji", path))
        assert status == 404, path
        assert headers["Content-Type"].startswith("text/html")
    assert fetch(server.url("kyodo", "/nope"), method="HEAD")[0] == 404


def test_hits_are_counted(server: ReplayServer) -> None:
    before = server.hit_count("asahi", "/robots.txt")
    status, headers, body = fetch(server.url("asahi", "/robots.txt?x=1"))
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert b"Disallow: /admin/" in body
    assert server.hit_count("asahi", "/robots.txt") == before + 1
    assert server.hits[("asahi", "/robots.txt")] == before + 1


@pytest.mark.parametrize("site", SITES)
def test_robots_allow_articles(server: ReplayServer, site: str) -> None:
    from urllib.robotparser import RobotFileParser

    _, _, body = fetch(server.url(site, "/robots.txt"))
    assert b"{{" not in body
    rp = RobotFileParser()
    rp.parse(body.decode().splitlines())
    for a in ARTICLES:
        if a["site"] == site:
            assert rp.can_fetch("wirewatch", server.url(site, a["path"]))
    assert not rp.can_fetch("wirewatch", server.url(site, "/admin/"))


def _article_urls(server: ReplayServer, site: str, *, include_excluded: bool = True) -> set[str]:
    return {
        server.url(a["site"], a["path"])
        for a in ARTICLES
        if a["site"] == site and (include_excluded or not a["excluded_by_since"])
    }


@pytest.mark.parametrize(("site", "path", "ctype"), [("jiji", "/rss/news.xml", "application/rss+xml"),
                                                    ("japantimes", "/feed/atom.xml", "application/atom+xml"),
                                                    ("shiretoko", "/rss/news.rdf", "application/rss+xml")])
def test_feeds(server: ReplayServer, site: str, path: str, ctype: str) -> None:
    status, headers, body = fetch(server.url(site, path))
    assert status == 200 and headers["Content-Type"] == ctype and b"{{" not in body
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert {e.link for e in feed.entries} == _article_urls(server, site)
    for e in feed.entries:  # RSS 1.0's dc:date is feedparser's "updated"
        assert e.title and (e.get("published_parsed") or e.get("updated_parsed")) and e.get("id")


def test_sitemaps(server: ReplayServer) -> None:
    status, headers, body = fetch(server.url("kyodo", "/sitemap.xml"))
    assert status == 200 and headers["Content-Type"] == "application/xml"
    index = etree.fromstring(body)
    assert index.tag == f"{{{SITEMAP_NS['sm']}}}sitemapindex"
    assert index.xpath("//sm:loc/text()", namespaces=SITEMAP_NS) == [server.url("kyodo", "/sitemap-news.xml")]
    for site in ("kyodo", "diplomat", "kyodo-ja"):
        status, headers, body = fetch(server.url(site, "/sitemap-news.xml"))
        assert status == 200 and headers["Content-Type"] == "application/xml" and b"{{" not in body
        urlset = etree.fromstring(body)
        entries = urlset.xpath("/sm:urlset/sm:url", namespaces=SITEMAP_NS)
        assert {e.findtext("sm:loc", namespaces=SITEMAP_NS) for e in entries} == _article_urls(server, site)
        by_url = {server.url(a["site"], a["path"]): a for a in ARTICLES}
        for e in entries:
            a = by_url[e.findtext("sm:loc", namespaces=SITEMAP_NS)]
            assert e.findtext("news:news/news:publication_date", namespaces=SITEMAP_NS) == a["published"]
            assert e.findtext("news:news/news:title", namespaces=SITEMAP_NS) == a["title"]
            assert e.findtext("sm:lastmod", namespaces=SITEMAP_NS)


def test_section_pages_link_articles_and_traps(server: ReplayServer) -> None:
    outlets = tomllib.loads(outlets_toml(server.bases))["outlet"]
    sections = [(o["name"], s) for o in outlets for s in o.get("sections", [])]
    assert {name for name, _ in sections} == {"demo-japantoday", "demo-asahi", "demo-saikai"}
    for name, section in sections:
        site = name.removeprefix("demo-")
        status, _, body = fetch(section["url"])
        assert status == 200
        doc = lxml_html.fromstring(body)
        doc.make_links_absolute(section["url"])
        links = {href for href in doc.xpath("//a/@href")}
        matching = {u for u in links if re.search(section["link_pattern"], u)}
        assert matching == _article_urls(server, site)
        assert len(links - matching) >= 5  # nav, categories, login, pagination, other sites


def test_outlets_toml(server: ReplayServer) -> None:
    outlets = {o["name"]: o for o in tomllib.loads(outlets_toml(server.bases))["outlet"]}
    assert set(outlets) == {f"demo-{s}" for s in server.bases}
    assert {n for n, o in outlets.items() if o["wire"]} == {"demo-jiji", "demo-kyodo", "demo-kyodo-ja"}
    assert outlets["demo-kyodo"]["sitemap_since"] == outlets["demo-kyodo-ja"]["sitemap_since"] == "2023-12-01"
    assert outlets["demo-diplomat"]["sitemap_since"] == "2019-01-01"
    for name, o in outlets.items():
        assert o["homepage"] == server.bases[name.removeprefix("demo-")] + "/"
        assert o["interval"] == "10m"
        assert {o["language"]} == {a.get("language", "en") for a in ARTICLES if a["outlet"] == name}
        for url in [*o.get("feeds", []), *o.get("sitemaps", []), *(s["url"] for s in o.get("sections", []))]:
            assert fetch(url)[0] == 200, url
    for a in ARTICLES:
        assert a["outlet"] in outlets


def test_standalone_process_exits_on_stdin_eof() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo.server"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        bases = json.loads(proc.stdout.readline())
        assert set(bases) >= set(SITES)
        status, _, body = fetch(bases["kyodo"] + "/sitemap.xml")
        assert status == 200 and bases["kyodo"].encode() in body
        proc.stdin.close()
        started = time.monotonic()
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
        assert proc.stderr is not None and proc.stderr.read() == ""  # quiet: no per-request log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_standalone_process_exits_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo.server"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
