"""Extraction quality and speed, wirewatch against bare trafilatura, set by set, with a
pinned quality floor.

    python bench/extraction.py                      # all three sets, tables, summary (~70 s)
    python bench/extraction.py --sets fundus,non-article --rounds 1 --pages
    python bench/extraction.py --data /tmp/n4k/newspaper4k-0.9.6/tests/data --json

Sets (`--sets`, comma-separated, default all):

- `fundus`: 87 real article pages from 29 countries with their expected text and metadata
  (`--fundus DIR`, default ../shared/devsets/fundus from the repository root).
- `newspaper4k`: the `tests/data/html` pages of the newspaper4k 0.9.6 source distribution
  with the expected text in `tests/data/txt`, downloaded with pip into a temporary directory
  (nothing kept; `--data DIR` reuses an unpacked copy). The only network access.
- `non-article`: pages that are not articles and must be rejected: every `[[non_article]]`
  of demo/sites/manifest.toml and every page of tests/data/nonarticle/. Bare trafilatura
  has no notion of a non-article: what it shows is how many it returns text for.

Every extractor gets the same page bytes and URL, in the same process:

- `wirewatch`: `crawler.extract.extract_article` (metadata, rules, fallback and all);
- `trafilatura`: bare `trafilatura.extract(html, url=url)` with its defaults (comments
  included, hence a little under ../shared/tools/score_devset.py's figure on Fundus);
- `trafilatura precision`: the same with `favor_precision=True`;
- `readability`: trafilatura's port of readability-lxml, `Document(tree).summary()`, as text
  (the parse included in its time).

Text scores are the Zyte article-extraction benchmark's: 4-word shingles, precision and
recall per page, averaged (a page with no output counts in recall as 0 and not in
precision), F1 from the two averages; a Han, kana or Hangul character is one word. For
newspaper4k the older token scores (bag of words, per-page F1 averaged) are printed too:
its floor is pinned on them. Metadata, where the set has it (Fundus), over all pages, a
skipped page counting as wrong: title equal after casefolding and collapsing spaces,
publication time within 60 s, authors the same set of names. trafilatura's metadata comes
from `bare_extraction(..., with_metadata=True)` in an untimed pass; it gives dates to the
day only. Speed is documents per second of extraction alone over `--rounds` passes after the
scoring pass (the warm-up), the extractors taking turns on each page, in rotating order.

Exits 1 when wirewatch falls below bench/extraction_floor.toml in a set that was run: a
score under its floor, an article skipped, a non-article accepted that `accepted_today`
does not name. The summary says when a page named there is rejected, so the floor rises.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.readability_lxml import Document

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.extract import Article, extract_article  # noqa: E402

SDIST = "newspaper4k==0.9.6"
FLOOR = ROOT / "bench" / "extraction_floor.toml"
FUNDUS = ROOT.parent / "shared" / "devsets" / "fundus"
SITES = ROOT / "demo" / "sites"
NONARTICLE = ROOT / "tests" / "data" / "nonarticle"
BASE = "http://127.0.0.1:8000"  # what the demo pages' {{BASE}} stands for, as in the tests
SETS = ("fundus", "newspaper4k", "non-article")
# readability logs every page it cannot parse; that page just gives no text.
logging.getLogger("trafilatura.readability_lxml").setLevel(logging.CRITICAL)

# --- scores --------------------------------------------------------------------------

# Shingle words: a character of a script without spaces is one word (as Zyte counts CJK).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
# Bag-of-words tokens of the older score, Thai, Lao, Myanmar and Khmer split by character too.
_UNSPACED = _CJK + "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_TOKEN = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")


def shingles(text: str, size: int = 4) -> Counter[tuple[str, ...]]:
    """A text shorter than `size` words is one shingle, as in Zyte's `_ngrams`."""
    words = _WORD.findall(text)
    if len(words) < size:
        return Counter([tuple(words)] if words else [])
    return Counter(tuple(words[i:i + size]) for i in range(len(words) - size + 1))


def shingle_score(expected: str, got: str) -> tuple[float | None, float]:
    """(precision, recall) of one page; precision is None when nothing came out."""
    want, have = shingles(expected), shingles(got)
    common = sum((want & have).values())
    precision = common / sum(have.values()) if have else None
    return precision, common / sum(want.values()) if want else 0.0


def token_f1(expected: str, got: str) -> tuple[float, float, float]:
    want = Counter(t.casefold() for t in _TOKEN.findall(expected))
    have = Counter(t.casefold() for t in _TOKEN.findall(got))
    if not (common := sum((want & have).values())):
        return 0.0, 0.0, 0.0
    p, r = common / sum(have.values()), common / sum(want.values())
    return p, r, 2 * p * r / (p + r)


def norm(value: object) -> str:
    return " ".join(str(value or "").split()).casefold()


def instant(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


# --- pages and extractors -------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    html: bytes
    url: str | None
    expected: str | None = None  # the article text; None on a page that is not an article
    meta: dict | None = None  # expected "title", "authors", "published"


Meta = tuple[str | None, tuple[str, ...], object]  # title, authors, publication time


@dataclass(frozen=True)
class Output:
    text: str = ""
    skipped: str | None = None  # wirewatch's reason the page is not an article
    meta: Meta | None = None  # wirewatch's, when it returns an article


def run_wirewatch(html: bytes, url: str | None) -> Output:
    result = extract_article(html, url=url)
    if isinstance(result, Article):
        return Output(result.text, meta=(result.title, result.authors, result.published_at))
    return Output(skipped=result.reason)


def run_trafilatura(html: bytes, url: str | None) -> Output:
    return Output(trafilatura.extract(html, url=url) or "")


def run_trafilatura_precision(html: bytes, url: str | None) -> Output:
    return Output(trafilatura.extract(html, url=url, favor_precision=True) or "")


def run_readability(html: bytes, url: str | None) -> Output:
    try:
        summary = Document(lxml.html.document_fromstring(html)).summary()
    except (lxml.etree.LxmlError, ValueError):  # e.g. a control character in an attribute
        return Output()
    text = lxml.html.fromstring(summary).text_content() if summary.strip() else ""
    return Output(text.strip())


EXTRACTORS: dict[str, Callable[[bytes, str | None], Output]] = {
    "wirewatch": run_wirewatch,
    "trafilatura": run_trafilatura,
    "trafilatura precision": run_trafilatura_precision,
    "readability": run_readability,
}


def metadata(name: str, page: Page, output: Output) -> Meta | None:
    """(title, authors, published) as `name` found them; None where it found none or gives none."""
    if name == "wirewatch":
        return output.meta
    if name == "trafilatura":  # an extra, untimed call: extract() returns text alone
        doc = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        authors = tuple(a.strip() for a in (doc.author or "").split(";") if a.strip()) if doc else ()
        return (doc.title, authors, doc.date) if doc else None
    return None


HAS_METADATA = ("wirewatch", "trafilatura")


# --- sets ----------------------------------------------------------------------------


def fundus_pages(devset: Path) -> list[Page]:
    pages = []
    for gold in sorted(devset.glob("*/*.json")):
        expected = json.loads(gold.read_text(encoding="utf-8"))
        with gzip.open(gold.with_suffix(".html.gz"), "rb") as f:
            pages.append(Page(f"{gold.parent.name}/{gold.stem}", f.read(), expected["url"], expected["articleBody"],
                              {k: expected.get(k) for k in ("title", "authors", "published")}))
    return pages


def download(into: Path) -> Path:
    """Unpack only the sdist's tests/data/{html,txt} into `into`; returns the data directory."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    SDIST, "-d", str(into)], check=True)
    archive = next(into.glob("newspaper4k-*.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if re.search(r"/tests/data/(html|txt)/[^/]+$", m.name)]
        tar.extractall(into, members=members, filter="data")
    return next(into.glob("newspaper4k-*/tests/data"))


def newspaper4k_pages(data: Path) -> list[Page]:
    """Every page that has an expected text; the test data gives no URLs."""
    return [Page(html.stem, html.read_bytes(), None, txt.read_text(encoding="utf-8"))
            for html in sorted((data / "html").glob("*.html"))
            if (txt := data / "txt" / f"{html.stem}.txt").is_file()]


def replay_file(site: str, path: str) -> Path:
    """The demo replay file behind a URL path, as the replay server and tests/test_extract.py map it."""
    root, path = SITES / site, path.lstrip("/")
    if not path or path.endswith("/"):
        return root / path / "index.html"
    for candidate in (root / path, root / f"{path}.html", root / path / "index.html"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no replay file for {site}:/{path}")


def non_article_pages() -> list[Page]:
    entries = tomllib.loads((SITES / "manifest.toml").read_text(encoding="utf-8")).get("non_article", [])
    demo = [Page(f"demo {e['site']}:{e['path']} ({e['kind']})",
                 replay_file(e["site"], e["path"]).read_bytes().replace(b"{{BASE}}", BASE.encode()),
                 BASE + e["path"]) for e in entries]
    ours = [Page(f"nonarticle/{p.name}", p.read_bytes(), f"{BASE}/{p.stem}") for p in sorted(NONARTICLE.glob("*.html"))]
    return demo + ours


# --- running -------------------------------------------------------------------------


@dataclass
class Row:
    extractor: str
    docs_per_second: float = 0.0
    f1: float | None = None  # shingles
    precision: float | None = None
    recall: float | None = None
    token: dict[str, float] | None = None  # newspaper4k's bag-of-words scores
    metadata: dict[str, float] | None = None  # share right: title, time, authors
    skipped: dict[str, str] = field(default_factory=dict)  # page -> reason (wirewatch)
    returned_text: list[str] = field(default_factory=list)  # non-article pages with text out
    accepted: dict[str, str] = field(default_factory=dict)  # non-article page -> title (wirewatch)
    per_page: dict[str, tuple[float | None, float]] = field(default_factory=dict)  # page -> shingle P, R


def measure(pages: list[Page], rounds: int, token: bool = False) -> list[Row]:
    """Score every extractor on every page (which also warms them up), then time them."""
    rows = []
    for name, run in EXTRACTORS.items():
        row, outputs = Row(name), {page.name: run(page.html, page.url) for page in pages}
        row.skipped = {p: o.skipped for p, o in outputs.items() if o.skipped}
        articles = [page for page in pages if page.expected is not None]
        if articles:
            score_text(row, articles, outputs, token)
        else:
            row.returned_text = [page.name for page in pages if outputs[page.name].text.strip()]
            row.accepted = {p: o.meta[0] for p, o in outputs.items() if o.meta}
        if name in HAS_METADATA and (with_meta := [page for page in articles if page.meta]):
            row.metadata = score_metadata(with_meta, [metadata(name, page, outputs[page.name]) for page in with_meta])
        rows.append(row)
    for row, docs_per_second in zip(rows, timed(pages, rounds)):
        row.docs_per_second = docs_per_second
    return rows


def score_text(row: Row, articles: list[Page], outputs: dict[str, Output], token: bool) -> None:
    scores = {page.name: shingle_score(page.expected or "", outputs[page.name].text) for page in articles}
    given = [p for p, _ in scores.values() if p is not None]
    row.precision = statistics.fmean(given) if given else 0.0
    row.recall = statistics.fmean(r for _, r in scores.values())
    row.f1 = 2 * row.precision * row.recall / (row.precision + row.recall) if row.precision + row.recall else 0.0
    row.per_page = scores
    if token:
        scored = [token_f1(page.expected or "", outputs[page.name].text) for page in articles]
        row.token = {k: statistics.fmean(t[i] for t in scored) for i, k in enumerate(("precision", "recall", "f1"))}


def score_metadata(pages: list[Page], found: list[Meta | None]) -> dict[str, float]:
    """Share of all `pages` with each field right; a page without output counts as wrong."""
    right: Counter[str] = Counter()
    for page, got in zip(pages, found):
        if got and page.meta:
            title, authors, published = got
            want, have = instant(page.meta["published"]), instant(published)
            right["title"] += norm(title) == norm(page.meta["title"])
            right["time"] += bool(want and have and abs((want - have).total_seconds()) <= 60)
            right["authors"] += {norm(a) for a in page.meta["authors"] or ()} == {norm(a) for a in authors}
    return {k: right[k] / len(pages) for k in ("title", "time", "authors")}


def timed(pages: list[Page], rounds: int) -> list[float]:
    """Docs/s of each extractor, in EXTRACTORS order. They take turns on each page, the first
    to go rotating, so that load from other processes on the machine (and whatever one
    leaves in the CPU caches) weighs on each of them alike."""
    spent = dict.fromkeys(EXTRACTORS, 0.0)
    names = list(EXTRACTORS)
    for _ in range(rounds):
        for i, page in enumerate(pages):
            for name in names[i % len(names):] + names[:i % len(names)]:
                started = time.perf_counter()
                EXTRACTORS[name](page.html, page.url)
                spent[name] += time.perf_counter() - started
    return [rounds * len(pages) / spent[name] if spent[name] else 0.0 for name in names]


# --- reporting -----------------------------------------------------------------------


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _pct(meta: dict[str, float] | None, key: str) -> str:
    return "—" if meta is None else f"{meta[key]:.0%}"


def table(set_name: str, heading: str, rows: list[Row], pages: list[Page], per_page: bool) -> str:
    base = rows[1].docs_per_second or 1.0  # trafilatura's
    speed = {r.extractor: f"{r.docs_per_second:.1f} | {r.docs_per_second / base:.2f}×" for r in rows}
    lines = [f"## {set_name}: {heading}", ""]
    if set_name == "non-article":
        lines += ["| extractor | rejected as not an article | returned text | docs/s | speed vs trafilatura |",
                  "|---|---|---|---|---|"]
        for r in rows:
            rejected = f"{len(r.skipped)}/{len(pages)}" if r.extractor == "wirewatch" else "— (no such notion)"
            lines.append(f"| {r.extractor} | {rejected} | {len(r.returned_text)}/{len(pages)} | {speed[r.extractor]} |")
        ww = rows[0]
        lines += ["", f"wirewatch accepts as articles: {len(ww.accepted) or 'none'}"]
        lines += [f"  ACCEPTED {p}: title {t!r}" for p, t in ww.accepted.items()]
        lines += [f"wirewatch rejects: {len(ww.skipped)}"] + [f"  {p}: {why}" for p, why in ww.skipped.items()]
        return "\n".join(lines)

    token = set_name == "newspaper4k"
    columns = ["extractor", "F1", "precision", "recall"]
    columns += ["token F1", "token P", "token R"] if token else []
    columns += ["skipped"] + ([] if token else ["title", "time", "authors"]) + ["docs/s", "speed vs trafilatura"]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [r.extractor, _f(r.f1), _f(r.precision), _f(r.recall)]
        if token:
            cells += [_f(r.token[k]) if r.token else "—" for k in ("f1", "precision", "recall")]
        cells.append(str(len(r.skipped)) if r.extractor == "wirewatch" else "—")
        if not token:
            cells += [_pct(r.metadata, k) for k in ("title", "time", "authors")]
        lines.append("| " + " | ".join(cells) + f" | {speed[r.extractor]} |")
    lines += ["", "F1, precision, recall: 4-word shingles (Zyte). " + (
        "token: bag of words, per-page F1 averaged (the floor's metric)." if token else
        "title, time, authors: share of all pages right (trafilatura's from bare_extraction).")]
    skipped = rows[0].skipped
    lines.append(f"wirewatch skips as not an article: {len(skipped) or 'none'}")
    lines += [f"  SKIPPED {p}: {why}" for p, why in skipped.items()]
    if per_page:
        lines += ["", "| page (shingle precision/recall, worst recall against trafilatura first) | "
                  + " | ".join(r.extractor for r in rows) + " |", "|---|" + "---|" * len(rows)]
        for page in sorted(pages, key=lambda p: rows[0].per_page[p.name][1] - rows[1].per_page[p.name][1]):
            lines.append(f"| {page.name} | " + " | ".join(
                f"{_f(r.per_page[page.name][0])}/{r.per_page[page.name][1]:.3f}" for r in rows) + " |")
    return "\n".join(lines)


def check_floor(set_name: str, rows: list[Row], floor_file: Path) -> list[str]:
    floors = tomllib.loads(floor_file.read_text(encoding="utf-8"))
    floor, ww = floors.get(set_name.replace("-", "_"), {}), rows[0]
    got: dict[str, float] = {}
    if set_name == "newspaper4k" and ww.token:
        got = {f"token_{k}": v for k, v in ww.token.items()}
    elif set_name == "fundus":
        got = {"f1": ww.f1 or 0.0, "precision": ww.precision or 0.0, "recall": ww.recall or 0.0}
    failures = [f"{set_name}: wirewatch {k} {got[k]:.3f} is below the floor {floor[k]:.3f}"
                for k in got if k in floor and got[k] < floor[k]]
    if "max_skipped" in floor and len(ww.skipped) > floor["max_skipped"]:
        failures.append(f"{set_name}: wirewatch skips {len(ww.skipped)} article pages, the floor allows "
                        f"{floor['max_skipped']}: {', '.join(ww.skipped)}")
    if set_name == "non-article":
        allowed = set(floor.get("accepted_today", ()))
        failures += [f"{set_name}: wirewatch accepts {p} as an article (title {t!r})"
                     for p, t in ww.accepted.items() if p not in allowed]
    return failures


def floor_news(set_name: str, rows: list[Row], floor_file: Path) -> list[str]:
    """Pages the floor still lets through that are now rejected: time to raise it."""
    if set_name != "non-article":
        return []
    allowed = tomllib.loads(floor_file.read_text(encoding="utf-8")).get("non_article", {}).get("accepted_today", [])
    return [f"{p} is now rejected: delete it from accepted_today in {floor_file.name}"
            for p in allowed if p not in rows[0].accepted]


def summary_line(set_name: str, rows: list[Row], pages: list[Page]) -> str:
    ww, tr = rows[0], rows[1]
    speed = f"{ww.docs_per_second:.1f} docs/s, {ww.docs_per_second / (tr.docs_per_second or 1):.2f}× trafilatura's"
    if set_name == "non-article":
        return (f"{set_name:12} wirewatch rejects {len(ww.skipped)} of {len(pages)} pages that are not articles; "
                f"trafilatura returns text for {len(tr.returned_text)} of them; {speed}")
    line = (f"{set_name:12} wirewatch shingle F1 {ww.f1:.3f} vs trafilatura {tr.f1:.3f} ({ww.f1 - tr.f1:+.3f}), "
            f"P {ww.precision:.3f} R {ww.recall:.3f}; {len(ww.skipped)} of {len(pages)} skipped; {speed}")
    if ww.token:
        line += f"; token P {ww.token['precision']:.3f} R {ww.token['recall']:.3f} F1 {ww.token['f1']:.3f}"
    if ww.metadata:
        line += f"; metadata right: title {ww.metadata['title']:.0%}, time {ww.metadata['time']:.0%}, " \
                f"authors {ww.metadata['authors']:.0%}"
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of {', '.join(SETS)} (default all)")
    parser.add_argument("--fundus", type=Path, default=FUNDUS,
                        help="the Fundus dev set (default ../shared/devsets/fundus)")
    parser.add_argument("--data", type=Path, help="an unpacked newspaper4k tests/data directory (skips the download)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over each set (default 3)")
    parser.add_argument("--pages", action="store_true", help="also print shingle P/R per page and extractor")
    parser.add_argument("--floor", type=Path, default=FLOOR, help=f"quality floor (default {FLOOR.name})")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sets.split(",") if s.strip()]
    if unknown := set(chosen) - set(SETS):
        parser.error(f"--sets: unknown {', '.join(sorted(unknown))} (known: {', '.join(SETS)})")

    loaded: dict[str, tuple[str, list[Page]]] = {}
    for set_name in (s for s in SETS if s in chosen):
        if set_name == "fundus":
            pages = fundus_pages(args.fundus)
            countries = len({p.name.split("/")[0] for p in pages})
            shown = os.path.relpath(args.fundus, ROOT)
            loaded[set_name] = (f"{len(pages)} article pages from {countries} countries ({shown})", pages)
        elif set_name == "newspaper4k":
            with tempfile.TemporaryDirectory(prefix="ww-bench-") as tmp:
                pages = newspaper4k_pages(args.data or download(Path(tmp)))
            loaded[set_name] = (f"{len(pages)} pages of the newspaper4k 0.9.6 test data", pages)
        else:
            pages = non_article_pages()
            demo = sum(p.name.startswith("demo ") for p in pages)
            loaded[set_name] = (f"{len(pages)} pages that are not articles ({demo} demo [[non_article]], "
                                f"{len(pages) - demo} in tests/data/nonarticle)", pages)
        if not pages:
            print(f"{set_name}: no pages found", file=sys.stderr)
            return 1

    results: dict[str, list[Row]] = {}
    failures: list[str] = []
    news: list[str] = []
    for set_name, (heading, pages) in loaded.items():
        print(f"measuring {set_name} ({len(pages)} pages)...", file=sys.stderr)
        rows = measure(pages, max(1, args.rounds), token=set_name == "newspaper4k")
        results[set_name] = rows
        failures += check_floor(set_name, rows, args.floor)
        news += floor_news(set_name, rows, args.floor)
        if not args.json:
            print(table(set_name, heading, rows, pages, args.pages), end="\n\n")
    if args.json:
        report = {s: {"pages": len(loaded[s][1]), "extractors": [asdict(r) for r in rows]}
                  for s, rows in results.items()}
        report |= {"floor_failures": failures, "floor_raise": news}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        for failure in failures:
            print(f"FAIL: {failure}", file=sys.stderr)
    else:
        print(f"## Summary (speed over {max(1, args.rounds)} timed passes per set)\n")
        for set_name, rows in results.items():
            print(summary_line(set_name, rows, loaded[set_name][1]))
        shown = args.floor.relative_to(ROOT) if args.floor.is_relative_to(ROOT) else args.floor
        print(f"\nfloor ({shown}): " + ("OK" if not failures else f"{len(failures)} FAILED"))
        for failure in failures:
            print(f"  FAIL: {failure}")
        for line in news:
            print(f"  raise the floor: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
