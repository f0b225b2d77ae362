"""Stories: different reports of one event, grouped. Pure functions over text and numbers.

Two agencies reporting the same interview share its names, places, figures and topic
words, in their own sentences; copy detection (word order) misses them on purpose. An
article is reduced to term weights: content words of its title and opening, sublinear term
frequency, names (capitalised mid-sentence words) NAME_BOOST times. Compared, they are
multiplied by the archive's inverse document frequency, so the words every article of a
long-running topic repeats (Japan, Russia, minister, islands) count for little and the
event's own (Rudenko, Interfax, NATO, Channel One) for much; the cosine of the two TF-IDF
vectors decides. Two reports are one story when published within STORY_WINDOW of each
other AND the cosine reaches STORY_THRESHOLD AND they share MIN_SHARED_TERMS terms.

Precision matters more than recall: the time window is tight, and an article joins the
single best-matching story, never merging two (a chain of loose matches would drift across
events). Calibration: STORY_THRESHOLD, and `python bench/dedupe.py --stories`.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from datetime import timedelta
from functools import lru_cache

from crawler.dedupe import normalize_text

# Reports of one event appear within hours; a day and a half either side leaves room for
# time zones and a late follow-up without reaching next week's instalment of the topic.
STORY_WINDOW = timedelta(hours=36)
# Cosine of TF-IDF vectors. Calibrated on the replay's six originals fed in 300 random
# orders, IDF from the archive as it stood (python bench/dedupe.py --stories): Jiji's and
# Kyodo's reports of Lavrov's 18 December 2023 interview score 0.42-0.50; the same-topic
# articles of 2019, 2021 and 2024, compared regardless of time, 0.34-0.44 while the
# archive holds two or three articles (IDF then knows nothing) and at most 0.37 from five
# on. So text alone separates events only once the archive has some history; STORY_WINDOW
# is what keeps a young archive's stories apart, and the threshold sits at the low end of
# the same-event scores to keep this pair.
STORY_THRESHOLD = 0.40
MIN_SHARED_TERMS = 6
# Terms kept per original (its highest TF-IDF ones) and used to look up candidates.
VECTOR_TERMS = 40
PROBE_TERMS = 12
NAME_BOOST = 2.0
OPENING_TOKENS = 400

_STOPWORDS = frozenset("""
a about above after again against ago all also although am an and another any are around as at be
been before being below between both but by can could did do does doing done down during each
either even ever every few for from further had has have having he her here hers him his how i if
in into is it its itself just last later least less like made make many may me might more most
much must my near neither new next no nor not now of off on once one only or other others our out
over own per said same say says see she should since so some still such than that the their them
then there these they this those though through to told too two under until up upon us very via
was we were what when where whether which while who whom whose why will with within without would
year years yet you your according added also week month day days time times people percent including
monday tuesday wednesday thursday friday saturday sunday january february march april june july
august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
mr mrs ms dr news reported report reports statement statements official officials
""".split())

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[^\W\d_{_CJK}][^\W_{_CJK}]*(?:['-][^\W_{_CJK}]+)*|\d[\d,.]*\d|\d|[{_CJK}]+")
_KANA_ONLY = re.compile(r"^[\u3040-\u309f]+$")
_SENTENCE_END = re.compile(r"[.!?:\"'”»)]$")


def event_terms(title: str, text: str) -> Counter[str]:
    """Weighted content terms of the title and the opening: names count NAME_BOOST times."""
    counts: Counter[str] = Counter()
    for chunk in (title, text):
        raw = unicodedata.normalize("NFKC", chunk)
        tokens = _WORD.findall(raw)[:OPENING_TOKENS]
        previous = "."
        for token in tokens:
            if _is_cjk(token):
                for gram in _cjk_bigrams(token):
                    counts[gram] += 1.0
                previous = token
                continue
            word = _normalized_word(token)
            if len(word) < 3 and not word.isdigit() or word in _STOPWORDS:
                previous = token
                continue
            name = token[0].isupper() and not _SENTENCE_END.search(previous) and chunk is text
            counts[word] += NAME_BOOST if name else 1.0
            previous = token
    return counts


def term_weights(title: str, text: str) -> dict[int, float]:
    """term key (signed 64-bit, for a bigint column) -> 1 + ln(weighted count), for every term."""
    return {term_key(t): 1.0 + math.log(n) for t, n in event_terms(title, text).items()}


def term_key(term: str) -> int:
    key = int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little", signed=True)
    return key or 1  # 0 is the document counter of term_df


def idf(df: int, documents: int) -> float:
    """Smoothed inverse document frequency; an unseen term of an empty archive gets 1."""
    return math.log((1 + documents) / (1 + df)) + 1.0


def tfidf(weights: dict[int, float], df: dict[int, int], documents: int) -> dict[int, float]:
    """Unit-length TF-IDF vector."""
    vector = {t: w * idf(df.get(t, 0), documents) for t, w in weights.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {t: v / norm for t, v in vector.items()}


def top_terms(weights: dict[int, float], df: dict[int, int], documents: int, n: int) -> dict[int, float]:
    """The `n` terms of highest TF-IDF, with their raw weights (IDF changes; weights do not)."""
    ranked = sorted(weights, key=lambda t: (-weights[t] * idf(df.get(t, 0), documents), t))
    return {t: weights[t] for t in ranked[:n]}


def cosine(a: dict[int, float], b: dict[int, float]) -> float:
    small, large = sorted((a, b), key=len)
    return sum(w * large.get(t, 0.0) for t, w in small.items())


def same_story(score: float, shared: int) -> bool:
    return score >= STORY_THRESHOLD and shared >= MIN_SHARED_TERMS


# normalize_text is written for whole texts (datelines, credit lines) and costs ~3 µs for one word;
# an article's ~800 tokens are mostly words seen before, in it or in earlier articles.
_normalized_word = lru_cache(maxsize=1 << 16)(normalize_text)


def _is_cjk(token: str) -> bool:
    return "\u3040" <= token[0] <= "\ufaff"


def _cjk_bigrams(run: str) -> list[str]:
    """Character bigrams of a CJK run, without hiragana-only ones (particles, endings)."""
    grams = [run[i:i + 2] for i in range(len(run) - 1)] or [run]
    return [g for g in grams if not _KANA_ONLY.match(g)]
