"""Every page that is not an article is rejected: each page of tests/data/nonarticle/ and each
[[non_article]] of the demo manifest. bench/extraction.py measures the same pages.

Pages the extractor still takes for articles are named in `accepted_today` in
bench/extraction_floor.toml and left out here; delete a line there once its page is rejected.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from crawler.extract import Skipped, extract_article
from tests.test_extract import BASE, load_page, manifest, page_url

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "data" / "nonarticle"
FLOOR = ROOT / "bench" / "extraction_floor.toml"
ACCEPTED_TODAY = frozenset(tomllib.loads(FLOOR.read_text(encoding="utf-8"))["non_article"].get("accepted_today", []))


def nonarticle_pages() -> list[Any]:
    return [pytest.param(p, id=p.name) for p in sorted(PAGES.glob("*.html"))
            if f"nonarticle/{p.name}" not in ACCEPTED_TODAY] or [pytest.param(None, id="no-pages")]


@pytest.mark.parametrize("page", nonarticle_pages())
def test_nonarticle_page_is_skipped(page: Path | None) -> None:
    assert page is not None, f"no page under {PAGES}"
    result = extract_article(page.read_bytes(), url=f"{BASE}/{page.stem}")
    assert isinstance(result, Skipped), f"{page.name} extracted as an article: {result}"


@pytest.mark.parametrize("entry", manifest("non_article"))
def test_demo_non_article_is_skipped(entry: dict[str, Any] | None) -> None:
    assert entry is not None, "the demo manifest lists no [[non_article]]"
    result = extract_article(load_page(entry), page_url(entry))
    assert isinstance(result, Skipped), f"{entry['site']}:{entry['path']} ({entry['kind']}) extracted: {result}"


def test_pages_left_out_exist() -> None:
    """A page renamed or deleted must leave `accepted_today` too, or the list hides nothing."""
    assert not {name for name in ACCEPTED_TODAY if not (PAGES.parent / name).is_file()}
