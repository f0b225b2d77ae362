"""crawler.dedupe: copies of one wire story match, reports of one event by two agencies don't."""

from __future__ import annotations

import itertools
import tomllib
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from crawler.dedupe import (
    MAX_WORDS,
    NEAR_DUPLICATE_THRESHOLD,
    SLACK_WORDS,
    Candidate,
    choose_original,
    is_near_duplicate,
    normalize_text,
    similarity,
    text_fingerprint,
)
from crawler.extract import Article, extract_article

SITES = Path(__file__).resolve().parent.parent / "demo" / "sites"
MANIFEST = SITES / "manifest.toml"
BASE = "http://127.0.0.1:8000"

KYODO = [
    'Russian Foreign Minister Sergey Lavrov said Monday that all territorial disputes between Moscow and '
    'other countries, including Japan, are "over."',
    "Lavrov made the remark, which could be interpreted as suggesting Moscow will never talk with Tokyo about "
    "the issue of sovereignty over Russian-held islands off Hokkaido, during an interview by the "
    "government-affiliated Channel One television network.",
    "The former Soviet Union seized four islands after Japan's surrender in World War II, and disputes over "
    "their sovereignty have prevented Tokyo and Moscow from signing a postwar peace treaty.",
    '"We don\'t have any territorial rows with the NATO side," Lavrov said, referring to a recent remark by '
    "President Vladimir Putin that Russia recognizes no territorial issues with any NATO member.",
    'He continued, "Generally speaking, we don\'t have territorial disputes with any countries, including Japan."',
    "The Russian Foreign Ministry released the video of the interview on its website.",
    "In March 2022, Russia said it would suspend negotiations with Japan over matters related to realizing a "
    "peace treaty, including the issue of Kunashiri, Etorofu and Shikotan islands as well as the Habomai group "
    "of islets, after Tokyo imposed sanctions against Moscow in response to its invasion of Ukraine.",
    "In an interview run by the Interfax news agency on Saturday, Russian Deputy Foreign Minister Andrey "
    "Rudenko said it is impossible to negotiate with Japan over matters related to friendly cooperation while "
    "Tokyo's sanctions against Russia remain in place.",
]
JIJI = [
    "Tokyo (Jiji Press)—Russian Foreign Minister Sergei Lavrov has claimed that his country has no territorial "
    "disputes with other countries including Japan, indicating that Moscow will not engage in negotiations over "
    "the so-called Northern Territories.",
    "Lavrov made the remark in an interview Monday on Channel 1, a Kremlin-backed television channel. According "
    "to the published transcript of the interview, the minister mentioned Japan after claiming that Russia has "
    "no territorial dispute with NATO, in rebuttal to U.S. President Joe Biden’s recent remark that Russia may "
    "attack a member of the military alliance as it did Ukraine.",
    "The Northern Territories are the four Russia-held northwestern Pacific islands claimed by Japan. Lavrov "
    "said that the issue regarding the islands is a done deal.",
    "The Russian Foreign Ministry said in March last year, soon after the start of the invasion of Ukraine, that "
    "it would stop talks to conclude a peace treaty with Japan, which imposed sanctions on Moscow.",
    "In an interview with Russia’s Interfax news agency Saturday, Russian Deputy Foreign Minister Andrei Rudenko "
    "slammed Tokyo for what he described as an open pursuit of an unfriendly policy, saying that there is no "
    "prospect of continuing dialogue for concluding a bilateral treaty of friendship and cooperation.",
]


def kyodo(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs or KYODO)


# --- normalisation and fingerprints --------------------------------------------------


@pytest.mark.parametrize(
    "dateline",
    ["", "TOKYO (Kyodo) -- ", "TOKYO\n\n", "TOKYO ", "TOKYO – ", "Tokyo (Kyodo)—", "MOSCOW, Dec 18 (Reuters) - "],
)
def test_normalize_strips_dateline(dateline: str) -> None:
    assert normalize_text(dateline + kyodo()) == normalize_text(kyodo())


@pytest.mark.parametrize(
    "credit", ["© KYODO", "©2023 GPlusMedia Inc.", "(Reuters)", "==Kyodo", "© KYODO\n\n©2023 GPlusMedia Inc."]
)
def test_normalize_strips_trailing_credit_lines(credit: str) -> None:
    assert normalize_text(kyodo() + "\n\n" + credit) == normalize_text(kyodo())


def test_normalize_strips_japanese_dateline_and_credit() -> None:
    body = "ロシアのラブロフ外相は１８日、日本を含む他国との領土問題は「存在しない」と述べた。"
    assert normalize_text("【モスクワ】" + body + "\n（共同）") == normalize_text(body)


def test_normalize_unifies_typography() -> None:
    assert normalize_text("“Over,” he said — it’s done…\u3000ＮＡＴＯ") == "\"over,\" he said - it's done... nato"


def test_fingerprint_equal_across_whitespace_quote_dateline_and_credit_variants() -> None:
    plain = kyodo()
    variants = [
        plain.replace("\n\n", "\n"),
        "  " + plain.replace(" ", "  ").replace("\n\n", "\n\n\n") + "\n",
        plain.replace('"', "“", 1).replace("'", "’"),
        "TOKYO\n\n" + plain + "\n\n© KYODO",
        "TOKYO (Kyodo) -- " + plain,
    ]
    assert {text_fingerprint(v) for v in variants} == {text_fingerprint(plain)}
    assert len(text_fingerprint(plain)) == 64
    assert text_fingerprint(kyodo(*KYODO[:-1])) != text_fingerprint(plain)


# --- similarity on text variants -----------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        kyodo(*KYODO[:-1]),  # final paragraph dropped
        kyodo(*KYODO[:4]) + "\n\n" + KYODO[4][:40],  # cut mid-sentence
        kyodo(*KYODO, "Kyodo News contributed additional reporting from Moscow and Sapporo."),
        "TOKYO – " + kyodo(),
        "Russian Foreign Minister Sergey Lavrov Photo: AP/Alexander Zemlianichenko\n\n1 Comment\n\nTOKYO\n\n"
        + kyodo()
        + "\n\n© KYODO\n\n©2023 GPlusMedia Inc.\n\nA Cash and Debit Card all in one!\n\nLogin to comment",
    ],
    ids=["dropped-last-paragraph", "truncated", "added-paragraph", "other-dateline", "clutter-around"],
)
def test_copy_variants_are_near_duplicates(variant: str) -> None:
    assert similarity(kyodo(), variant) >= 95
    assert is_near_duplicate(variant, kyodo())


def test_same_event_by_another_agency_is_not_a_near_duplicate() -> None:
    score = similarity(kyodo(), "\n\n".join(JIJI))
    assert score < NEAR_DUPLICATE_THRESHOLD - 30, score


def test_similarity_is_symmetric_and_bounded() -> None:
    a, b = kyodo(), "\n\n".join(JIJI)
    assert similarity(a, b) == similarity(b, a)
    assert similarity(a, a) == 100.0
    assert similarity("", a) == similarity("", "") == 0.0
    assert similarity("Too short.", "Too short.") == 100.0


def test_similarity_reads_only_a_bounded_prefix() -> None:
    """Cost is bounded: nothing past MAX_WORDS (+ slack) of either text changes the score."""
    filler = " ".join(f"w{i}" for i in range(MAX_WORDS + SLACK_WORDS))
    a = filler + " " + "alpha beta gamma " * 20_000
    b = filler + " " + "delta epsilon " * 30_000
    assert similarity(a, b) == 100.0


# --- the replay pages ----------------------------------------------------------------


def replay_page(entry: dict[str, Any]) -> bytes:
    """The replay file behind a manifest URL path (same resolution as tests/test_extract.py)."""
    site, path = SITES / entry["site"], entry["path"].lstrip("/")
    candidates = [site / path / "index.html"] if not path or path.endswith("/") else [
        site / path, site / f"{path}.html", site / path / "index.html"
    ]
    found = next(c for c in candidates if c.is_file())
    return found.read_bytes().replace(b"{{BASE}}", BASE.encode())


@cache
def manifest_texts() -> dict[str, tuple[dict[str, Any], str]]:
    """site:path -> (manifest entry, extracted text) for every manifest article."""
    assert MANIFEST.exists(), f"{MANIFEST} is missing"
    entries = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["article"]
    texts = {}
    for entry in entries:
        article = extract_article(replay_page(entry), BASE + entry["path"])
        assert isinstance(article, Article), (entry["path"], article)
        texts[f"{entry['site']}:{entry['path']}"] = (entry, article.text)
    return texts


def story_of(key: str) -> str:
    """The key of the original a page copies (itself for an original)."""
    entry, _ = manifest_texts()[key]
    copy_of = entry.get("copy_of")
    if not copy_of:
        return key
    for other, (candidate, _) in manifest_texts().items():
        if copy_of in (other, candidate["path"], f"{candidate['site']}{candidate['path']}", candidate.get("id")):
            return other
    raise AssertionError(f"{key}: copy_of {copy_of!r} names no manifest article")


def page_pairs(same_story: bool) -> list[tuple[str, str]]:
    keys = sorted(manifest_texts())
    return [(a, b) for a, b in itertools.combinations(keys, 2) if (story_of(a) == story_of(b)) == same_story]


def test_manifest_kyodo_story_has_japan_today_and_japan_times_copies() -> None:
    copies = {manifest_texts()[k][0]["site"] for k in manifest_texts() if story_of(k) != k}
    assert {"japantoday", "japantimes"} <= copies, copies


# Pinned quality floors (bench/dedupe_similarity.py measures 100.0 for every copy pair and
# at most 29.4 for any other pair of replay pages): raise them, never lower them silently.
COPY_FLOOR = 95.0
OTHER_CEILING = 45.0


def test_manifest_copies_are_near_duplicates_of_original_and_each_other() -> None:
    pairs = page_pairs(same_story=True)
    assert pairs
    for a, b in pairs:
        score = similarity(manifest_texts()[a][1], manifest_texts()[b][1])
        assert score >= COPY_FLOOR, (a, b, score)
        assert is_near_duplicate(manifest_texts()[a][1], manifest_texts()[b][1])


def test_manifest_other_pairs_are_not_near_duplicates() -> None:
    pairs = page_pairs(same_story=False)
    assert pairs
    for a, b in pairs:
        score = similarity(manifest_texts()[a][1], manifest_texts()[b][1])
        assert score <= OTHER_CEILING, (a, b, score)
        assert not is_near_duplicate(manifest_texts()[a][1], manifest_texts()[b][1])


def test_manifest_verbatim_copies_share_the_original_fingerprint() -> None:
    """Japan Today and The Japan Times change dateline, quotes and credit line, not words."""
    for a, b in page_pairs(same_story=True):
        (entry_a, text_a), (entry_b, text_b) = manifest_texts()[a], manifest_texts()[b]
        if entry_a["paragraphs"] == entry_b["paragraphs"]:
            assert text_fingerprint(text_a) == text_fingerprint(text_b), (a, b)


def test_manifest_same_event_other_agency_scores_far_below_threshold() -> None:
    def event(key: str) -> str | None:
        return manifest_texts()[key][0].get("event")

    pairs = [(a, b) for a, b in page_pairs(same_story=False) if event(a) and event(a) == event(b)]
    assert pairs, "no two stories of the same event in the manifest"
    for a, b in pairs:
        assert similarity(manifest_texts()[a][1], manifest_texts()[b][1]) < NEAR_DUPLICATE_THRESHOLD - 30


# --- choosing the original -----------------------------------------------------------

T0 = datetime(2023, 12, 18, 13, 55, tzinfo=timezone.utc)


def test_earliest_published_wins() -> None:
    late_wire = Candidate(id=1, published_at=T0 + timedelta(hours=1), fetched_at=T0, wire=True)
    early_copy = Candidate(id=2, published_at=T0, fetched_at=T0 + timedelta(hours=2))
    assert choose_original([late_wire, early_copy]) == early_copy


def test_unpublished_falls_back_to_fetched_at() -> None:
    undated = Candidate(id=5, published_at=None, fetched_at=T0 - timedelta(minutes=5))
    dated = Candidate(id=1, published_at=T0, fetched_at=T0 + timedelta(minutes=1))
    assert choose_original([dated, undated]) == undated
    fetched_later = Candidate(id=6, published_at=None, fetched_at=T0 + timedelta(minutes=1))
    assert choose_original([dated, fetched_later]) == dated


def test_wire_wins_a_tie_then_lowest_id() -> None:
    copy_ = Candidate(id=1, published_at=T0, fetched_at=T0)
    wire = Candidate(id=9, published_at=T0, fetched_at=T0, wire=True)
    other_wire = Candidate(id=4, published_at=T0, fetched_at=T0, wire=True)
    assert choose_original([copy_, wire]) == wire
    assert choose_original([copy_, wire, other_wire]) == other_wire
    assert choose_original([Candidate(3, T0, T0), Candidate(2, T0, T0)]).id == 2


def test_same_instant_in_another_zone_is_a_tie() -> None:
    jst = timezone(timedelta(hours=9))
    wire = Candidate(id=7, published_at=T0.astimezone(jst), fetched_at=T0, wire=True)
    copy_ = Candidate(id=1, published_at=T0, fetched_at=T0)
    assert choose_original([copy_, wire]) == wire


def test_choose_original_needs_candidates() -> None:
    with pytest.raises(ValueError):
        choose_original([])
