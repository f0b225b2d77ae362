"""Is this article a copy of one we already have, and which copy is the original?

Pure functions over extracted text. `text_fingerprint` is meant for an indexed column
(identical copies in one lookup); `similarity` for the handful of candidates such a lookup
or a time window yields, never for a scan of the archive.

Wire copy is republished word for word under other headlines, with the outlet's own
dateline and credit line, sometimes cut short or without its last paragraph. So the text
is normalised first (`normalize_text`), and `similarity` asks how much of the shorter
text appears, in order, at the start of the longer one: the word-level longest common
subsequence of bounded prefixes, divided by the shorter prefix's length. Two reports of
the same event by different agencies share names and facts but not word order, and score
far lower (see `bench/dedupe_similarity.py` for the measured figures).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from rapidfuzz.distance import LCSseq

# Score (0..100) at or above which two texts are the same story. On the replay pages
# (bench/dedupe_similarity.py) copies score 99.3-100 even cut at 60% or without their last
# paragraph, the same event by two agencies (Jiji/Kyodo) 29.4, unrelated stories 14-24.
# 80 leaves a copy room for one word in five edited, and stays far above chance overlap.
NEAR_DUPLICATE_THRESHOLD = 80.0

# Words of the shorter text compared; the opening paragraphs settle the question. The LCS
# of 600 x 680 words takes ~50 µs in rapidfuzz; normalising both texts dominates a pair's
# ~0.6 ms.
MAX_WORDS = 600
# Extra words of the longer text allowed before the shorter one's content: absorbs a
# photo caption, byline or clutter line kept in one copy only.
SLACK_WORDS = 80
# Below this many words a text is too short to call anything a copy of it.
MIN_WORDS = 12
# Raw characters read per text, cut before normalising so that a 1 MB body costs what a
# 10 kB one does; comfortably more than MAX_WORDS + SLACK_WORDS English words.
MAX_CHARS = 10_000

_TYPOGRAPHY = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
}
# A regex, not str.translate: translate with a non-ASCII table costs ~120 µs per kB.
_TYPOGRAPHY_RE = re.compile("|".join(_TYPOGRAPHY))

# "TOKYO (Kyodo) -- ", "Tokyo (Jiji Press)—", "WASHINGTON, Dec 18 (Reuters) - ":
# a place, optionally a date, an agency in parentheses, a dash (dashes are unified first).
_DATELINE_AGENCY = re.compile(r"^[A-Z][A-Za-z .'-]{1,40}?(?:,[A-Za-z0-9 .]{1,20})?\s*\([A-Za-z .]{2,30}\)\s*-+\s*")
# "MOSCOW - ", "NEW YORK -- ", "SEOUL: " (upper-case place, then a dash or colon)
_DATELINE_DASH = re.compile(r"^[A-Z][A-Z .,'-]{1,40}?\s*(?:-{1,2}|:)\s+")
# "【東京】" (after NFKC, which leaves these brackets alone)
_DATELINE_JA = re.compile(r"^【[^】]{1,12}】\s*")
# "TOKYO Russian Foreign Minister ..." (upper-case place alone, as in a separate paragraph)
_DATELINE_BARE = re.compile(r"^[A-Z]{3,}(?:[ .'-][A-Z]{2,})*\s+(?=[A-Z\"'][a-z])")
# Trailing credit lines.
_CREDIT_LINE = re.compile(
    r"^(?:(?:©|\(c\)|copyright\b).{0,80}"  # "© KYODO", "©2023 GPlusMedia Inc."
    r"|=+\s*[\w ]{1,30}"  # "==Kyodo"
    r"|\((?:kyodo|jiji(?: press)?|reuters|ap|afp|xinhua|yonhap|共同|時事|ロイター)\)"  # "(Reuters)", "（共同）"
    r"|\((?:reporting|writing|editing|additional reporting) by [^()]{0,200}\))$",
    re.IGNORECASE,
)


def normalize_text(text: str) -> str:
    """Canonical form for comparison: NFKC, casefolded, plain quotes/dashes, one space,
    without the opening dateline and the trailing wire credit lines."""
    text = _TYPOGRAPHY_RE.sub(lambda m: _TYPOGRAPHY[m.group()], unicodedata.normalize("NFKC", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    while lines and _CREDIT_LINE.match(lines[-1]):
        lines.pop()
    flat = " ".join(lines)
    for pattern in (_DATELINE_AGENCY, _DATELINE_DASH, _DATELINE_JA, _DATELINE_BARE):
        stripped = pattern.sub("", flat, count=1)
        if stripped != flat:
            flat = stripped
            break
    return flat.casefold()


def text_fingerprint(text: str) -> str:
    """Hex SHA-256 of `normalize_text(text)`: equal for copies that differ only in layout,
    quotes, dateline or credit line."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


# Latin-script words, or single kana/kanji: Japanese has no spaces, and a whole clause
# as one "word" would make any small edit a total mismatch.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def tokens(text: str) -> list[str]:
    """The normalised opening of a text (MAX_CHARS raw characters) as words and CJK characters."""
    return _TOKEN.findall(normalize_text(text[:MAX_CHARS]))


def similarity(a: str, b: str) -> float:
    """0..100: share of the shorter text's opening words found, in order, in the opening
    of the longer. Symmetric; cost bounded by MAX_WORDS whatever the article length."""
    wa, wb = tokens(a), tokens(b)
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    short = short[:MAX_WORDS]
    if len(short) < MIN_WORDS:
        return 100.0 if short and short == long_ else 0.0
    long_ = long_[: len(short) + SLACK_WORDS]
    return 100.0 * LCSseq.similarity(short, long_) / len(short)


def is_near_duplicate(a: str, b: str) -> bool:
    return similarity(a, b) >= NEAR_DUPLICATE_THRESHOLD


@dataclass(frozen=True)
class Candidate:
    id: int
    published_at: datetime | None
    fetched_at: datetime
    wire: bool = False


def choose_original(candidates: Sequence[Candidate]) -> Candidate:
    """The copy to keep as original: earliest published (fetched, when the page states no
    date), then a wire service's, then the lowest id. Raises ValueError when empty."""
    if not candidates:
        raise ValueError("choose_original() needs at least one candidate")
    return min(candidates, key=_original_rank)


def _original_rank(candidate: Candidate) -> tuple[datetime, bool, int]:
    when = candidate.published_at or candidate.fetched_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when, not candidate.wire, candidate.id)
