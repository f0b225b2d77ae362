"""Stories and wire attribution: the replay's two agencies on one event grouped as a story (not
as copies), the other seeds left alone; credit lines recognised; search folds copies and
lists stories."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import psycopg
import pytest

from crawler import minhash
from crawler.wires import detect_wire, is_wire_home
from db import articles as article_rows
from scheduler.dedupe import rebuild_links
from scheduler.search import search_rows
from tests.conftest import crawl_into, demo_outlets, fresh_database, manifest_articles

ARTICLES = {f"{a['site']}:{a['path']}": a for a in manifest_articles() if not a.get("excluded_by_since")}


@pytest.mark.parametrize("text, authors, wire", [
    ("TOKYO (Kyodo) -- Russia's foreign minister said...\n\nMore.", (), "kyodo"),
    ("Tokyo (Jiji Press)—Russian Foreign Minister Sergei Lavrov has claimed...", (), "jiji"),
    ("WASHINGTON, Dec 18 (Reuters) - The U.S. said...", (), "reuters"),
    ("PARIS (AFP) - France said...", (), "afp"),
    ("SEOUL (AP) — North Korea fired...", (), "ap"),
    ("Body of the story.\n\nLast paragraph.\n\n© KYODO", (), "kyodo"),
    ("Body of the story.\n\n(Jiji Press)", (), "jiji"),
    ("Body of the story.\n\nREUTERS", (), "reuters"),
    ("Body of the story.\n\nAFP", (), "afp"),
    ("Body.\n\n(Reporting by Jane Doe; Editing by John Roe)", (), "reuters"),
    ("Body.\n\nBy Vladimir Isachenkov of the Associated Press with additional reporting.", (), "ap"),
    ("ロシアのラブロフ外相は１８日、領土問題は存在しないと述べた。\n（共同）", (), "kyodo"),
    ("【モスクワ時事】ロシアのラブロフ外相は１８日、領土問題は存在しないと述べた。", (), "jiji"),
    ("Body of the story without any credit.", ("Kyodo",), "kyodo"),
    ("Body of the story without any credit.", ("Jiji Press",), "jiji"),
    ("Alexander Zemlianichenko/Pool via REUTERS\n\nBody of a Jiji story written by Jiji.", (), None),
    ("A story about Reuters and AFP journalists covering the summit.\n\nIt ends here.", (), None),
    ("Body of the story.", ("Vladimir Isachenkov",), None),
    # a photo credit is no wire copy (issue 20: The Diplomat's 2019 article is AP's by its byline)
    ("Body of the story.\n\nCredit: AP Photo/Alexander Zemlianichenko", (), None),
    ("Body of the story.\n\nAP Photo/Eugene Hoshiko", (), None),
])
def test_detect_wire(text: str, authors: tuple[str, ...], wire: str | None) -> None:
    assert detect_wire(text, authors) == wire


def test_wire_home_sites() -> None:
    assert is_wire_home("kyodo", "https://english.kyodonews.net/news/2023/12/a.html")
    assert not is_wire_home("kyodo", "https://japantoday.com/category/politics/a")
    assert not is_wire_home(None, "https://english.kyodonews.net/news/a")


JA = ("ロシアのラブロフ外相は１８日、国営テレビのインタビューで、日本を含む他国との領土問題は全て「終わった」と述べた。"
      "北方領土問題を巡る交渉に応じない姿勢を改めて示した。ロシア外務省がインタビューの動画をサイトで公開した。")


def test_japanese_is_shingled_by_characters() -> None:
    """No spaces: a whitespace tokenizer would see one 'word'; characters give the LSH its overlap."""
    assert len(minhash.shingle_hashes(JA)) > 50
    edited = JA.replace("１８日", "１８日夜").replace("「終わった」", "『終わった』")
    a, b = minhash.signature(JA), minhash.signature(edited)
    assert minhash.estimated_jaccard(a, b) > 0.7
    assert set(minhash.band_keys(a)) & set(minhash.band_keys(b))
    other = "東京株式市場で日経平均株価は続落した。円高が進み、輸出関連株に売りが出た。" * 3
    assert minhash.estimated_jaccard(a, minhash.signature(other)) < 0.1


def test_band_keys_are_stable_and_fit_bigint() -> None:
    keys = minhash.text_band_keys(JA)
    assert keys == minhash.text_band_keys(JA) and len(keys) == minhash.BANDS
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert minhash.signature("Too short to index.") is None and minhash.band_keys(None) == []
    assert minhash.signature(JA).dtype == np.uint64


@pytest.fixture(scope="module")
def crawled(replay, template_db, tmp_path_factory):
    with fresh_database(template_db) as dsn:
        crawl_into(dsn, demo_outlets(replay), tmp_path_factory.mktemp("home"))
        with psycopg.connect(dsn) as conn:
            rows = {r.url: r for r in article_rows.articles_of_outlets(conn, [o.name for o in demo_outlets(replay)])}
        yield {"dsn": dsn, "replay": replay, "rows": rows}


def row_of(crawled, key: str) -> article_rows.ArticleRow:
    article = ARTICLES[key]
    return crawled["rows"][crawled["replay"].url(article["site"], article["path"])]


JIJI = "jiji:/news/2023121800719.html"
KYODO = "kyodo:/news/2023/12/6a1f3c9e2b47-lavrov-says-russia-has-no-territorial-disputes-with-japan.html"


def test_jiji_and_kyodo_on_one_event_are_one_story_not_copies(crawled) -> None:
    jiji, kyodo = row_of(crawled, JIJI), row_of(crawled, KYODO)
    assert jiji.copy_of is None and kyodo.copy_of is None
    assert jiji.story_id is not None and jiji.story_id == kyodo.story_id


def test_copies_join_their_original_story(crawled) -> None:
    kyodo = row_of(crawled, KYODO)
    assert kyodo.story_id is not None
    for key, article in ARTICLES.items():
        if article.get("copy_of"):
            assert row_of(crawled, key).story_id == row_of(crawled, article["copy_of"]).story_id, key


def test_other_seeds_are_in_no_story(crawled) -> None:
    lavrov = row_of(crawled, KYODO).story_id
    for key, article in ARTICLES.items():
        if article["event"] != "lavrov-2023-12-18":
            row = row_of(crawled, key)
            assert row.story_id is None, (key, row.story_id, lavrov)


def test_every_seed_records_its_wire_service(crawled) -> None:
    expected = {"jiji": "jiji", "kyodo": "kyodo", "japantoday": "kyodo", "japantimes": "kyodo",
                "diplomat": "ap", "asahi": "reuters", "kyodo-ja": "kyodo", "shiretoko": "kyodo", "saikai": "kyodo"}
    for key, article in ARTICLES.items():
        assert row_of(crawled, key).wire_service == expected[article["site"]], key


def test_search_folds_copies_under_their_original(crawled) -> None:
    with psycopg.connect(crawled["dsn"]) as conn:
        folded, *_ = search_rows(conn, "Lavrov", outlet=None, language=None, since=None, until=None, limit=20)
        every, *_ = search_rows(conn, "Lavrov", outlet=None, language=None, since=None, until=None, limit=20,
                               with_copies=True)
        stories, *_ = search_rows(conn, "Lavrov", outlet=None, language=None, since=None, until=None, limit=20,
                                 stories=True)
    kyodo = row_of(crawled, KYODO)
    assert all(r["copy_of"] is None for r in folded)
    shown = next(r for r in folded if r["id"] == kyodo.id)
    assert {c["outlet"] for c in shown["also_carried_by"]} == {"demo-japantoday", "demo-japantimes"}
    assert all(c["similarity"] >= 95 for c in shown["also_carried_by"])
    assert shown["also"].startswith("also carried by ")
    assert len(every) == len(folded) + 2 and {r["outlet"] for r in every} >= {"demo-japantoday"}
    lavrov = next(s for s in stories if s["story"] == kyodo.story_id)
    assert lavrov["reports"] == 2 and lavrov["copies"] == 2
    assert set(lavrov["originals"]) == {kyodo.id, row_of(crawled, JIJI).id}


def test_rebuild_after_a_crawl_keeps_the_links(crawled) -> None:
    with psycopg.connect(crawled["dsn"]) as conn:
        summary = rebuild_links(conn, window=timedelta(days=3))
        after = {r.url: r for r in article_rows.articles_of_outlets(conn, list({r.outlet for r in
                                                                               crawled["rows"].values()}))}
    assert summary.copies == 4 and summary.stories == 1
    for url, before in crawled["rows"].items():
        assert (after[url].copy_of, after[url].wire_service) == (before.copy_of, before.wire_service), url
        assert (after[url].story_id is None) == (before.story_id is None), url
