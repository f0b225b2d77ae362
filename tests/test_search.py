"""Search semantics over the crawled demo replay (phrases, OR, exclusion, filters, copies folded and
expanded, stories, ranking, paging, snippets), the CLI's formats, `show`, and export round trips."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from db import bigrams
from db import search as archive
from db.search import Filters
from scheduler.render import render_rows, screen_width
from scheduler import search as archive_rows
from scheduler.search import search_rows
from tests.test_cli import wirewatch

UTC = timezone.utc


@pytest.fixture(scope="module")
def conn(demo_archive):
    with psycopg.connect(demo_archive) as connection:
        yield connection


def outlets_of(conn, query: str, **kwargs) -> set[str]:
    return {h.outlet for h in archive.search(conn, Filters(query, **kwargs), limit=100)}


def test_web_search_syntax(conn) -> None:
    assert outlets_of(conn, "Lavrov") == {"demo-kyodo", "demo-jiji", "demo-diplomat", "demo-japantimes"}
    assert outlets_of(conn, '"peace treaty" -Lavrov') == {"demo-asahi"}
    assert outlets_of(conn, "Medvedev OR Lavrov") >= {"demo-asahi", "demo-kyodo"}
    assert outlets_of(conn, "Lavrov -Jiji") == outlets_of(conn, "Lavrov") - {"demo-jiji"}
    assert outlets_of(conn, '"territorial disputes with Japan"') >= {"demo-kyodo"}
    assert outlets_of(conn, "zzxqv") == set()


@pytest.mark.parametrize("query", ['"unbalanced', "OR OR -", "'; DROP TABLE articles; --", "!!! & | :*", ""])
def test_any_text_is_a_query_never_sql(conn, query: str) -> None:
    archive.search(conn, Filters(query))  # matches little or nothing, never raises
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] > 0
    conn.rollback()


def test_filters(conn) -> None:
    assert outlets_of(conn, "Lavrov", outlet="demo-jiji") == {"demo-jiji"}
    assert outlets_of(conn, "Lavrov", since=datetime(2023, 1, 1, tzinfo=UTC)) == {"demo-kyodo", "demo-jiji"}
    assert outlets_of(conn, "Lavrov", until=datetime(2020, 1, 1, tzinfo=UTC)) == {"demo-diplomat"}
    assert outlets_of(conn, "Lavrov", language="ja") == set()


def test_copies_fold_under_their_original_or_expand(conn) -> None:
    folded = archive.search(conn, Filters("Lavrov"), limit=100)
    kyodo = next(h for h in folded if h.outlet == "demo-kyodo")
    assert all(h.copy_of is None for h in folded)
    assert {c.outlet for c in kyodo.copies} == {"demo-japantoday", "demo-japantimes"}
    expanded = archive.search(conn, Filters("Lavrov"), expand=True, limit=100)
    assert len(expanded) == len(folded) + 2
    assert {h.copy_of for h in expanded if h.copy_of} == {kyodo.id}
    assert folded[0].total == len(folded) and expanded[0].total == len(expanded)


def test_a_folded_result_matches_the_query_itself(conn) -> None:
    """A copy stands for its original only where the original matches too: Kyodo's report says
    "Kyodo", its republications do not, and the outlet filter is the copies' outlet."""
    hits = archive.search(conn, Filters("lavrov -kyodo"), limit=100)
    assert "demo-kyodo" not in {h.outlet for h in hits}
    assert {"demo-japantoday", "demo-japantimes"} <= {h.outlet for h in hits}
    assert outlets_of(conn, "Lavrov", outlet="demo-japantoday") == {"demo-japantoday"}
    assert outlets_of(conn, "Lavrov") >= {"demo-kyodo"} and "demo-japantoday" not in outlets_of(conn, "Lavrov")


def test_stories_group_the_two_agencies(conn) -> None:
    found = archive.stories(conn, Filters("Lavrov"))
    lavrov = next(s for s in found if s.reports == 2)
    assert lavrov.copies == 2 and {"demo-jiji", "demo-kyodo"} <= set(lavrov.outlets)
    assert len(archive.stories(conn, Filters(None), limit=100)) >= len(found)
    every = archive.stories(conn, Filters(None), limit=100)
    paged = [s for o in range(0, len(every) + 3, 3) for s in archive.stories(conn, Filters(None), limit=3, offset=o,
                                                                           pool=1)]
    assert [s.story_id for s in paged] == [s.story_id for s in every]  # a pool of one grows to hold each page


def test_relevance_or_date_and_paging(conn) -> None:
    by_date = archive.search(conn, Filters("Russia"), sort="date", limit=100)
    stamps = [h.published_at for h in by_date]
    assert stamps == sorted(stamps, reverse=True)
    by_rank = archive.search(conn, Filters("Lavrov"), limit=100)
    assert by_rank[0].outlet == "demo-kyodo"  # Lavrov in the title, recent
    assert [h.score for h in by_rank] == sorted((h.score for h in by_rank), reverse=True)
    pages = [archive.search(conn, Filters("Russia"), sort="date", limit=2, offset=o) for o in range(0, 100, 2)]
    assert [h.id for page in pages for h in page] == [h.id for h in by_date]


def test_a_small_pool_changes_no_date_order_page(conn) -> None:
    every = archive.search(conn, Filters("Russia"), sort="date", limit=100)
    assert len(every) > 4 and every[0].total_exact and every[0].total == len(every) and not every[-1].more
    # a pool of one article grows until it holds each page: the same results, page after page
    pages = [archive.search(conn, Filters("Russia"), sort="date", limit=2, offset=o, rank_pool=1)
             for o in range(0, len(every) + 2, 2)]
    assert [h.id for page in pages for h in page] == [h.id for h in every]
    assert all(page[-1].more for page in pages if page and page[-1].id != every[-1].id)
    assert not pages[-1] and not archive.search(conn, Filters("Russia"), sort="date", limit=2,
                                                offset=len(every), rank_pool=1)


def test_relevance_ranks_the_newest_pool_and_estimates_the_total(conn) -> None:
    newest = archive.search(conn, Filters("Russia"), sort="date", expand=True, limit=100)
    hits = archive.search(conn, Filters("Russia"), expand=True, limit=100, rank_pool=3)
    assert {h.id for h in hits} == {h.id for h in newest[:3]}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    first = hits[0]
    assert not first.total_exact and first.pooled == 3 and not hits[-1].more
    assert first.total >= 3  # PostgreSQL's estimate of the matches, never fewer than the pool's results
    assert archive.search(conn, Filters("Russia"), expand=True, limit=2, offset=4, rank_pool=3) == []


def tight_window(conn, filters: Filters, estimate, pool: int) -> archive.Window:
    """From the pool-th newest match's date to the newest's: the smallest window that holds the pool."""
    dates = [at for (at,) in conn.execute(
        "SELECT coalesce(published_at, fetched_at) FROM articles a WHERE archive_match(a.search, a.language, "
        "a.outlet, coalesce(a.published_at, a.fetched_at), %(query)s, %(cjk)s::tsquery, %(outlet)s, %(language)s, "
        "%(since)s, %(until)s) ORDER BY 1 DESC LIMIT %(pool)s", filters.params() | {"pool": pool})]
    if len(dates) < pool:
        return archive.EVERY_MATCH
    return archive.Window(dates[-1], dates[0])


@pytest.mark.parametrize("way", ["tight-window", "tight-months", "every-match", "every-match-en",
                                 "every-match-cjk", "window-too-small", "months-too-small"])
def test_a_window_and_every_match_find_the_same_pool(conn, monkeypatch, way: str) -> None:
    """The planner's estimates choose the window the pool is looked for in; whichever it is, and
    when it holds too few (every match is then taken), the pages are the same."""
    cases = [(Filters("Russia"), 3), (Filters('"foreign minister"'), 2), (Filters("Japan -Lavrov"), 2),
             (Filters('"foreign minister" -hockey'), 1), (Filters('"Sergey Lavrov" OR 北方領土'), 2),
             (Filters("Russia", outlet="demo-kyodo"), 1), (Filters("Russia", language="en"), 2), (Filters(None), 2)]
    chosen = {repr(f): (archive.search(conn, f, expand=True, limit=100, rank_pool=pool) if f.query else None,
                        archive.search(conn, f, sort="date", limit=100, rank_pool=pool) if f.query else None,
                        archive.stories(conn, f, limit=100, pool=pool))
              for f, pool in cases}
    empty = archive.Window(datetime(2100, 1, 1, tzinfo=UTC), datetime(2100, 1, 2, tzinfo=UTC))
    forced = {"tight-window": tight_window, "every-match": lambda *_: archive.EVERY_MATCH,
              "tight-months": lambda *args: replace(tight_window(*args), months=True),
              "months-too-small": lambda *_: replace(empty, months=True),
              "every-match-en": lambda *_: archive.Window(dominant="en"),
              "every-match-cjk": lambda *_: archive.Window(dominant="cjk"),
              "window-too-small": lambda *_: empty}[way]
    monkeypatch.setattr(archive, "window_for", forced)
    for f, pool in cases:
        by_rank, by_date, stories = chosen[repr(f)]
        if f.query:
            assert archive.search(conn, f, expand=True, limit=100, rank_pool=pool) == by_rank, f
            assert archive.search(conn, f, sort="date", limit=100, rank_pool=pool) == by_date, f
            assert by_date and by_rank
        assert archive.stories(conn, f, limit=100, pool=pool) == stories, f
        assert stories


@pytest.mark.parametrize("months", [False, True])
def test_a_window_is_asked_of_the_index_as_days_or_months_of_each_form(conn, months: bool) -> None:
    """The window's days (or months) are in the tsquery the GIN index sees, one OR per form of the
    query, in place of the form's marker; the matches are those of the query in those periods."""
    f = Filters("Russia", outlet="demo-kyodo")
    window = replace(tight_window(conn, f, None, 1), months=months)
    sql = ("SELECT archive_window(%(query)s, %(cjk)s::tsquery, %(window)s, %(window_end)s, %(outlet)s, "
           "%(months)s)::text")
    periods = conn.execute(sql, f.params() | window.params()).fetchone()[0]
    assert "'~en" in periods and "'~simple" in periods and "@demo-kyodo'" in periods and "'~en'" not in periods
    assert ("'~enm" in periods) == months
    within = conn.execute("SELECT count(*) FROM articles WHERE search @@ %s::tsquery", [periods]).fetchone()[0]
    start = window.since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    every = conn.execute("SELECT count(*) FROM articles a WHERE search @@ archive_query('Russia', NULL) "
                         "AND outlet = 'demo-kyodo' AND coalesce(published_at, fetched_at) >= %s",
                         [start.replace(day=1) if months else start]).fetchone()[0]
    assert within == every >= 1
    assert conn.execute(sql, f.params() | archive.EVERY_MATCH.params()).fetchone()[0] is None
    # the widest window a search asks for parses, and its tsquery nests no deeper than PostgreSQL allows
    widest = archive.Window(window.since, window.since + timedelta(days=archive.MAX_WINDOW_DAYS - 1))
    assert conn.execute("SELECT count(*) FROM articles WHERE search @@ phrase_free(archive_window("
                        "'\"foreign minister\" OR Lavrov -hockey', %(cjk)s::tsquery, %(window)s, %(window_end)s, "
                        "NULL, false))", Filters("x").params() | widest.params()).fetchone()[0] >= 0


def generated_archive(db, count: int, text: str, *, outlet: str = "'wa'", start: str = "2026-01-01",
                      every: str = "10 minutes") -> None:
    """`count` English articles of outlets `wa` and `wb` (the SQL `outlet` of i), the i-th `every`
    after `start`, its text the SQL `text` of i and then "Story number i."; analysed."""
    db.execute("INSERT INTO outlets (name, title, homepage) VALUES ('wa', 'A', 'https://a.example/'), "
               "('wb', 'B', 'https://b.example/')")
    db.execute(f"""
        INSERT INTO articles (url, outlet, title, text, published_at, language, text_hash)
        SELECT 'https://t.example/' || i, {outlet}, 'Report ' || i, {text} || 'Story number ' || i || '.',
               timestamptz '{start} 00:00+00' + i * interval '{every}', 'en', md5(i::text)
        FROM generate_series(1, {count}) AS i""")
    db.execute("ANALYZE articles")


@pytest.mark.parametrize("skip", ["read", "in-proportion"])
def test_the_estimates_choose_a_window_and_its_pages_are_those_of_every_match(dsn, monkeypatch, skip: str) -> None:
    """6,000 articles, one every 10 minutes: `earthquake` in a third of them, `tsunami` only in the
    oldest half. The estimates choose a window for the first, which holds its pool; the second's
    window (the planner expects it anywhere) holds none, and every match is taken instead. The
    pages are those of every match, however the pool was found, and whether the window's first
    date was read from the date index or put at the span's proportion of the dates' range."""
    monkeypatch.setattr(archive, "MAX_SKIP", archive.MAX_SKIP if skip == "read" else 0)
    with psycopg.connect(dsn, autocommit=True) as db:
        generated_archive(db, 6000, """
            CASE WHEN i % 3 = 0 THEN 'An earthquake struck the coast. ' ELSE 'Markets were calm. ' END
            || CASE WHEN i <= 3000 AND i % 2 = 0 THEN 'A tsunami warning followed. ' ELSE '' END""",
                          outlet="CASE WHEN i % 4 = 0 THEN 'wb' ELSE 'wa' END")
        cases = [Filters("earthquake"), Filters('"story number" -calm'), Filters("earthquake", outlet="wb"),
                 Filters("tsunami"), Filters("earthquake OR tsunami", since=datetime(2026, 1, 20, tzinfo=UTC))]
        windows = {repr(f): archive.window_for(db, f, archive.planner_estimate(db, f), 100) for f in cases}
        # the outlet's quarter of the archive: its index narrowing every match's bitmap is expected to cost less
        assert [windows[repr(f)].since is not None for f in cases] == [True, True, False, True, True]
        assert windows[repr(cases[0])].since > datetime(2026, 2, 1, tzinfo=UTC)  # the last few days of 42

        def pages(f: Filters):  # the score is left out: its recency weight moves with the clock
            return ([replace(h, score=0) for h in archive.search(db, f, expand=True, limit=50, rank_pool=100)],
                    archive.search(db, f, sort="date", limit=50, offset=150, rank_pool=100),
                    archive.stories(db, f, limit=20, offset=100, pool=100))

        chosen = {repr(f): pages(f) for f in cases}
        monkeypatch.setattr(archive, "window_for", lambda *_: archive.EVERY_MATCH)
        for f in cases:
            assert pages(f) == chosen[repr(f)], f
            assert all(chosen[repr(f)]), f
        newest_tsunami = chosen[repr(cases[3])][0]
        assert max(h.published_at for h in newest_tsunami) == datetime(2026, 1, 21, 20, 0, tzinfo=UTC)


def test_the_total_of_a_cut_pool_is_counted_from_its_reach_where_the_planner_only_guesses(dsn) -> None:
    """6,000 articles, one every 10 minutes: `"northern territories"` in every fifth and neither word
    elsewhere, so PostgreSQL, taking the words as independent, expects a twenty-fifth. Its total is
    extrapolated from how far back its pool of the newest matches reaches; one common word keeps
    the statistics' count. Each total within 15% of the exact number of results."""
    with psycopg.connect(dsn, autocommit=True) as db:
        generated_archive(db, 6000, """
            CASE WHEN i % 5 = 0 THEN 'Talks on the northern territories resumed. ' ELSE 'Markets were calm. ' END
            || CASE WHEN i % 3 = 0 THEN 'An earthquake struck the coast. ' ELSE '' END""")
        phrase = Filters('"northern territories"')
        cases = {phrase: False, replace(phrase, since=datetime(2026, 1, 22, tzinfo=UTC)): False,
                 Filters("earthquake"): True, Filters("earthquake", until=datetime(2026, 1, 15, tzinfo=UTC)): True}
        for f, counted in cases.items():
            exact = len(archive.matching_originals(db, f))
            estimate = archive.planner_estimate(db, f)
            hits = archive.search(db, f, limit=5, rank_pool=100)
            assert not hits[0].total_exact and hits[0].pooled == 100, f
            assert estimate.counted == counted, f
            assert abs(hits[0].total - exact) <= 0.15 * exact, (f, hits[0].total, exact)
            if not counted:  # what the planner alone would have said
                assert estimate.matches < exact / 2, (f, estimate.matches, exact)
        assert len(archive.matching_originals(db, phrase)) == 1200
    queries = ("earthquake", "Lavrov,", "-earthquake", '"prime minister"', "lavrov OR putin", "lavrov putin", "北方領土")
    assert [bigrams.one_word(q) for q in queries] == [True, True, False, False, False, False, False]


def test_the_window_is_chosen_where_that_is_expected_to_be_cheaper() -> None:
    # the planner's figures on bench/search.py's archive of 1,000,000 articles
    def estimate(matches, phrase=False, filtered=1_000_000, candidates=0, domain=0, narrowed=False):
        return archive.Estimate(matches, filtered, phrase, candidates or matches, domain or filtered, narrowed)

    assert estimate(75_958).window_span(500) == 13_166  # earthquake: twice the 6,600 articles expected to hold 500
    assert estimate(490_087).window_span(500) == 2_041  # government
    assert estimate(238_519, phrase=True).window_span(500) == 8_386  # "prime minister": 4 times, a phrase
    # lavrov: 200,000 articles, 221 days, eight months; GIN steps through its 5,000 postings, not
    # the months', and fetches the rows of the matches of those months only
    lavrov = estimate(4_942)
    assert lavrov.window_span(500) == 202_348
    assert lavrov.months_cost(202_348, days=221, months=8, month_days=235) < lavrov.bitmap_cost() / 1.3
    assert lavrov.window_cost(500, 202_348, days=221) > 10 * lavrov.bitmap_cost()
    # earthquake: the days of a common term's two weeks cost less than its months
    earthquake = estimate(75_958)
    assert earthquake.window_cost(500, 13_166, days=15) < earthquake.months_cost(13_166, 15, months=2, month_days=34)
    assert estimate(737, phrase=True).window_span(500) is None  # "northern territories"
    # a language filter: the window is counted in the articles of every language, which are more
    assert estimate(20_000, filtered=100_000, candidates=100_000, domain=1_000_000).window_span(500) == 50_000
    assert estimate(0).window_span(500) is None
    # a Japanese term is a phrase of bigrams, which the planner counts as if independent: fewer than
    # hold it (ワシントン in bench/japanese.py's 100,000: 11,092 for 57,443), so a word's margin
    assert [bigrams.only_bigrams(q) for q in ("ワシントン", "日銀総裁 -円安", '"prime minister"', "lavrov 北方領土")] \
        == [True, True, False, False]
    washington = archive.Estimate(11_092, 100_000, True, 11_092, 100_000, bigrams=True)
    assert washington.window_span(500) == 9_016 and replace(washington, bigrams=False).window_span(500) == 18_032
    # earthquake --outlet nhk: 13,003 of the outlet's articles reach back 172 days, whose 516 lexemes
    # each candidate would be tested against; the outlet's index narrowing every match's bitmap costs
    # less, and the outlet's seven months (21 lexemes) less again
    nhk = estimate(6_449, filtered=83_851, candidates=76_895, narrowed=True)
    assert nhk.window_span(500) == 13_003  # worth looking up the window's days
    assert nhk.window_cost(500, 13_003, days=172) > 2 * nhk.bitmap_cost()
    assert nhk.months_cost(13_003, days=172, months=7, month_days=185) < nhk.bitmap_cost() / 2
    assert nhk.window_cost(500, 13_003, days=14) < nhk.bitmap_cost()
    assert nhk.bitmap_cost() < estimate(6_449, filtered=83_851, candidates=76_895).bitmap_cost()


def test_phrase_free_drops_word_order_only_where_that_gives_a_superset(conn) -> None:
    from db import bigrams

    def free(query: str, cjk: str | None = None) -> tuple[str, str]:
        return conn.execute("SELECT phrase_free(archive_query(%(q)s, %(c)s::tsquery))::text, "
                            "archive_query(%(q)s, %(c)s::tsquery)::text", {"q": query, "c": cjk}).fetchone()

    loose, exact = free('"prime minister" OR lavrov')
    assert "<->" in exact and "<->" not in loose and loose == exact.replace("<->", "&")
    assert free('"prime minister" -hockey')[0] == free('"prime minister" -hockey')[1]  # a negation: unchanged
    assert free("o'brien's \\ <b>")[0].count("'") == free("o'brien's \\ <b>")[1].count("'")
    conn.execute("SET LOCAL statement_timeout = '5s'")  # a char-by-char loop took minutes on this one
    cjk, _ = bigrams.build_query("北方領土" * 250)
    loose, exact = free("北方領土" * 250, cjk)
    assert exact.count("<->") == 998 and "<->" not in loose
    conn.rollback()


def test_a_query_the_same_in_every_form_drops_the_markers_and_matches_the_same(conn) -> None:
    from db import bigrams

    marked = ("(websearch_to_tsquery('english', %(q)s) && '~en') || (websearch_to_tsquery('simple', %(q)s) && "
              "'~simple') || (%(c)s::tsquery && '~cjk')")
    found = 0
    for query in ["Lavrov", "Lavrov -hockey", "kuril OR nhk", "Lavrov 北方領土", "running"]:
        cjk, _ = bigrams.build_query(query)
        params = {"q": query, "c": cjk}
        [(form,)] = conn.execute("SELECT archive_query(%(q)s, %(c)s::tsquery)::text", params).fetchall()
        assert ("~" in form) == (query in ("Lavrov 北方領土", "running")), form  # names: one form for all
        rows = [conn.execute(f"SELECT array_agg(id ORDER BY id) FROM articles WHERE search @@ {where}",
                             params).fetchone()[0] for where in ("archive_query(%(q)s, %(c)s::tsquery)", f"({marked})")]
        assert rows[0] == rows[1], query
        found += len(rows[0] or [])
    assert found  # the demo has matches to compare


def test_every_match_may_restrict_a_form_by_the_absence_of_the_others_markers(conn) -> None:
    """archive_candidates (0012): a form's marker, or for the dominant form the absence of the
    others', finds the same articles (each has exactly one marker); without word order, a superset."""
    from db import bigrams

    conn.execute("""INSERT INTO articles (url, outlet, title, text, published_at, language, text_hash)
                    SELECT 'https://fr.example/1', min(outlet), 'Lavrov et les îles',
                           'Lavrov a parlé des îles Kouriles avec le ministre japonais.', now(), 'fr', md5('fr1')
                    FROM articles""")
    sql = "SELECT array_agg(id ORDER BY id) FROM articles WHERE search @@ {}"
    exact = "archive_query(%(q)s, %(c)s::tsquery)"
    for query in ["Lavrov", "islands -putin", "îles", '"foreign minister"', "minister OR 北方領土",
                  '"Sergey Lavrov" -hockey', "Russia -Lavrov"]:
        cjk, _ = bigrams.build_query(query)
        params = {"q": query, "c": cjk}
        matches = conn.execute(sql.format(exact), params).fetchone()[0]
        assert matches, query
        for dominant in (None, "en", "simple", "cjk"):
            candidates = conn.execute(sql.format(f"archive_candidates(%(q)s, %(c)s::tsquery, %(d)s) AND search @@ "
                                                 f"{exact}"), params | {"d": dominant}).fetchone()[0]
            assert candidates == matches, (query, dominant)
            if '"' not in query:
                assert conn.execute(sql.format("archive_candidates(%(q)s, %(c)s::tsquery, %(d)s)"),
                                    params | {"d": dominant}).fetchone()[0] == matches, (query, dominant)
    conn.rollback()
    assert archive.dominant({"en": 980_000, "simple": 5_000, "cjk": 20_000}) == "en"
    assert archive.dominant({"en": 600_000, "simple": 0, "cjk": 400_000}) is None
    assert archive.dominant({"en": 20, "simple": 0, "cjk": 10_000}) == "cjk"


def test_snippets_mark_the_matched_terms(conn) -> None:
    hit = archive.search(conn, Filters("Lavrov"), limit=1)[0]
    assert archive.matched_terms(hit.snippet) == ["Lavrov"]
    assert ("Lavrov", True) in archive.snippet_parts(hit.snippet)
    assert "\x02" not in archive.plain_snippet(hit.snippet) and "Lavrov" in archive.plain_snippet(hit.snippet)


@pytest.mark.parametrize("query", ["territory", "sanctions", "北方領土", "ラブロフ"])
def test_a_snippet_begins_at_a_word(conn, query: str) -> None:
    """Not inside one ("sfer of territory", "アのラブロフ外相は"): after a space, a clause mark
    (、。」) or at the text's start or the match itself."""
    hits = archive.search(conn, Filters(query), expand=True, limit=50)
    assert hits
    for hit in hits:
        snippet = archive.plain_snippet(hit.snippet).removeprefix("…").strip()
        text = " ".join(unicodedata.normalize("NFKC", archive.article(conn, hit.id).text).split())
        snippet = " ".join(snippet.split())
        at = text.find(snippet[:12])
        assert at >= 0, (snippet, hit.id)
        assert at == 0 or text[at - 1].isspace() or text[at - 1] in "、。」）!?！？" or snippet.startswith(query), \
            (text[max(0, at - 20):at + 20], hit.id)


def test_snippets_look_near_a_phrase_then_the_longest_word_of_a_long_text(conn) -> None:
    from db import bigrams

    long = ("Filler words of the weather. " * 200 + "Then Lavrov spoke about the islands. " + "More filler. " * 50
            + "The Bank of Japan kept its rates. " + "Last filler. " * 50)

    def near(anchors: list[str], text: str = long) -> str:
        return conn.execute("SELECT text_near(%s, %s, 300)", (text, anchors)).fetchone()[0]

    assert bigrams.anchors('"Bank of Japan" rates -yen') == ["bank of japan", "japan", "rates", "bank", "of"]
    assert bigrams.anchors("lavrov OR islands") == ["islands", "lavrov"]
    window = near(bigrams.anchors("lavrov OR islands"))
    assert len(window) == 300 and "Lavrov spoke about the islands" in window
    # the phrase, late in the text, before "of" (everywhere) and "japan" alone
    assert "Bank of Japan kept" in near(bigrams.anchors('"bank of japan"'))
    assert near(["zzxqv"]) == long and near(["zzxqv"], "short") == "short"
    conn.rollback()
    hits = archive.search(conn, Filters('"foreign minister"'), limit=20)
    assert hits and all(archive.matched_terms(h.snippet) for h in hits)


MARKED = """SELECT to_tsvector(CASE WHEN %(l)s = 'en' THEN 'english' ELSE 'simple' END::regconfig, %(t)s)
                   || CASE WHEN %(l)s = 'en' THEN '''~en''' ELSE '''~simple''' END::tsvector
                   @@ archive_query(%(q)s, NULL)"""


def test_one_tsquery_keeps_each_language_to_its_own_form(conn) -> None:
    """archive_query (0009): each form of the query ANDed with its marker, so an exclusion in one
    form cannot let an article of another language through, and stop words alone match nothing."""
    def matches(query: str, text: str, language: str) -> bool:
        return conn.execute(MARKED, {"q": query, "t": text, "l": language}).fetchone()[0] is True

    assert matches("islands -putin", "The islands were seized", "en")
    assert not matches("islands -putin", "Putin claimed the islands", "en")
    assert not matches("islands -putin", "Putin claimed the islands", "fr")
    assert matches("running", "He runs", "en") and not matches("running", "He runs", "fr")
    assert not matches("the", "the islands", "en")
    conn.rollback()


def test_coverage_counts_each_outlet_per_day(conn) -> None:
    days = archive.coverage(conn, Filters("Lavrov"))
    assert sum(d.articles for d in days) == len(archive.search(conn, Filters("Lavrov"), expand=True, limit=100))
    assert {(d.day.isoformat(), d.outlet) for d in days} >= {("2023-12-18", "demo-kyodo"), ("2023-12-18", "demo-jiji")}


def test_rows_for_the_table_and_machine_formats(conn) -> None:
    rows, columns, count = search_rows(conn, "Lavrov", outlet=None, language=None, since=None, until=None, limit=20)
    assert columns == ["id", "published", "outlet", "title", "match", "also"]
    assert count == f"results 1-{len(rows)} of {len(rows)}"
    _, _, first_two = search_rows(conn, "Lavrov", outlet=None, language=None, since=None, until=None, limit=2)
    assert first_two == f"results 1-2 of {len(rows)} (--offset for more)"
    assert "*Lavrov*" in rows[0]["match"]
    assert set(rows[0]) >= {"id", "published", "outlet", "title", "url", "copy_of", "story_id", "wire", "score",
                            "snippet", "highlights", "also_carried_by", "also"}


@pytest.mark.parametrize("query", ["Lavrov", "北方領土"])
def test_the_table_fits_the_terminal_and_its_match_column_shows_a_match(conn, monkeypatch, query: str) -> None:
    """A 100-column terminal: a Japanese character takes two columns, the columns line up, a cut
    never leaves the terminal bold, and the match column starts a few words before its first
    match, so that the narrow column shows it."""
    monkeypatch.setenv("COLUMNS", "100")
    rows, columns, _ = search_rows(conn, query, outlet=None, language=None, since=None, until=None, limit=20,
                                   color=True)
    lines = render_rows(rows, "table", columns).splitlines()
    assert len(lines) == len(rows) + 1 > 1 and columns[4] == "match"

    def from_column(line: str, column: int) -> str:
        width = 0
        for i, char in enumerate(line):
            if width >= column:
                return line[i:]
            width += screen_width(char)
        return ""

    match_at = lines[0].index("MATCH")
    for line, row in zip(lines[1:], rows):
        assert screen_width(line) <= 100, line
        assert from_column(line, match_at).startswith(row["match"][:2]), line  # wide characters line up
        bold, reset = line.find("\x1b[1m"), line.rfind("\x1b[0m")
        assert 0 < bold < reset and line.rfind("\x1b[1m") < reset, line  # a match shown, and no bold left on
        assert screen_width(row["match"].split("\x1b[1m")[0]) <= archive_rows.MATCH_LEAD + 1, row["match"]


@pytest.fixture
def env(demo_archive, home: Path):
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")} | {
        "WIREWATCH_HOME": str(home), "WIREWATCH_DATABASE_URL": demo_archive, "COLUMNS": "120"}


def test_cli_formats(env) -> None:
    as_json = json.loads(wirewatch("search", "Lavrov", "--format", "json", env=env).stdout)
    lines = wirewatch("search", "Lavrov", "--format", "jsonl", env=env).stdout.splitlines()
    assert [json.loads(line) for line in lines] == as_json
    assert as_json[0]["highlights"] == ["Lavrov"] and "match" not in as_json[0]
    table = wirewatch("search", "Lavrov", "--sort", "date", "--limit", "2", env=env).stdout.splitlines()
    assert table[0].split()[:4] == ["ID", "PUBLISHED", "OUTLET", "TITLE"] and len(table) == 3
    assert all(len(line) <= 120 for line in table)
    rows = list(csv.DictReader(io.StringIO(wirewatch("search", "Lavrov", "--format", "csv", env=env).stdout)))
    kyodo = next(r for r in rows if r["outlet"] == "demo-kyodo")
    assert kyodo["highlights"] == "Lavrov" and kyodo["also_carried_by"].count("|") == 1
    second = json.loads(wirewatch("search", "Lavrov", "--format", "json", "--limit", "1", "--offset", "1",
                                  env=env).stdout)
    assert second == as_json[1:2]
    stories = json.loads(wirewatch("search", "Lavrov", "--stories", "--format", "json", env=env).stdout)
    assert any(s["reports"] == 2 for s in stories)


def test_show_prints_metadata_copies_and_story(env) -> None:
    kyodo = next(h for h in json.loads(wirewatch("search", "Lavrov", "--format", "json", env=env).stdout)
                 if h["outlet"] == "demo-kyodo")
    shown = wirewatch("show", str(kyodo["id"]), env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Also carried by:" in shown.stdout and "demo-japantoday" in shown.stdout
    assert "2 reports" in shown.stdout and "demo-jiji" in shown.stdout and "Channel One" in shown.stdout
    missing = wirewatch("show", "999999", env=env)
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no article #999999"


def test_show_prints_a_description_the_text_opens_with_once(env) -> None:
    """The Diplomat's dek is its description and the standfirst that opens its text."""
    diplomat = next(h for h in json.loads(wirewatch("search", "Lavrov", "--format", "json", env=env).stdout)
                    if h["outlet"] == "demo-diplomat")
    shown = wirewatch("show", str(diplomat["id"]), env=env).stdout
    assert shown.count("Russia and Japan agree on the need to improve ties, but major differences remain.") == 1


def test_export_jsonl_csv_and_a_warc_that_imports_to_the_same_articles(env, tmp_path: Path, cli_env) -> None:
    jsonl = wirewatch("export", "Lavrov", env=env)
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(records) == 6 and all(r["text"] for r in records)  # 4 originals and 2 copies
    as_csv = wirewatch("export", "Lavrov", "--format", "csv", "--originals-only", env=env).stdout
    assert len(list(csv.DictReader(io.StringIO(as_csv)))) == 4

    warc = tmp_path / "lavrov.warc.gz"
    out = wirewatch("export", "Lavrov", "--format", "warc", "-o", str(warc), env=env)
    assert out.returncode == 0 and "Exported 6 of 6" in out.stderr, out.stderr
    imported = wirewatch("import", str(warc), env=cli_env)  # into another, empty database
    assert imported.returncode == 0, imported.stderr
    again = [json.loads(line) for line in wirewatch("export", "Lavrov", env=cli_env).stdout.splitlines()]
    keys = ("url", "title", "text", "published_at", "authors", "language")
    assert sorted(tuple(r[k] for k in keys) for r in again) == sorted(tuple(r[k] for k in keys) for r in records)
    copies = {r["url"] for r in again if r["copy_of"]}
    assert copies == {r["url"] for r in records if r["copy_of"]}


def test_views_for_psql_and_the_read_only_role(demo_archive) -> None:
    with psycopg.connect(demo_archive) as c:
        c.execute("SET ROLE wirewatch_analyst")
        top = c.execute("SELECT outlet, copies, copy_outlets FROM originals_with_copies WHERE copies > 0 "
                        "ORDER BY copies DESC, outlet").fetchall()
        assert top == [("demo-kyodo", 2, ["demo-japantimes", "demo-japantoday"]),
                       ("demo-kyodo-ja", 2, ["demo-saikai", "demo-shiretoko"])]
        assert c.execute("SELECT reports, copies FROM stories WHERE reports = 2").fetchall() == [(2, 2)]
        assert c.execute("SELECT sum(articles) FROM daily_coverage").fetchone()[0] == \
            c.execute("SELECT count(*) FROM articles").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("DELETE FROM articles")
        c.rollback()
        c.execute("SET ROLE wirewatch_analyst")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT url FROM watch_channels")


@pytest.mark.parametrize("args, message", [
    (["--outlet", "kyodo"], "Error: --outlet: no outlet 'kyodo' in the archive (did you mean demo-kyodo, demo-kyodo-ja?)"),
    (["--lang", "xx"], "Error: --lang: no language 'xx' in the archive (the archive has en, ja)"),
])
def test_a_filter_no_article_can_pass_says_so(env, args: list[str], message: str) -> None:
    for command in (["search", "Lavrov"], ["export", "Lavrov"]):
        result = wirewatch(*command, *args, env=env)
        assert result.returncode == 1 and result.stderr.strip().splitlines()[-1] == message, result.stderr
    # a known outlet that carries nothing matching is no error: the query is what found nothing
    found = wirewatch("search", "zzxqv", "--outlet", "demo-kyodo", "--lang", "en", env=env)
    assert found.returncode == 0 and "No article matches" in found.stderr


def test_an_empty_date_range_is_a_usage_error(env) -> None:
    result = wirewatch("search", "Lavrov", "--since", "2024-01-02", "--until", "2024-01-01", env=env)
    assert result.returncode == 2 and "--since 2024-01-02 00:00 is not before --until 2024-01-01 00:00" in result.stderr
    assert wirewatch("export", "Lavrov", "--since", "1d", "--until", "2d", env=env).returncode == 2


def test_dates_take_durations_and_iso_times(env) -> None:
    def outlets(*args: str) -> set[str]:
        result = wirewatch("search", "Lavrov", "--format", "json", *args, env=env)
        assert result.returncode == 0, result.stderr
        return {h["outlet"] for h in json.loads(result.stdout)}

    assert outlets("--since", "2023-01-01") == {"demo-kyodo", "demo-jiji"}
    assert outlets("--until", "2020-01-01T00:00:00+00:00") == {"demo-diplomat"}
    days = (datetime.now(UTC) - datetime(2019, 6, 1, tzinfo=UTC)).days
    assert outlets("--since", f"{days}d") == outlets("--since", "2019-06-01")
    assert outlets("--until", "1w") == outlets()  # the demo's articles are older than a week
    refused = wirewatch("search", "Lavrov", "--since", "yesterday", env=env)
    assert refused.returncode == 2 and "2024-01-31" in refused.stderr and "2d, 36h or 1w" in refused.stderr
    assert "%Y" not in refused.stderr  # strptime's format strings are not for users


def test_one_query_length_limit_everywhere(env) -> None:
    from alerts.spec import MAX_QUERY_CHARS as watches
    from db.search import MAX_QUERY_CHARS
    from web.params import BadRequest, search_params

    assert watches is MAX_QUERY_CHARS == 1000
    result = wirewatch("search", "kuril " * 5000, env=env)
    assert result.returncode == 2 and "at most 1000 characters, got 29,999" in result.stderr
    assert wirewatch("search", "a" * MAX_QUERY_CHARS, env=env).returncode == 0
    with pytest.raises(BadRequest, match="at most 1000 characters"):
        search_params(q="a" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize("query, reading", [
    ("kuril OR lavrov -hockey", "Query read as: 'kuril' | ('lavrov' & !'hockey') (AND binds before OR"),
    ("(kuril OR lavrov) -hockey", "Query read as: 'kuril' | ('lavrov' & !'hockey') (parentheses do not group; "),
    ('"northern territories" OR kuril', None),
    ("Lavrov -Jiji", None),
    ('"a -b or c" d', None),
])
def test_search_says_how_it_reads_a_query_that_may_surprise(env, query: str, reading: str | None) -> None:
    result = wirewatch("search", query, "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("Query read as")]
    assert len(notes) == (1 if reading else 0), result.stderr
    if reading:
        assert notes[0].startswith(reading)
