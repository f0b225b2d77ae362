"""The demo's Japanese sites: Kyodo's Japanese report and two regional papers' republications
of it (one site in Shift_JIS), crawled into the demo archive: metadata, copies linked to their
original and not to the English reports, the legacy encoding decoded, and `wirewatch search
北方領土` over the result."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from db import articles as article_rows
from db import pages
from demo.server import SITES_DIR
from tests.conftest import manifest_articles
from tests.test_cli import wirewatch

ARTICLES = {f"{a['site']}:{a['path']}": a for a in manifest_articles()}
JAPANESE = {k: a for k, a in ARTICLES.items() if a.get("language") == "ja"}
KYODO_JA = "kyodo-ja:/news/2023/12/a7c20e4b91d3.html"
SHIRETOKO = "shiretoko:/news/article/20231218-04512.html"
SAIKAI = "saikai:/news/world/20231218-1093847.html"


@pytest.fixture(scope="module")
def rows(demo_archive, replay) -> dict[str, article_rows.ArticleRow]:
    """Every demo article in the crawled archive, by manifest key."""
    outlets = sorted({a["outlet"] for a in ARTICLES.values()})
    with psycopg.connect(demo_archive) as conn:
        by_url = {r.url: r for r in article_rows.articles_of_outlets(conn, outlets)}
    return {key: by_url[replay.url(a["site"], a["path"])] for key, a in ARTICLES.items()
            if not a.get("excluded_by_since")}


def test_the_manifest_has_kyodo_japanese_and_two_regional_copies() -> None:
    assert set(JAPANESE) == {KYODO_JA, SHIRETOKO, SAIKAI}
    assert JAPANESE[SHIRETOKO]["copy_of"] == JAPANESE[SAIKAI]["copy_of"] == KYODO_JA
    assert "copy_of" not in JAPANESE[KYODO_JA]
    assert {a["event"] for a in JAPANESE.values()} == {ARTICLES[
        "kyodo:/news/2023/12/6a1f3c9e2b47-lavrov-says-russia-has-no-territorial-disputes-with-japan.html"]["event"]}


@pytest.mark.parametrize("key", sorted(JAPANESE))
def test_japanese_articles_are_stored_with_their_metadata(rows, key: str) -> None:
    article, row = JAPANESE[key], rows[key]
    assert row.title == article["title"]
    assert row.published_at == datetime.fromisoformat(article["published"])
    assert row.language == "ja" and row.authors == article["authors"]
    assert row.wire_service == "kyodo"  # the saikai copy names no wire of its own: its original's
    assert row.text.startswith(article["first_sentence"]) and row.text.endswith(article["last_sentence"])
    assert row.text.count("\n\n") + 1 == article["paragraphs"]
    assert "\ufffd" not in row.text and "\ufffd" not in row.title
    for line in article["clutter"]:
        assert line not in row.text, line


def test_the_regional_papers_are_copies_of_kyodo_and_nothing_crosses_languages(rows) -> None:
    kyodo = rows[KYODO_JA]
    assert kyodo.copy_of is None
    assert rows[SHIRETOKO].copy_of == rows[SAIKAI].copy_of == kyodo.id
    assert rows[SHIRETOKO].similarity >= 95 and rows[SAIKAI].similarity >= 95
    for key, row in rows.items():
        original = rows[ARTICLES[key]["copy_of"]] if row.copy_of else row
        assert row.language == original.language, key  # no English report is a copy of a Japanese one, or back
    english = {r.story_id for k, r in rows.items() if k not in JAPANESE}
    assert kyodo.story_id is None or kyodo.story_id not in english  # other words: no story across languages


def test_the_shift_jis_page_is_served_as_such_and_decoded(rows, replay, demo_archive) -> None:
    article = JAPANESE[SHIRETOKO]
    assert article["charset"] == "shift_jis"
    with urllib.request.urlopen(replay.url(article["site"], article["path"]), timeout=10) as response:
        served, ctype = response.read(), response.headers["Content-Type"]
    assert ctype == "text/html"  # no charset: only <meta http-equiv> names it
    with pytest.raises(UnicodeDecodeError):
        served.decode("utf-8")
    on_disk = (SITES_DIR / "shiretoko" / article["path"].lstrip("/")).read_bytes()
    assert served == on_disk.replace(b"{{BASE}}", replay.bases["shiretoko"].encode())  # only the placeholder changes
    page = served.decode("shift_jis")
    assert article["title"] in page and article["first_sentence"] in "".join(page.split())
    with psycopg.connect(demo_archive) as conn:
        raw = pages.get_raw_page(conn, rows[SHIRETOKO].id)
    assert raw is not None and raw.body == served  # kept as fetched, for re-extraction


@pytest.fixture
def env(demo_archive, home: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")} | {
        "WIREWATCH_HOME": str(home), "WIREWATCH_DATABASE_URL": demo_archive, "COLUMNS": "120"}


def test_search_hokuhou_ryoudo_returns_kyodo_with_its_copies_folded(env, rows) -> None:
    result = wirewatch("search", "北方領土", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert [h["id"] for h in hits] == [rows[KYODO_JA].id]
    [hit] = hits
    assert hit["outlet"] == "demo-kyodo-ja" and hit["language"] == "ja" and hit["highlights"] == ["北方領土"]
    assert {c["id"] for c in hit["also_carried_by"]} == {rows[SHIRETOKO].id, rows[SAIKAI].id}
    expanded = json.loads(wirewatch("search", "北方領土", "--with-copies", "--format", "json", env=env).stdout)
    assert {h["id"] for h in expanded} == {rows[k].id for k in JAPANESE}
    assert json.loads(wirewatch("search", "北方領土", "--lang", "en", "--format", "json", env=env).stdout) == []
    # The half-width query finds the full-width original (NFKC), and the English search no Japanese page.
    halfwidth = json.loads(wirewatch("search", "第1チャンネル", "--format", "json", env=env).stdout)
    assert [h["id"] for h in halfwidth] == [rows[KYODO_JA].id]
    lavrov = json.loads(wirewatch("search", "Lavrov", "--with-copies", "--format", "json", env=env).stdout)
    assert lavrov and all(h["language"] == "en" for h in lavrov)
    table = wirewatch("search", "北方領土", env=env)
    assert "demo-kyodo-ja" in table.stdout and "also carried by" in table.stdout
