"""Japanese segmentation for search: character bigrams (db/bigrams.py) against morphological
analysers, measured on substring search exactness, speed and index size.

    python bench/japanese_segmenters.py                    # 5,000 articles, about 20 seconds
    python bench/japanese_segmenters.py --articles 1000    # a quick run

The analysers are not wirewatch dependencies; install them for this bench only:

    python3 -m pip install sudachipy sudachidict-core fugashi unidic-lite

One that is missing is skipped with a message. Every segmenter sees the same NFKC-casefolded
text (db/bigrams.normalize). The oracle is `term in title or term in text` over that text. A
segmenter finds a term when the term, segmented the same way, occurs as a phrase (consecutive
tokens) of the title's or text's tokens: what a tsvector `<->` phrase query over its tokens
would match. For bigrams that is exactly db/bigrams.phrase's query (a one-character run at the
end matches as a prefix). Precision is 1 for every segmenter by construction (consecutive
tokens spell the term); recall is what differs: an analyser answers only for the boundaries
it chose, and a term it cuts one way alone and another way in context is missed.

Two corpora: articles from bench/japanese.py's generator (templated sentences with planted terms
and split negatives), and the demo's Kyodo report in Japanese (demo/sites/kyodo-ja: written prose,
each paragraph a document). Per corpus, two query sets:
  terms       what a monitoring user searches: names, places, compounds, and the shorter
              compounds inside them (北方領土 and 北方, 平和条約締結交渉 and 締結交渉, ラブロフ外相);
  substrings  every kanji/katakana substring of 2-6 characters in the corpus (at most
              --substrings, drawn at random), i.e. also fragments nobody would type ("ア外"
              from ロシア外務省): the bound of what a substring index promises.
Speed is CPU time (time.process_time) of segmenting every title and text, the best of --repeat
runs, so that other work on the machine changes it less.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import bigrams  # noqa: E402
from japanese import article  # noqa: E402  (bench/japanese.py: run as a script)

SEP = "\x00"
LISTED = [
    # planted in bench/japanese.py, and vocabulary of its templates
    "北方領土", "半導体", "能登半島", "円安", "ラブロフ", "防衛費", "平和条約", "生成ai",
    "予算案", "根室", "少子化", "日銀総裁", "ワシントン", "官房長官", "物価対策", "賃上げ", "地方創生",
    "漁業協定", "電力需給", "防衛相", "経団連", "モスクワ",
    # parts of those compounds
    "北方", "領土", "方領", "日銀", "総裁", "銀総裁", "少子", "子化対", "対策", "長官", "房長", "衛費",
]
PROSE_TERMS = [
    "ラブロフ", "ラブロフ外相", "ロシア外務省", "外務省", "外務次官", "ルデンコ", "プーチン大統領", "プーチン",
    "北方領土", "北方四島", "四島", "北方", "領土問題", "領土紛争", "固有の領土", "国後", "択捉", "色丹",
    "歯舞群島", "群島", "平和条約", "平和条約締結交渉", "条約締結", "締結交渉", "交渉", "北大西洋条約機構",
    "nato", "第1チャンネル", "インタファクス通信", "インタファクス", "対ロ制裁", "制裁", "ウクライナ侵攻",
    "ウクライナ", "侵攻", "元島民", "北方墓参", "墓参", "交流事業", "旧ソ連", "第2次世界大戦", "世界大戦",
    "日ロ両国", "日ロ", "モスクワ", "友好協力", "公式サイト", "政府系テレビ", "一方的",
]
_KANJI_KATAKANA_RUN = re.compile("[\u3005\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+")


class Segmenter:
    """A name, a tokenizer of normalised text, and how a query term becomes a token phrase."""

    def __init__(self, name: str, tokens: Callable[[str], list[str]]) -> None:
        self.name = name
        self.tokens = tokens

    def needle(self, term: str) -> str:
        return SEP + SEP.join(self.tokens(term)) + SEP

    def haystack(self, text: str) -> str:
        return SEP + SEP.join(self.tokens(text)) + SEP


class Bigrams(Segmenter):
    def __init__(self) -> None:
        super().__init__("bigrams (db/bigrams.py)", bigrams.lexemes)

    def needle(self, term: str) -> str:
        # db/bigrams.phrase, as lexeme text: a CJK run's bigrams (its last character alone when
        # another run follows), a word whole, a trailing one-character run as a prefix.
        parts: list[str] = []
        found = bigrams.runs(term)
        prefix = False
        for index, (run, cjk) in enumerate(found):
            last = index == len(found) - 1
            if not cjk:
                parts.append(run)
            elif len(run) == 1:
                parts.append(run)
                prefix = last
            else:
                parts.extend(run[i:i + 2] for i in range(len(run) - 1))
                if not last:
                    parts.append(run[-1])
        return SEP + SEP.join(parts) + ("" if prefix else SEP)


def analysers() -> list[Segmenter]:
    found: list[Segmenter] = []
    try:
        from sudachipy import Dictionary, SplitMode
    except ImportError:
        print("skipped SudachiPy: not installed (python3 -m pip install sudachipy sudachidict-core)",
              file=sys.stderr)
    else:
        try:
            dictionary = Dictionary(dict="core")
        except Exception as exc:  # the dictionary package is separate from the analyser
            print(f"skipped SudachiPy: no core dictionary ({exc}); python3 -m pip install sudachidict-core",
                  file=sys.stderr)
        else:
            for mode in ("C", "A"):
                tokenizer = dictionary.tokenizer(mode=getattr(SplitMode, mode), fields={"surface"})
                found.append(Segmenter(f"SudachiPy mode {mode} (core)",
                                       lambda text, t=tokenizer: [m.surface() for m in t.tokenize(text)]))
    try:
        import fugashi
    except ImportError:
        print("skipped fugashi: not installed (python3 -m pip install fugashi unidic-lite)", file=sys.stderr)
    else:
        try:
            tagger = fugashi.Tagger()
        except RuntimeError as exc:
            print(f"skipped fugashi: no dictionary ({exc}); python3 -m pip install unidic-lite", file=sys.stderr)
        else:
            found.append(Segmenter("fugashi (unidic-lite)", lambda text: [w.surface for w in tagger(text)]))
    return found


def corpus(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [tuple(bigrams.normalize(part) for part in article(n, rng)) for n in range(count)]


def substrings(docs: list[tuple[str, str]], limit: int, seed: int) -> list[str]:
    """The distinct kanji/katakana substrings of 2-6 characters of the texts; `limit` of them at random."""
    found = {run[i:i + n] for _, text in docs for run in _KANJI_KATAKANA_RUN.findall(text)
             for n in range(2, 7) for i in range(len(run) - n + 1)}
    terms = sorted(found)
    return sorted(random.Random(seed).sample(terms, limit)) if len(terms) > limit else terms


def prose() -> list[tuple[str, str]]:
    """The demo's Japanese Kyodo report, one (title, paragraph) document per paragraph."""
    import tomllib

    from crawler.extract import extract_article

    sites = Path(__file__).resolve().parent.parent / "demo" / "sites"
    entries = tomllib.loads((sites / "manifest.toml").read_text(encoding="utf-8"))["article"]
    entry = next(e for e in entries if e["site"] == "kyodo-ja")
    page = (sites / entry["site"] / entry["path"].lstrip("/")).read_bytes()
    extracted = extract_article(page, "http://127.0.0.1" + entry["path"])
    return [("", bigrams.normalize(p)) for p in extracted.text.split("\n\n")]


def recall(seg: Segmenter, docs: list[tuple[str, str]], indexed: list[tuple[str, str]], terms: list[str]
           ) -> list[tuple[str, int, int, int]]:
    """(term, truth, found, found-and-true) per term."""
    rows = []
    for term in terms:
        needle = seg.needle(term)
        truth = {i for i, (title, text) in enumerate(docs) if term in title or term in text}
        got = {i for i, (title, text) in enumerate(indexed) if needle in title or needle in text}
        rows.append((term, len(truth), len(got), len(truth & got)))
    return rows


def summary(rows: list[tuple[str, int, int, int]]) -> tuple[float, float, int]:
    """(recall over all occurrences, lowest precision, terms with recall < 1), of the terms that occur."""
    present = [r for r in rows if r[1]]
    found = sum(r[3] for r in present) / sum(r[1] for r in present)
    precision = min((r[3] / r[2] for r in rows if r[2]), default=1.0)
    return found, precision, sum(1 for r in present if r[3] < r[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--substrings", type=int, default=1000, help="at most this many substring queries per corpus")
    parser.add_argument("--repeat", type=int, default=3, help="timed segmentations of the corpus (best kept)")
    parser.add_argument("--show-misses", action="store_true", help="list each segmenter's missed terms (not substrings)")
    args = parser.parse_args()
    docs = corpus(args.articles, seed=10)
    chars = statistics.mean(len(t) + len(x) for t, x in docs)
    drawn = substrings(docs, args.substrings, seed=11)
    paragraphs = prose()
    prose_terms = substrings(paragraphs, args.substrings, seed=12)
    print(f"{args.articles} generated articles, {chars:.0f} characters each on average: {len(LISTED)} listed "
          f"terms, {len(drawn)} substrings; demo prose: {len(paragraphs)} paragraphs, {len(prose_terms)} "
          f"substrings", file=sys.stderr)
    table = []
    for seg in [Bigrams(), *analysers()]:
        seg.tokens("北方領土")  # load dictionaries before timing
        seconds = float("inf")
        for _ in range(args.repeat):  # the best of a few: other work on the machine still disturbs CPU time
            started = time.process_time()
            tokenized = [(seg.tokens(title), seg.tokens(text)) for title, text in docs]
            seconds = min(seconds, time.process_time() - started)
        indexed = [(SEP + SEP.join(a) + SEP, SEP + SEP.join(b) + SEP) for a, b in tokenized]
        positions = statistics.mean(len(a) + len(b) for a, b in tokenized)
        distinct = statistics.mean(len(set(a) | set(b)) for a, b in tokenized)
        vocabulary = len({tok for a, b in tokenized for tok in (*a, *b)})
        written = [(seg.haystack(t), seg.haystack(x)) for t, x in paragraphs]
        results = [recall(seg, docs, indexed, LISTED), recall(seg, docs, indexed, drawn),
                   recall(seg, paragraphs, written, PROSE_TERMS), recall(seg, paragraphs, written, prose_terms)]
        table.append((seg.name, len(docs) / seconds, positions, distinct, vocabulary, [summary(r) for r in results]))
        if args.show_misses:
            for label, rows in (("generated terms", results[0]), ("prose terms", results[2])):
                missed = [f"{t} {hit}/{truth}" for t, truth, _, hit in rows if hit < truth]
                print(f"{seg.name}: {label} missed: {', '.join(missed) or 'none'}", file=sys.stderr)
    sizes = (len(LISTED), len(drawn), len(PROSE_TERMS), len(prose_terms))
    print(f"{'segmenter':<26}{'art/CPU-s':>10}{'tokens/art':>11}{'distinct/art':>13}{'vocabulary':>11}")
    for name, speed, positions, distinct, vocabulary, _ in table:
        print(f"{name:<26}{speed:>10,.0f}{positions:>11.0f}{distinct:>13.0f}{vocabulary:>11,}")
    print(f"\nrecall (terms with recall < 1){'generated':>22}{'':>18}{'demo prose':>12}")
    print(f"{'segmenter':<26}" + "".join(f"{h:>17}" for h in ("terms", "substrings", "terms", "substrings"))
          + f"{'precision':>11}")
    for name, *_, sets in table:
        print(f"{name:<26}" + "".join(f"{f'{s[0]:.3f} ({s[2]}/{n})':>17}" for s, n in zip(sets, sizes))
              + f"{min(s[1] for s in sets):>11.3f}")
    print("recall: articles (paragraphs) found / containing the term, over all the set's terms")


if __name__ == "__main__":
    main()
