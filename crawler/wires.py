"""Which wire service an article carries, from its dateline, credit lines and byline.

Pure functions over extracted text. The wire service decides the original among copies
(its own article wins a tie) and is shown with search results. Only places a credit can
stand are read — the opening dateline, the last few lines, the authors field — because the
body of a story about Reuters, or a photo credit "Pool via REUTERS", names a wire without
carrying its copy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

# name -> (spellings in credits and bylines, hosts of the wire's own sites)
WIRES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kyodo": (("kyodo", "kyodo news", "共同", "共同通信"), ("kyodonews.net", "kyodonews.jp", "kyodo.co.jp")),
    "jiji": (("jiji", "jiji press", "時事", "時事通信"), ("jiji.com", "jiji.co.jp")),
    "ap": (("ap", "associated press", "the associated press"), ("apnews.com", "ap.org")),
    "reuters": (("reuters", "ロイター"), ("reuters.com",)),
    "afp": (("afp", "afp-jiji", "agence france-presse", "afp jiji"), ("afp.com",)),
}
_BY_SPELLING = {spelling: wire for wire, (spellings, _) in WIRES.items() for spelling in spellings}
_NAMES = "|".join(sorted((re.escape(s) for s in _BY_SPELLING), key=len, reverse=True))

# "TOKYO (Kyodo) --", "Tokyo (Jiji Press)—", "WASHINGTON, Dec 18 (Reuters) -", "PARIS (AFP) -"
_DATELINE = re.compile(rf"^[^\W\d_][\w .,'-]{{0,50}}?\s*\(({_NAMES})\)\s*[-—–:]", re.IGNORECASE)
# "【ワシントン共同】", "【ニューヨーク時事】" (after NFKC the brackets stay)
_DATELINE_JA = re.compile(r"^【[^】]{0,12}?(共同|時事)】")
# A whole trailing line: "(Kyodo)", "© KYODO", "==Kyodo", "REUTERS", "(共同)", "© 2023 AFP", "-- AP"
_CREDIT_LINE = re.compile(
    rf"^(?:[(（]\s*({_NAMES})\s*[)）]|(?:©|\(c\)|copyright)\s*(?:\d{{4}}\s*)?(?:the\s+)?({_NAMES})\b.{{0,40}}"
    rf"|=+\s*({_NAMES})|-+\s*({_NAMES})|({_NAMES}))$",
    re.IGNORECASE,
)
# "By Vladimir Isachenkov of the Associated Press ...": an agency byline at the end
_BYLINE_OF = re.compile(rf"^by [\w .'-]{{2,60}}? of (?:the )?({_NAMES})\b", re.IGNORECASE)
# Reuters' sign-off: "(Reporting by ...; Editing by ...)"
_REUTERS_SIGNOFF = re.compile(r"^\(reporting by .{3,200}\)$", re.IGNORECASE)
TRAILING_LINES = 4


def detect_wire(text: str, authors: Iterable[str] = ()) -> str | None:
    """The wire service named by the dateline, a trailing credit line or the authors, else None."""
    lines = [line.strip() for line in unicodedata.normalize("NFKC", text).splitlines() if line.strip()]
    if lines:
        head = " ".join(lines[:2])[:200]
        found = _DATELINE.match(head) or _DATELINE_JA.match(head)
        if found:
            return _wire_of(found.group(1))
        for line in reversed(lines[-TRAILING_LINES:]):
            if len(line) > 300:
                continue
            found = _CREDIT_LINE.match(line) or _BYLINE_OF.match(line)
            if found:
                return _wire_of(next(g for g in found.groups() if g))
            if _REUTERS_SIGNOFF.match(line):
                return "reuters"
    for author in authors:
        wire = _BY_SPELLING.get(" ".join(unicodedata.normalize("NFKC", author).split()).casefold())
        if wire:
            return wire
    return None


def _wire_of(spelling: str) -> str:
    return _BY_SPELLING[" ".join(spelling.split()).casefold()]


def is_wire_home(wire: str | None, url: str) -> bool:
    """Whether `url` is on one of the wire service's own sites: there the wire is the publisher."""
    if wire is None:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in WIRES[wire][1])
