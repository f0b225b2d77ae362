"""Extraction quality and speed against pages no one here wrote, with a pinned quality floor.

    python bench/extraction.py [--data DIR] [--rounds N] [--pages] [--floor bench/extraction_floor.toml]

Downloads the newspaper4k 0.9.6 source distribution with pip into a temporary directory
(nothing of it is kept or committed) and reads its `tests/data/html/*.html` pages with the
expected article text in `tests/data/txt/*.txt` (`--data DIR` reuses an unpacked copy).
Every extractor gets the same page bytes, in the same process:

- `wirewatch`: `crawler.extract.extract_article` (metadata, rules, fallback and all);
- `trafilatura`: bare `trafilatura.extract` with its defaults;
- `trafilatura precision`: the same with `favor_precision=True`;
- `readability-lxml`: `Document(html).summary()`, as text.

Scores are token-level precision, recall and F1 of the text, per page, averaged over the
pages (a page with no output scores 0). Tokens are words, and single characters in scripts
written without spaces (Chinese, Japanese, Thai, Burmese, ...), so every language weighs
alike. Speed is documents per second over `--rounds` timed passes after the scoring pass,
the extractors taking turns on each page.

Exits 1 when wirewatch's scores fall below `bench/extraction_floor.toml`: raise the floor
when extraction improves, never lower it to make a change pass.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import trafilatura
from readability import Document

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.extract import Article, extract_article  # noqa: E402

SDIST = "newspaper4k==0.9.6"
FLOOR = Path(__file__).resolve().parent / "extraction_floor.toml"

# Scripts written without spaces between words: one token per character.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
)
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def tokens(text: str) -> Counter[str]:
    return Counter(t.casefold() for t in _TOKEN.findall(text))


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


def score(expected: str, got: str) -> Score:
    want, have = tokens(expected), tokens(got)
    common = sum((want & have).values())
    if not common:
        return Score(0.0, 0.0, 0.0)
    p, r = common / sum(have.values()), common / sum(want.values())
    return Score(p, r, 2 * p * r / (p + r))


# --- the extractors ------------------------------------------------------------------


def run_wirewatch(html: bytes) -> str:
    result = extract_article(html)
    return result.text if isinstance(result, Article) else ""


def run_trafilatura(html: bytes) -> str:
    return trafilatura.extract(html) or ""


def run_trafilatura_precision(html: bytes) -> str:
    return trafilatura.extract(html, favor_precision=True) or ""


def run_readability(html: bytes) -> str:
    summary = Document(html).summary(html_partial=True)
    return lxml.html.fragment_fromstring(summary, create_parent="div").text_content() if summary.strip() else ""


EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "wirewatch": run_wirewatch,
    "trafilatura": run_trafilatura,
    "trafilatura precision": run_trafilatura_precision,
    "readability-lxml": run_readability,
}


# --- data ----------------------------------------------------------------------------


def download(into: Path) -> Path:
    """Unpack only the sdist's tests/data/{html,txt} into `into`; returns the data directory."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    SDIST, "-d", str(into)], check=True)
    archive = next(into.glob("newspaper4k-*.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if re.search(r"/tests/data/(html|txt)/[^/]+$", m.name)]
        tar.extractall(into, members=members, filter="data")
    return next(into.glob("newspaper4k-*/tests/data"))


def pages(data: Path) -> list[tuple[str, bytes, str]]:
    """(name, page bytes, expected text) for every page that has an expected text."""
    found = []
    for html in sorted((data / "html").glob("*.html")):
        txt = data / "txt" / f"{html.stem}.txt"
        if txt.is_file():
            found.append((html.stem, html.read_bytes(), txt.read_text(encoding="utf-8")))
    return found


# --- running -------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    name: str
    precision: float
    recall: float
    f1: float
    docs_per_second: float
    per_page: dict[str, Score]


def measure_all(corpus: list[tuple[str, bytes, str]], rounds: int) -> list[Result]:
    """Score every extractor, then time them interleaved page by page, so that load from
    other processes on the machine weighs on each of them alike."""
    per_page = {name: {page: score(expected, run(html)) for page, html, expected in corpus}  # also the warm-up
                for name, run in EXTRACTORS.items()}
    spent = dict.fromkeys(EXTRACTORS, 0.0)
    for _ in range(rounds):
        for _, html, _ in corpus:
            for name, run in EXTRACTORS.items():
                started = time.perf_counter()
                run(html)
                spent[name] += time.perf_counter() - started
    return [
        Result(
            name=name,
            precision=statistics.fmean(s.precision for s in per_page[name].values()),
            recall=statistics.fmean(s.recall for s in per_page[name].values()),
            f1=statistics.fmean(s.f1 for s in per_page[name].values()),
            docs_per_second=rounds * len(corpus) / spent[name],
            per_page=per_page[name],
        )
        for name in EXTRACTORS
    ]


def table(results: list[Result], pages_count: int) -> str:
    base = next(r for r in results if r.name == "trafilatura").docs_per_second
    lines = [
        f"{pages_count} pages of the newspaper4k 0.9.6 test data",
        "",
        "| extractor | precision | recall | F1 | docs/s | speed vs trafilatura |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r.name} | {r.precision:.3f} | {r.recall:.3f} | {r.f1:.3f} | "
                     f"{r.docs_per_second:.1f} | {r.docs_per_second / base:.2f}× |")
    return "\n".join(lines)


def check_floor(result: Result, floor_file: Path) -> list[str]:
    floor = tomllib.loads(floor_file.read_text(encoding="utf-8"))["wirewatch"]
    return [f"{key} {getattr(result, key):.3f} is below the floor {floor[key]:.3f} ({floor_file})"
            for key in ("precision", "recall", "f1") if getattr(result, key) < floor[key]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="an unpacked newspaper4k tests/data directory (skips the download)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the pages (default 3)")
    parser.add_argument("--pages", action="store_true", help="also print F1 per page and extractor")
    parser.add_argument("--floor", type=Path, default=FLOOR, help=f"quality floor (default {FLOOR.name})")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ww-bench-") as tmp:
        data = args.data or download(Path(tmp))
        corpus = pages(data)
    if not corpus:
        print(f"no page with an expected text under {data}", file=sys.stderr)
        return 1
    results = measure_all(corpus, max(1, args.rounds))
    print(table(results, len(corpus)))
    if args.pages:
        print("\n| page | " + " | ".join(r.name for r in results) + " |")
        print("|---|" + "---|" * len(results))
        for page, _, _ in corpus:
            print(f"| {page} | " + " | ".join(f"{r.per_page[page].f1:.3f}" for r in results) + " |")
    failures = check_floor(results[0], args.floor)
    for failure in failures:
        print(f"FAIL: wirewatch {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
