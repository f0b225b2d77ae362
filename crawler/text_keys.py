"""What linking reads of an article's own words, computed once, anywhere: pure, no database.

`crawler.linking.decide` needs an article's text fingerprint, wire service, MinHash band keys
and story term weights; none of them depends on the archive. An extraction worker computes
them right after extracting (`article_keys`, passed to crawler.extract_worker by name), in
parallel with the process that stores the pages before it; `decide` computes them itself when
they are not given. Either way they are the same values: the same functions over the same
title, text and authors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler import minhash, stories
from crawler.dedupe import text_fingerprint
from crawler.wires import detect_wire

if TYPE_CHECKING:
    from crawler.extract import Article


@dataclass(frozen=True)
class TextKeys:
    text_hash: str  # crawler.dedupe.text_fingerprint
    wire_service: str | None  # crawler.wires.detect_wire
    band_keys: list[int]  # crawler.minhash.text_band_keys
    term_weights: dict[int, float]  # crawler.stories.term_weights


def text_keys(title: str, text: str, authors: Iterable[str]) -> TextKeys:
    return TextKeys(text_hash=text_fingerprint(text), wire_service=detect_wire(text, authors),
                    band_keys=minhash.text_band_keys(text), term_weights=stories.term_weights(title, text))


def article_keys(article: Article) -> TextKeys:
    """The keys of an extracted article, as crawler.ingest builds its linking facts from it."""
    return text_keys(article.title, article.text, tuple(article.authors))
