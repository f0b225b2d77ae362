"""Copy detection: precision and recall on real article texts, and cost per article up to 1M.

    python bench/dedupe.py                    # quality, then timings at 10k, 100k and 1M
    python bench/dedupe.py --sizes 10000      # quality, then a quick timing
    python bench/dedupe.py --stories          # the replay's story-similarity matrix only

Quality. The real texts are the `tests/data/txt` files of the newspaper4k 0.9.6 source
distribution, which the script downloads with pip into a temporary directory (nothing is
kept). Each text is republished by every transformation a syndicating outlet applies (new
dateline, dropped or added final paragraph, ending cut at 60%, typographic quotes and
spacing, clutter lines around, all at once) and each such copy must find its source among
all the originals. Hard negatives: every original against every other; for each long
article, its second half and its second half under the first paragraph (a follow-up that
reuses the lead) against the first halves of all articles (same subject, same names, other
text). Detection is the archive's own rule: a fingerprint match, or a candidate sharing an
LSH band key (at most crawler.linking.VERIFY_CANDIDATES, most shared first) that
`crawler.dedupe.similarity` scores at or above the threshold.

Cost. A scratch database (on WIREWATCH_BENCH_DATABASE_URL's server, or an embedded one in a
temporary directory) is filled with COPY to 10,000, 100,000 and 1,000,000 synthetic
articles spread over a year, each with its band keys, plus the real originals; at each size
it times `crawler.linking.decide` (fingerprint lookup, LSH probe, verification) for copies
and non-copies of the real texts. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from crawler import linking, minhash  # noqa: E402
from crawler.dedupe import NEAR_DUPLICATE_THRESHOLD, similarity, text_fingerprint, tokens  # noqa: E402
from db import articles, bands  # noqa: E402
from db import outlets as outlet_rows  # noqa: E402
from db.migrate import migrate  # noqa: E402
from db.queries import QUERIES  # noqa: E402

SDIST = "newspaper4k==0.9.6"
MIN_TOKENS = 40
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
CLUTTER_HEAD = ["Photo: AP/Staff Photographer", "1 Comment", "Newsletter Signup"]
CLUTTER_TAIL = ["© KYODO", "©2024 GPlusMedia Inc.", "A Cash and Debit Card all in one!", "Login to comment"]
ADDED = "The story has been updated with additional reporting from the scene and comment from officials."


def download_texts(workdir: Path) -> dict[str, str]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    SDIST, "-d", str(workdir)], check=True)
    archive = next(workdir.glob("newspaper4k-*.tar.gz"))
    texts = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if "/tests/data/txt/" in member.name and member.name.endswith(".txt"):
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                if len(tokens(text)) >= MIN_TOKENS:
                    texts[Path(member.name).stem] = text
    # The fixtures hold one article twice (cleveland.com1, video_article_01): a true copy pair,
    # so keep one, or it would count as a false positive.
    kept: dict[str, str] = {}
    for name, text in sorted(texts.items()):
        twin = next((k for k, t in kept.items() if similarity(t, text) >= NEAR_DUPLICATE_THRESHOLD), None)
        if twin:
            print(f"  {name} is a copy of {twin} in the source set: left out", file=sys.stderr)
        else:
            kept[name] = text
    return kept


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r", "").split("\n") if p.strip()]


def transformations(text: str) -> dict[str, str]:
    ps = paragraphs(text)
    cut = text[: int(len(text) * 0.6)]
    curly = text.replace('"', "“").replace("'", "’").replace(" ", "  ").replace("\n", "\n\n")
    return {
        "dateline": "MOSCOW – " + text,
        "dropped-last": "\n\n".join(ps[:-1]) if len(ps) > 1 else text[: int(len(text) * 0.85)],
        "added-last": text + "\n\n" + ADDED,
        "truncated-60%": cut,
        "typography": curly,
        "clutter": "\n\n".join(CLUTTER_HEAD + ps + CLUTTER_TAIL),
        "all-at-once": "\n\n".join(CLUTTER_HEAD[:1] + ["TOKYO (Kyodo) -- " + cut] + CLUTTER_TAIL[:1]),
    }


class Index:
    """The archive's detection rule over texts in memory (fingerprints, band keys, similarity)."""

    def __init__(self, docs: dict[str, str]) -> None:
        self.docs = docs
        self.hashes = {name: text_fingerprint(t) for name, t in docs.items()}
        self.keys = {name: set(minhash.text_band_keys(t)) for name, t in docs.items()}

    def copies(self, text: str) -> set[str]:
        fingerprint = text_fingerprint(text)
        exact = {n for n, h in self.hashes.items() if h == fingerprint}
        if exact:
            return exact
        mine = set(minhash.text_band_keys(text))
        shared = sorted(((len(mine & k), n) for n, k in self.keys.items() if mine & k), reverse=True)
        verified = [(similarity(text, self.docs[n]), n) for _, n in shared[: linking.VERIFY_CANDIDATES]]
        best = max(verified, default=(0.0, ""))
        return {best[1]} if best[0] >= NEAR_DUPLICATE_THRESHOLD else set()


def quality(texts: dict[str, str]) -> None:
    index = Index(texts)
    tp = fp = fn = 0
    by_kind: dict[str, list[int]] = {}
    jaccards = []
    for name, text in texts.items():
        for kind, variant in transformations(text).items():
            found = index.copies(variant)
            hit = name in found
            tp += hit
            fn += not hit
            fp += len(found - {name})
            by_kind.setdefault(kind, []).append(hit)
            a, b = minhash.signature(text), minhash.signature(variant)
            if a is not None and b is not None:
                jaccards.append(minhash.estimated_jaccard(a, b))
            if not hit:
                print(f"  missed: {name} [{kind}]", file=sys.stderr)
    negatives = 0
    for name, text in texts.items():  # every other original
        others = Index({n: t for n, t in texts.items() if n != name})
        found = others.copies(text)
        fp += len(found)
        for n in found:
            print(f"  false copy: {name} ~ {n}", file=sys.stderr)
        negatives += len(others.docs)
    halves = {n: paragraphs(t) for n, t in texts.items() if len(paragraphs(t)) >= 6}
    first = Index({n: "\n\n".join(ps[: len(ps) // 2]) for n, ps in halves.items()})
    for name, ps in halves.items():  # same subject, other text
        for follow_up in ("\n\n".join(ps[len(ps) // 2:]), "\n\n".join([ps[0], *ps[len(ps) // 2 + 1:]])):
            found = first.copies(follow_up)
            fp += len(found)
            negatives += len(first.docs)
            for n in found:
                print(f"  false copy: {name} follow-up ~ {n} (first half)", file=sys.stderr)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    print(f"\nCopies: {len(texts)} real texts, {tp + fn} syndicated copies, {negatives} negative pairs "
          f"({len(halves)} articles split into same-subject halves)")
    print(f"{'transformation':<16} {'recall':>7}")
    for kind, hits in by_kind.items():
        print(f"{kind:<16} {sum(hits) / len(hits):7.3f}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  (targets 0.99 / 0.97; {fp} false, {fn} missed)")
    print(f"copies' estimated Jaccard of openings: min {min(jaccards):.2f}, median {statistics.median(jaccards):.2f}")


def story_matrix() -> None:
    from crawler import stories
    from crawler.extract import extract_article
    from tests.test_dedupe import BASE, manifest_texts, replay_page

    entries = {k: e for k, (e, _) in manifest_texts().items() if not e.get("copy_of")}
    weights = {}
    for key, entry in entries.items():
        article = extract_article(replay_page(entry), BASE + entry["path"])
        weights[key] = stories.term_weights(article.title, article.text)
    df: dict[int, int] = {}
    for w in weights.values():
        for t in w:
            df[t] = df.get(t, 0) + 1
    vectors = {k: stories.tfidf(stories.top_terms(w, df, len(weights), stories.VECTOR_TERMS), df, len(weights))
               for k, w in weights.items()}
    print(f"\nStory cosine, IDF over the replay's {len(weights)} originals (threshold {stories.STORY_THRESHOLD}):")
    for a, b in itertools.combinations(sorted(vectors), 2):
        same = entries[a]["event"] == entries[b]["event"]
        print(f"  {stories.cosine(vectors[a], vectors[b]):.3f} {'SAME EVENT ' if same else '           '}"
              f"{entries[a]['event']:<28} {entries[b]['event']}")


# --- cost at scale -------------------------------------------------------------------


def scratch_database():
    admin = os.environ.get("WIREWATCH_BENCH_DATABASE_URL")
    if not admin:
        from db.connect import embedded_dsn

        admin = embedded_dsn(Path(tempfile.mkdtemp(prefix="ww-bench-")) / "data", stop_on_exit=True)
    name = f"wirewatch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return admin, name, make_conninfo(admin, dbname=name)


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load_synthetic(conn: psycopg.Connection, start: int, count: int, rng: random.Random) -> None:
    """`count` articles spread over the year before NOW, each with BANDS random band keys, by COPY."""
    first_id = conn.execute(QUERIES["last_article_id"]).fetchone()[0] + 1
    times = [NOW - timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(count)]
    with conn.cursor() as cur:
        with cur.copy(QUERIES["copy_articles"]) as cp:
            for i, at in enumerate(times):
                n = start + i
                cp.write_row((f"https://synthetic.example/{n}", "synthetic", f"Story {n}", f"Synthetic story {n}.",
                              at, "en", f"{n:064x}"))
        with cur.copy(QUERIES["copy_bands"]) as cp:
            for i, at in enumerate(times):
                for _ in range(minhash.BANDS):
                    cp.write_row((rng.getrandbits(64) - 2**63, first_id + i, at))
    conn.commit()


def timings(texts: dict[str, str], sizes: list[int], probes_per_kind: int) -> list[tuple[int, float, float, float]]:
    admin, name, dsn = scratch_database()
    rng = random.Random(4)
    results = []
    try:
        with psycopg.connect(dsn) as conn:
            migrate(conn)
            with conn.transaction():
                outlet_rows.upsert_outlet(conn, name="synthetic", title="synthetic", homepage="https://s.example/",
                                          language="en", wire=False, interval_seconds=600)
            loaded = 0
            for size in sizes:
                started = time.monotonic()
                load_synthetic(conn, loaded, size - loaded, rng)
                loaded = size
                _store_originals(conn, texts, size)
                with psycopg.connect(dsn, autocommit=True) as settle:  # as autovacuum would, before timing
                    settle.execute(QUERIES["settle_bulk_load"])
                load_s = time.monotonic() - started
                _time_probes(conn, texts, 5)  # warm the caches; not counted
                copy_ms, other_ms, story_ms = _time_probes(conn, texts, probes_per_kind)
                row = (size, statistics.median(copy_ms), statistics.median(other_ms), statistics.median(story_ms),
                       load_s)
                results.append(row)
                print(f"  {size:>9,} articles: copy {row[1]:.2f} ms, non-copy {row[2]:.2f} ms, non-copy with "
                      f"story lookup {row[3]:.2f} ms (medians), loaded in {load_s:.0f}s", file=sys.stderr)
    finally:
        drop_database(admin, name)
    return results


def _store_originals(conn: psycopg.Connection, texts: dict[str, str], size: int) -> None:
    """The real texts, indexed as ingest indexes them, at a recent time (inside the probes' window)."""
    with conn.transaction():
        for i, (name, text) in enumerate(sorted(texts.items())):
            url = f"https://real.example/{size}/{name}"
            new_id = articles.insert_article(conn, articles.NewArticle(
                url=url, outlet="synthetic", title=name, text=text, authors=[], published_at=NOW - timedelta(hours=i),
                updated_at=None, language="en", description=None, text_hash=text_fingerprint(text), copy_of=None,
                similarity=None, crawl_run_id=None))
            bands.insert_bands(conn, new_id, NOW - timedelta(hours=i), minhash.text_band_keys(text))


def _time_probes(conn: psycopg.Connection, texts: dict[str, str], per_kind: int
                 ) -> tuple[list[float], list[float], list[float]]:
    """Milliseconds of the copy check for copies and for new texts, and of the full decision
    (copy check and story lookup) for new texts."""
    names = sorted(texts)
    vocabulary = sorted({w for t in texts.values() for w in t.split()})
    rng = random.Random(7)
    copies, others, with_story = [], [], []
    for round_ in range(per_kind):
        name = names[round_ % len(names)]
        variant = transformations(texts[name])["all-at-once"]
        unrelated = " ".join(rng.choice(vocabulary) for _ in range(600))  # new text, the texts' words
        for text, bucket, stories_too in ((variant, copies, False), (unrelated, others, False),
                                          (unrelated, with_story, True)):
            facts = linking.Facts(url="https://probe.example/x", outlet="probe", outlet_wire=False, title="Probe",
                                  text=text, authors=(), published_at=NOW, fetched_at=NOW)
            started = time.perf_counter()
            decision = linking.decide(conn, facts, window=timedelta(days=3), stories_too=stories_too)
            bucket.append((time.perf_counter() - started) * 1000)
            conn.rollback()
            assert (decision.copy_of is not None) == (bucket is copies), (name, decision)
    return copies, others, with_story


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10_000, 100_000, 1_000_000], help="archive sizes, ascending (default 10k,100k,1M)")
    parser.add_argument("--probes", type=int, default=60, help="timed copies and non-copies at each size")
    parser.add_argument("--stories", action="store_true", help="only print the replay's story matrix")
    args = parser.parse_args()
    started = time.monotonic()
    if args.stories:
        story_matrix()
        return
    with tempfile.TemporaryDirectory(prefix="ww-n4k-") as tmp:
        texts = download_texts(Path(tmp))
    quality(texts)
    rows = timings(texts, args.sizes, args.probes)
    print(f"\nTime to dedupe one new article (median of {args.probes}; copy check = fingerprint lookup, "
          "LSH probe, rapidfuzz verification):")
    print(f"{'archive':>10} {'a copy':>9} {'a new text':>11} {'new text + story lookup':>24} {'load (COPY)':>12}")
    for size, copy_ms, other_ms, story_ms, load_s in rows:
        print(f"{size:>10,} {copy_ms:>6.2f} ms {other_ms:>8.2f} ms {story_ms:>21.2f} ms {load_s:>10.0f} s")
    if len(rows) > 1:
        print(f"largest / smallest archive: {rows[-1][1] / rows[0][1]:.2f}x for copies, "
              f"{rows[-1][2] / rows[0][2]:.2f}x for new texts")
    print(f"\nbench/dedupe.py took {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
