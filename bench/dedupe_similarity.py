"""Similarity matrix of the replay pages, to justify crawler.dedupe.NEAR_DUPLICATE_THRESHOLD.

    python bench/dedupe_similarity.py [--sites demo/sites] [--all-measures]

Extracts every article of `demo/sites/manifest.toml`, adds edited copies of each original
(final paragraph dropped, cut at 60%, clutter lines around), prints the matrix of
`crawler.dedupe.similarity`, then for each measure the lowest score of a copy pair and the
highest of a non-copy pair (the margin the threshold sits in), and the cost per pair.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.dedupe import NEAR_DUPLICATE_THRESHOLD, normalize_text, similarity  # noqa: E402
from crawler.extract import Article, extract_article  # noqa: E402

BASE = "http://127.0.0.1:8000"
PREFIX_CHARS = 3000


def ratio_equal_prefixes(a: str, b: str) -> float:
    """fuzz.ratio on normalised prefixes cut to the same length."""
    a, b = normalize_text(a)[:PREFIX_CHARS], normalize_text(b)[:PREFIX_CHARS]
    n = min(len(a), len(b))
    return fuzz.ratio(a[:n], b[:n])


def token_sort(a: str, b: str) -> float:
    return fuzz.token_sort_ratio(normalize_text(a)[:PREFIX_CHARS], normalize_text(b)[:PREFIX_CHARS])


def token_set(a: str, b: str) -> float:
    return fuzz.token_set_ratio(normalize_text(a)[:PREFIX_CHARS], normalize_text(b)[:PREFIX_CHARS])


MEASURES: dict[str, Callable[[str, str], float]] = {
    "similarity (word LCS, chosen)": similarity,
    "fuzz.ratio, equal prefixes": ratio_equal_prefixes,
    "fuzz.token_sort_ratio": token_sort,
    "fuzz.token_set_ratio": token_set,
}


def replay_file(sites: Path, site: str, path: str) -> Path:
    """The file the replay server serves for a URL path ("/a/" -> a/index.html, "/a" -> a.html)."""
    base, path = sites / site, path.lstrip("/")
    if not path or path.endswith("/"):
        return base / path / "index.html"
    return next(p for p in (base / path, base / f"{path}.html", base / path / "index.html") if p.is_file())


def load(sites: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> text, name -> story name) for the manifest pages and edited copies."""
    entries = tomllib.loads((sites / "manifest.toml").read_text(encoding="utf-8"))["article"]
    texts: dict[str, str] = {}
    story: dict[str, str] = {}
    for entry in entries:
        name = f"{entry['site']}:{entry['path']}"
        html = replay_file(sites, entry["site"], entry["path"]).read_bytes().replace(b"{{BASE}}", BASE.encode())
        started = time.perf_counter()
        article = extract_article(html, BASE + entry["path"])
        elapsed = (time.perf_counter() - started) * 1000
        status = f"{len(article.text)} chars" if isinstance(article, Article) else article.reason
        print(f"extract {name}: {status}, {elapsed:.1f} ms", file=sys.stderr)
        if isinstance(article, Article):
            texts[name] = article.text
            story[name] = str(entry.get("copy_of") or name)
    for name in [n for n in texts if story[n] == n]:
        paragraphs = texts[name].split("\n\n")
        if len(paragraphs) < 3:
            continue
        edits = {
            "dropped-last": "\n\n".join(paragraphs[:-1]),
            "cut-60%": texts[name][: int(len(texts[name]) * 0.6)],
            "clutter": "Photo: AP/Staff\n\n1 Comment\n\n" + texts[name] + "\n\n© KYODO\n\nLogin to comment",
        }
        for label, text in edits.items():
            texts[f"{name} [{label}]"] = text
            story[f"{name} [{label}]"] = name
    return texts, story


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=Path, default=Path(__file__).resolve().parent.parent / "demo" / "sites")
    parser.add_argument("--all-measures", action="store_true", help="print the matrix of every measure")
    args = parser.parse_args()
    texts, story = load(args.sites)
    names = sorted(texts)
    short = {n: f"{i:>2}" for i, n in enumerate(names)}
    for name in names:
        copy_note = "" if story[name] == name or " [" in name else f"  (copy of {short[story[name]].strip()})"
        print(f"{short[name]}  {name}{copy_note}")
    for label, measure in MEASURES.items():
        copies, others = [], []
        started = time.perf_counter()
        scores = {(a, b): measure(texts[a], texts[b]) for a, b in itertools.combinations(names, 2)}
        per_pair = (time.perf_counter() - started) / max(len(scores), 1) * 1e6
        for (a, b), score in scores.items():
            (copies if story[a] == story[b] else others).append((score, a, b))
        if label.startswith("similarity") or args.all_measures:
            print(f"\n{label}")
            print("    " + " ".join(f"{short[n]:>5}" for n in names))
            for a in names:
                row = (100.0 if a == b else scores.get((a, b), scores.get((b, a), 0.0)) for b in names)
                print(f"{short[a]}  " + " ".join(f"{s:5.1f}" for s in row))
        pages_only = [s for s, a, b in others if " [" not in a and " [" not in b]
        page_copies = [s for s, a, b in copies if " [" not in a and " [" not in b]
        low, high = min(copies), max(others)
        print(
            f"\n{label}: copy pairs {low[0]:.1f}..{max(copies)[0]:.1f} (n={len(copies)}), "
            f"non-copy pairs {min(others)[0]:.1f}..{high[0]:.1f} (n={len(others)}), "
            f"margin {low[0] - high[0]:.1f}, {per_pair:.0f} µs/pair"
        )
        print(
            f"  unedited pages only: copy pairs {min(page_copies):.1f}..{max(page_copies):.1f}, "
            f"non-copy pairs {min(pages_only):.1f}..{max(pages_only):.1f}"
        )
        print(f"  weakest copy pair: {low[1]} ~ {low[2]}")
        print(f"  closest non-copy pair: {high[1]} ~ {high[2]}")
    print(f"\nNEAR_DUPLICATE_THRESHOLD = {NEAR_DUPLICATE_THRESHOLD}")
    long_a = "\n\n".join([texts[names[0]]] * 60)
    long_b = "\n\n".join([texts[names[-1]]] * 60)
    started = time.perf_counter()
    for _ in range(20):
        similarity(long_a, long_b)
    per_pair_ms = (time.perf_counter() - started) / 20 * 1000
    print(f"similarity on two {len(long_a) // 1000} kB texts: {per_pair_ms:.2f} ms/pair")


if __name__ == "__main__":
    main()
