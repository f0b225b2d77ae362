"""Copies found through the LSH index in the real archive: every syndication transformation,
hard negatives, late originals, wire ties, and a rebuild that gives the incremental links."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crawler.dedupe import text_fingerprint
from crawler.ingest import Duplicate, Stored
from db import articles
from scheduler.dedupe import rebuild_links
from tests.archive_pages import T0, store
from tests.test_dedupe import JIJI, KYODO

ORIGINAL_URL = "https://english.kyodonews.example/news/2023/12/lavrov"
WIRE_STORY = ["TOKYO (Kyodo) -- " + KYODO[0], *KYODO[1:]]


def cut(paragraphs: list[str], share: float) -> list[str]:
    """The text cut at `share` of its characters, mid-sentence, as a CMS truncates it."""
    text = "\n".join(paragraphs)
    return text[: int(len(text) * share)].split("\n")


TRANSFORMATIONS = {
    "headline": ("Territorial disputes with Japan over, says Russian foreign minister", KYODO),
    "dateline": ("Lavrov says", ["MOSCOW – " + KYODO[0], *KYODO[1:]]),
    "dropped-last-paragraph": ("Lavrov says", KYODO[:-1]),
    "added-last-paragraph": ("Lavrov says", [*KYODO, "Japan's top government spokesman declined to comment on "
                                             "the remarks at a regular news conference on Tuesday."]),
    "truncated-ending": ("Lavrov says", cut(KYODO, 0.6)),
    "typography-whitespace": ("Lavrov says", [p.replace('"', "“", 1).replace("'", "’").replace(" ", "  ")
                                              for p in KYODO]),
    "clutter-around": ("Lavrov says", ["Photo: AP/Alexander Zemlianichenko", "1 Comment", "TOKYO", *KYODO,
                                       "© KYODO", "Login to comment"]),
    "everything-at-once": ("Russia's Lavrov declares territorial issue with Japan 'over'",
                           ["Photo: Reuters", "MOSCOW – " + KYODO[0], *cut(KYODO[1:], 0.7), "© KYODO"]),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
def test_each_transformation_is_stored_as_a_copy_of_the_original(conn, name: str) -> None:
    original = store(conn, "kyodo", ORIGINAL_URL, "Lavrov says Russia has no territorial disputes", WIRE_STORY)
    title, paragraphs = TRANSFORMATIONS[name]
    copy = store(conn, "japantoday", f"https://japantoday.example/{name}", title, paragraphs,
                 T0 + timedelta(hours=3))
    assert isinstance(original, Stored) and isinstance(copy, Stored)
    assert copy.copy_of == original.article_id, name
    assert copy.similarity is not None and copy.similarity >= 80
    row = articles.get_article(conn, copy.article_id)
    assert row.copy_of == original.article_id and row.wire_service == "kyodo"


def test_near_duplicates_are_found_by_the_index_not_by_fingerprint(conn) -> None:
    """The fingerprint can't see a truncated copy: the LSH probe must."""
    store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO)
    paragraphs = cut(KYODO, 0.6)
    assert text_fingerprint("\n\n".join(paragraphs)) != text_fingerprint("\n\n".join(KYODO))
    assert isinstance(store(conn, "japantimes", "https://japantimes.example/a", "Lavrov", paragraphs), Stored)
    assert articles.get_article(conn, 2).copy_of == 1


def test_the_same_event_by_another_agency_is_not_a_copy(conn) -> None:
    store(conn, "kyodo", ORIGINAL_URL, "Lavrov says Russia has no territorial disputes with Japan", KYODO)
    jiji = store(conn, "jiji", "https://jiji.example/news/1", "Russian Foreign Minister Says No Territorial Dispute",
                 JIJI, T0 + timedelta(hours=2))
    assert isinstance(jiji, Stored) and jiji.copy_of is None


def test_a_copy_outside_the_window_is_an_original(conn) -> None:
    store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO)
    late = store(conn, "japantoday", "https://japantoday.example/late", "Lavrov says", KYODO[:-1],
                 T0 + timedelta(days=10))
    assert isinstance(late, Stored) and late.copy_of is None


def test_an_original_arriving_late_takes_over_its_copies(conn) -> None:
    first = store(conn, "japantoday", "https://japantoday.example/a", "Disputes over", ["TOKYO", *KYODO, "© KYODO"],
                  T0 + timedelta(hours=3))
    second = store(conn, "japantimes", "https://japantimes.example/b", "Issue over", KYODO[:-1],
                   T0 + timedelta(hours=5))
    assert second.copy_of == first.article_id
    original = store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO, T0)
    assert isinstance(original, Stored) and original.became_original and original.copy_of is None
    for copy in (first, second):
        row = articles.get_article(conn, copy.article_id)
        assert row.copy_of == original.article_id
        assert row.similarity is not None and row.similarity >= 95
    copies = articles.copies_of(conn, [original.article_id])[original.article_id]
    assert {c.outlet for c in copies} == {"japantoday", "japantimes"}


def test_a_late_original_finds_the_story_its_copy_was_not_in(conn) -> None:
    """A copy arrives first (an original then, in no story), its original next (taking it over),
    the other agency's report last: all three in one story, whatever the copy's vector says."""
    copy = store(conn, "japantoday", "https://japantoday.example/late", "Disputes over", ["TOKYO", *KYODO],
                 T0 + timedelta(hours=3))
    original = store(conn, "kyodo", ORIGINAL_URL + "-late", "Lavrov says", KYODO, T0 + timedelta(hours=1))
    assert original.became_original
    other = store(conn, "jiji", "https://jiji.example/late", "Russian Foreign Minister Says No Territorial Dispute",
                  JIJI, T0 + timedelta(hours=2))
    assert other.copy_of is None
    rows = [articles.get_article(conn, r.article_id) for r in (copy, original, other)]
    assert rows[0].copy_of == original.article_id
    assert rows[0].story_id is not None and len({r.story_id for r in rows}) == 1, [r.story_id for r in rows]


def test_a_wire_service_wins_a_tie(conn) -> None:
    copy = store(conn, "japantoday", "https://japantoday.example/a", "Disputes over", KYODO)
    wire = store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO)
    assert wire.became_original
    assert articles.get_article(conn, copy.article_id).copy_of == wire.article_id


def test_identical_text_of_the_same_outlet_is_a_duplicate(conn) -> None:
    store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO)
    again = store(conn, "kyodo", ORIGINAL_URL + "-updated", "Lavrov says (update)", KYODO)
    assert isinstance(again, Duplicate)


def snapshot(conn) -> list[tuple]:
    rows = articles.articles_after(conn, 0, 1000)
    full = [articles.get_article(conn, r.id) for r in rows]
    return [(a.id, a.copy_of, a.story_id, a.wire_service, round(a.similarity or 0, 2)) for a in full]


def test_rebuild_gives_the_links_of_incremental_processing(conn) -> None:
    store(conn, "japantoday", "https://japantoday.example/a", "Disputes over", ["TOKYO", *KYODO, "© KYODO"],
          T0 + timedelta(hours=3))
    store(conn, "jiji", "https://jiji.example/news/1", "No Territorial Dispute", JIJI, T0 + timedelta(hours=2))
    store(conn, "japantimes", "https://japantimes.example/b", "Issue over", cut(KYODO, 0.7), T0 + timedelta(hours=5))
    store(conn, "kyodo", ORIGINAL_URL, "Lavrov says", KYODO, T0)
    store(conn, "japantimes", "https://japantimes.example/c", "Jiji: no dispute", JIJI[:-1], T0 + timedelta(hours=6))
    incremental = snapshot(conn)
    assert sum(1 for row in incremental if row[1] is not None) == 3
    summary = rebuild_links(conn, window=timedelta(days=3))
    assert summary.articles == 5 and summary.copies == 3
    assert snapshot(conn) == incremental
