"""Japanese search and watches over the bigram column (db/bigrams.py, migration 0008): substring
exactness, the split-term negative, mixed-language queries, exclusion, phrases, NFKC, snippets,
watches and alerts, and the query construction's injection-proofing."""

from __future__ import annotations

import psycopg
import pytest

from alerts.spec import build_watch
from alerts.store import add_watch
from db import articles, bigrams, outbox
from db import search as archive
from db import watches as watch_rows
from db.search import Filters

DOCS = {
    "territory": ("北方領土問題で協議", "政府は北方領土の返還を求めて、ロシアとの協議を続ける方針を示した。"),
    "split": ("北方の漁業と領土", "北方の海で漁業が続く一方、領土をめぐる議論は別の場で行われた。"),
    "hockey": ("北方領土でホッケー大会", "北方領土の元島民が参加するホッケー大会が根室市で開かれた。"),
    "fullwidth": ("２０２３年１２月の会見", "外相は１２月２６日、Ｇ７サミットでの合意を説明した（共同）。"),
    "kuril_ja": ("クリール諸島", "ロシア側は Kuril 諸島と呼ぶ島々について声明を出した。"),
    "english": ("Kuril talks", "Japan and Russia will resume talks on the disputed Kuril Islands."),
}


def store(conn: psycopg.Connection, key: str, title: str, text: str, language: str) -> int:
    conn.execute("INSERT INTO outlets (name, title, homepage) VALUES ('ja-test', 'JA', 'https://ja.test/') "
                 "ON CONFLICT DO NOTHING")
    new_id = articles.insert_article(conn, articles.NewArticle(
        url=f"https://ja.test/{key}", outlet="ja-test", title=title, text=text, authors=[], published_at=None,
        updated_at=None, language=language, description=None, text_hash=key, copy_of=None, similarity=None,
        crawl_run_id=None))
    outbox.article_stored(conn, new_id)
    return new_id


@pytest.fixture
def japanese(conn: psycopg.Connection) -> dict[str, int]:
    ids = {key: store(conn, key, title, text, "en" if key == "english" else "ja")
           for key, (title, text) in DOCS.items()}
    conn.commit()
    return ids


def found(conn: psycopg.Connection, query: str, **filters) -> set[str]:
    hits = archive.search(conn, Filters(query, **filters), limit=50)
    return {h.url.rsplit("/", 1)[1] for h in hits}


def test_a_japanese_term_matches_exactly_the_texts_containing_it(conn, japanese) -> None:
    assert found(conn, "北方領土") == {"territory", "hockey"}  # not "split": 北方 and 領土 apart
    assert found(conn, "北方 領土") == {"territory", "split", "hockey"}  # AND of two terms
    assert found(conn, "方領") == {"territory", "hockey"}  # any substring, not only dictionary words
    assert found(conn, "領土問題") == {"territory"}  # title matches too
    assert found(conn, "党") == set() and found(conn, "島") == {"kuril_ja", "hockey"}  # one character


def test_operators_and_languages_mix_in_one_query(conn, japanese) -> None:
    # as websearch_to_tsquery reads it (English too): "北方領土" OR (kuril AND NOT ホッケー)
    assert found(conn, '"北方領土" OR kuril -ホッケー') == {"territory", "hockey", "kuril_ja", "english"}
    assert found(conn, '"北方領土" OR kuril -ホッケー', language="ja") == {"territory", "hockey", "kuril_ja"}
    assert found(conn, "北方領土 -ホッケー") == {"territory"}
    assert found(conn, "kuril OR 北方領土 -ホッケー") == {"territory", "kuril_ja", "english"}
    assert found(conn, "kuril", language="en") == {"english"}
    assert found(conn, "北方領土 -\"ホッケー大会\"") == {"territory"}
    assert found(conn, '"北方の海"') == {"split"} and found(conn, '"北方 の海"') == set()


def test_full_and_half_width_forms_match_each_other(conn, japanese) -> None:
    assert found(conn, "12月26日") == {"fullwidth"}
    assert found(conn, "１２月") == {"fullwidth"} and found(conn, "g7サミット") == {"fullwidth"}
    assert found(conn, "ｻﾐｯﾄ") == {"fullwidth"}  # half-width katakana
    assert found(conn, "12月27日") == set()


def test_snippets_mark_the_matched_substring_and_rank_title_matches_first(conn, japanese) -> None:
    hits = archive.search(conn, Filters("北方領土"), limit=10)
    assert [h.url.rsplit("/", 1)[1] for h in hits][0] in ("territory", "hockey")
    for hit in hits:
        assert archive.matched_terms(hit.snippet) == ["北方領土"]
        assert "北方領土" in archive.plain_snippet(hit.snippet)
    [hit] = archive.search(conn, Filters("Ｇ７サミット"), limit=10)
    assert archive.matched_terms(hit.snippet) == ["G7サミット"]


@pytest.mark.parametrize("query", ["'; DROP TABLE articles; --", "北方' | '領土", "\\' :* <-> !", '"', "-", "OR",
                                   "a\\\\b'c", "北方領土'::tsquery) --", "((( ))) & | ! <2>"])
def test_any_text_builds_a_valid_query_from_its_own_lexemes(conn, japanese, query: str) -> None:
    built, _terms = bigrams.build_query(query)
    if built is not None:
        lexemes = conn.execute("SELECT array(SELECT unnest(tsvector(%s::tsquery::text)))", (built,))
        assert lexemes is not None
        parsed = conn.execute("SELECT %s::tsquery::text", (built,)).fetchone()[0]
        assert "drop" not in parsed or "'drop'" in parsed
    archive.search(conn, Filters(query))  # never raises
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(DOCS)


def test_the_query_keeps_websearch_operator_layout() -> None:
    assert bigrams.build_query('"北方領土" OR kuril -ホッケー')[0] == (
        "('北方' <-> '方領' <-> '領土') | 'kuril' & !('ホッ' <-> 'ッケ' <-> 'ケー')")
    assert bigrams.build_query("OR -")[0] is None
    assert bigrams.quote("a'b\\c") == "'a''b\\\\c'"


def test_japanese_watches_match_like_search_and_their_snippets_show_the_terms(conn, japanese) -> None:
    add_watch(conn, build_watch("territory", "北方領土 -ホッケー", ["json://127.0.0.1:9/hook"]))
    conn.commit()
    matched = {m.url.rsplit("/", 1)[1] for m in watch_rows.matches(conn, "territory")}
    assert matched == {"territory"}
    new_id = store(conn, "later", "北方領土の交渉", "首相は北方領土をめぐる交渉の再開に意欲を示した。", "ja")
    store(conn, "later-split", "北方の島", "北方の島と領土の話。", "ja")
    conn.commit()
    alerted = conn.execute("SELECT article_id FROM alerts").fetchall()
    assert alerted == [(new_id,)]
    snippet = conn.execute("SELECT cjk_headline(a.text, w.terms_cjk, '**', '**', 160) FROM articles a, watches w "
                           "WHERE a.id = %s", (new_id,)).fetchone()[0]
    assert "**北方領土**" in snippet


def test_articles_archived_before_the_migration_are_indexed_by_reindex(conn, japanese) -> None:
    conn.execute("UPDATE articles SET search_cjk = NULL")
    assert found(conn, "北方領土") == set()
    assert articles.index_bigrams(conn, batch=2) == len(DOCS) - 1  # the English one needs none
    assert found(conn, "北方領土") == {"territory", "hockey"}


KYODO = [
    "【モスクワ共同】ロシアのラブロフ外相は１８日、日本を含む他国との間に領土問題は存在しないと述べ、北方領土をめぐる交渉に応じない姿勢を示した。",
    "ラブロフ氏はモスクワで記者団に対し、第２次世界大戦の結果として確定した国境を見直す考えはないと強調した。日本政府が求める平和条約締結交渉についても、対ロ制裁が続く限り再開は難しいとの認識を示した。",
    "ロシアは２０２２年３月、ウクライナ侵攻に伴う日本の制裁への対抗措置として、平和条約交渉の中断を一方的に表明していた。元島民による墓参などの交流事業も停止したままとなっている。",
    "日本の外務省幹部は「北方四島は日本固有の領土であり、ロシア側の主張は受け入れられない」と反論した。政府は外交ルートを通じて抗議する方針だ。",
    "ロシア外務省のルデンコ次官も１６日、インタファクス通信のインタビューで、日本が制裁を続ける限り友好協力に関する協議はできないと語っていた。",
    "（共同）",
]
JIJI = [
    "【モスクワ時事】ロシアのラブロフ外相は１８日、ロシアにはいかなる国とも領土紛争はないと主張した。北方領土問題の存在を否定する発言で、日本との交渉を拒む立場を改めて鮮明にした。",
    "外相は国営メディアのインタビューに答え、国境は国際法に基づいて画定済みだと語った。日本の岸田政権は対ロ制裁を維持しており、両国関係の冷え込みは長期化する見通しだ。",
    "北方四島は１９４５年、旧ソ連軍に占拠された。日本は四島の帰属問題を解決して平和条約を結ぶ方針を掲げてきたが、交渉は２０２２年以降途絶えている。",
    "ロシアのルデンコ外務次官も１６日、インタファクス通信に対し、対ロ制裁が続く間は日本と友好協力の協議はできないと述べていた。",
    "林芳正官房長官は記者会見で、ロシア側の発言について「全く受け入れられない」と述べ、領土問題を解決して平和条約を締結する方針に変わりはないと強調した。",
]


def japanese_html(title: str, paragraphs: list[str], published: str, lang: str = "ja") -> str:
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="{published}"></head>'
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")


def import_page(conn, tmp_path, url: str, html: str) -> int:
    from scheduler.imports import import_files

    page = tmp_path / f"page-{abs(hash(url))}.html"
    page.write_text(html, encoding="utf-8")
    import_files(conn, [page], [], url=url)
    conn.commit()
    return conn.execute("SELECT id FROM articles WHERE url = %s", (url,)).fetchone()[0]


def test_regional_republications_of_kyodo_japanese_copy_are_copies(conn, tmp_path) -> None:
    original = import_page(conn, tmp_path, "https://www.kyodo.test/ja/1", japanese_html(
        "ラブロフ外相「領土問題ない」", KYODO, "2023-12-18T17:42:00+09:00"))
    # new headline, last paragraph dropped, digits and brackets half-width, credit removed
    edited = [p.replace("１８", "18").replace("２０２２", "2022").replace("（", "(").replace("）", ")")
              for p in KYODO[:-2]]
    regional = import_page(conn, tmp_path, "https://www.hokuto.test/news/9", japanese_html(
        "ロシア外相、北方領土交渉に応じず", edited, "2023-12-18T19:00:00+09:00"))
    jiji = import_page(conn, tmp_path, "https://www.jiji.test/ja/2", japanese_html(
        "ロシア外相、領土紛争「ない」と主張", JIJI, "2023-12-18T18:10:00+09:00"))
    english = import_page(conn, tmp_path, "https://english.kyodo.test/1", japanese_html(
        "Lavrov says Russia has no territorial disputes with Japan", [
            "TOKYO (Kyodo) -- Russian Foreign Minister Sergey Lavrov said Monday that all territorial disputes "
            "between Moscow and other countries, including Japan, are over, signalling no talks on the islands.",
            "Lavrov told reporters in Moscow that borders fixed after World War II would not be revisited, and "
            "that peace treaty talks could not resume while Japan's sanctions against Russia remain in place."],
        "2023-12-18T18:00:00+09:00", lang="en"))
    rows = dict(conn.execute("SELECT id, copy_of FROM articles").fetchall())
    assert rows[regional] == original and rows[original] is None
    assert rows[jiji] is None and rows[english] is None  # another report; another language
    stories = dict(conn.execute("SELECT id, story_id FROM articles").fetchall())
    assert stories[jiji] is not None and stories[jiji] == stories[original]
    hits = archive.search(conn, Filters("北方領土"), limit=10)
    assert {h.id for h in hits} == {original, jiji}  # the copy folds under its original
    kyodo_hit = next(h for h in hits if h.id == original)
    assert [c.id for c in kyodo_hit.copies] == [regional]
