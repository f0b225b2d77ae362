"""The whole `wirewatch import` path against bare trafilatura on the same real pages.

    python bench/import_path.py [--pages DIR] [--limit N] [--rounds 3] [--workers N]
                                [--database-url DSN] [--extract-timeout 20] [--profile FILE]

Reads real article pages (by default the 87 of /work/shared/devsets/fundus/*/*.html.gz, each
with the `url` of its .json; `--pages DIR` takes any .html or .html.gz files under DIR, their
address from a .json beside them or the page's canonical link), then, in this one process and
in turns for `--rounds` rounds, each keeping its best:

1. baseline: bare `trafilatura.extract(html, url=url)` over every page, on one CPU;
2. `crawler.extract.extract_article` in-process over every page (what extraction itself costs,
   before any worker process, database or dedupe);
3. the import path: the pages written to one WARC file and imported with
   `scheduler.imports.import_files`, as `wirewatch import` does (time-capped extraction workers,
   dedupe, store with the raw page, alert outbox, commits), into a fresh migrated database,
   the workers' fork server started afresh each round.

Prints docs/s for each, the import path's ratio to the baseline, and where an article's time
goes on the importing thread: worker start, extract (waiting for a worker's answer, the page's
trip to it included, and meanwhile reading the next pages from the WARC and handing them to
the other workers), dedupe (crawler.linking: the LSH candidates and stories queries, the URL
lookup, and the text keys where no worker computed them), store (article row, URLs, run
counters), raw page, alerts (NOTIFY and outbox matching), commit, other (outlets, runs). Work a worker does while the
importer stores another page is not on that thread: it shows in the CPU line instead, which
gives each process's CPU time per article and how busy the rest of the machine was meanwhile
(the import uses several CPUs, the baseline one, so a busy machine lowers the ratio).

An older commit is measured with this same script in that commit's tree (names it lacks are
passed over): `git archive COMMIT | tar -x -C /tmp/old && cp bench/import_path.py /tmp/old/bench/`,
then `python bench/import_path.py` in /tmp/old. `--profile` writes cProfile stats of the first
round, which the profiler slows.

Without --database-url (or WIREWATCH_TEST_DATABASE_URL) an embedded PostgreSQL is started in a
temporary directory and stopped at exit. Only local files and a local database are touched.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gzip
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import forkserver
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import trafilatura  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from crawler.extract import Article, extract_article  # noqa: E402
from crawler.warc import declared_url  # noqa: E402
from db.connect import embedded_dsn  # noqa: E402
from db.migrate import migrate  # noqa: E402

FUNDUS = Path("/work/shared/devsets/fundus")
# The import path must reach this share of bare trafilatura's docs/s.
TARGET_RATIO = 0.8


def load_pages(root: Path, limit: int | None) -> list[tuple[str, bytes]]:
    """(url, html bytes) of every page under `root`, in path order."""
    pages = []
    for path in sorted([*root.rglob("*.html.gz"), *root.rglob("*.html")]):
        body = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
        meta = path.with_name(path.name.removesuffix(".gz").removesuffix(".html") + ".json")
        url = json.loads(meta.read_text(encoding="utf-8")).get("url") if meta.exists() else None
        url = url or declared_url(body)
        if not url:
            print(f"skipped {path}: no url in a .json beside it and no canonical link", file=sys.stderr)
            continue
        pages.append((url, body))
    return pages[:limit] if limit else pages


def write_warc(pages: list[tuple[str, bytes]], path: Path) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=False)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))


def time_each(pages: list[tuple[str, bytes]], extract: Callable[[bytes, str], object]) -> float:
    """Seconds for one pass over the pages, after one warm-up page (imports, lazy tables)."""
    extract(pages[0][1], pages[0][0])
    started = time.perf_counter()
    for url, body in pages:
        extract(body, url)
    return time.perf_counter() - started


class Phases:
    """Wall-clock seconds spent inside named functions of the import path, on the calling thread.
    Nested phases are charged to the innermost one only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[list] = []  # [phase, started, seconds of nested phases]
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: object, name: str, phase: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            frame = [phase, time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                self._stack.pop()
                spent = time.perf_counter() - frame[1]
                self.seconds[phase] += spent - frame[2]
                self.calls[phase] += 1
                if self._stack:
                    self._stack[-1][2] += spent

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()


def instrument(phases: Phases) -> None:
    """Charge the import path's functions to phases, where scheduler.imports and crawler.ingest
    call them. A name the checked-out code lacks is passed over, so that an older commit can be
    measured with this same script (run it with that commit's tree first on PYTHONPATH)."""
    from crawler import extract_worker, ingest, linking
    from scheduler import imports

    for owner, name, phase in [
        (imports, "ingest_extracted", "store"),  # what is left of a page's ingest after the phases below
        (imports, "ingest_page", "store"),
        (extract_worker.TimedExtractor, "__call__", "extract"),
        # waiting for a page there includes handing the other workers their next pages
        (getattr(extract_worker, "ExtractedAhead", None), "__next__", "extract"),
        (getattr(extract_worker, "ExtractedAhead", None), "waiting", "extract"),
        (extract_worker._Worker, "send", "extract"),
        (extract_worker._Worker, "receive", "extract"),
        (extract_worker._Worker, "__init__", "worker start"),
        (extract_worker, "_ready_worker", "worker start"),
        (ingest.articles, "lock_dedupe", "dedupe"),
        (ingest.articles, "article_for_urls", "dedupe"),
        (linking, "decide", "dedupe"),
        (linking, "apply", "dedupe"),
        (ingest.outbox, "article_stored", "alerts"),
        (ingest.pages, "store_raw_page", "raw page"),
        (getattr(imports, "_Batch", None), "commit", "commit"),
    ]:
        if owner is not None and hasattr(owner, name):
            phases.wrap(owner, name, phase)


@contextmanager
def fresh_database(admin: str):
    name = f"wirewatch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = make_conninfo(admin, dbname=name)
        with psycopg.connect(dsn) as conn:
            migrate(conn)
        yield dsn
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (Linux /proc), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (all CPUs)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


@dataclass
class Round:
    seconds: float
    summary: object
    phases: Phases
    cpu: dict[str, float]  # CPU seconds: workers, importer, postgres, others (the rest of the machine)


def run_import(dsn: str, warc: Path, timeout: float, workers: int | None, profile: Path | None) -> Round:
    from crawler import extract_worker
    from scheduler.database import sync_outlets
    from scheduler.imports import import_files
    from scheduler.outlets import load_outlets

    outlets = load_outlets(Path(__file__).resolve().parent.parent / "seeds" / "outlets.toml")
    # Each round pays for starting the fork server of the extraction workers, as one
    # `wirewatch import` does (crawler.extract_worker).
    if getattr(forkserver, "_forkserver", None) is not None and hasattr(forkserver._forkserver, "_stop"):
        forkserver._forkserver._stop()
    phases = Phases()
    instrument(phases)
    # The workers are the fork server's children, not ours: their CPU time is read just before they end.
    worker_cpu: dict[int, float] = {}
    for name in ("stop", "kill"):
        original = getattr(extract_worker._Worker, name)

        def ending(self, _original=original):
            if (spent := cpu_seconds(self.process.pid)) is not None:
                worker_cpu[self.process.pid] = max(spent, worker_cpu.get(self.process.pid, 0.0))
            return _original(self)

        setattr(extract_worker._Worker, name, ending)
        phases._undo.append(lambda name=name, original=original: setattr(extract_worker._Worker, name, original))
    profiler = cProfile.Profile() if profile else None
    try:
        with psycopg.connect(dsn) as conn:
            sync_outlets(conn, outlets)
            backend = conn.info.backend_pid
            if profiler:
                profiler.enable()
            pg_before, busy_before, own_before = cpu_seconds(backend), machine_busy(), os.times()
            started = time.perf_counter()
            summary = import_files(conn, [warc], outlets, extract_timeout=timeout,
                                   **({"workers": workers} if workers else {}))
            elapsed = time.perf_counter() - started
            pg_after, busy_after, own_after = cpu_seconds(backend), machine_busy(), os.times()
            server = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
            server_cpu = cpu_seconds(server) if server else None
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
    finally:
        phases.restore()
    cpu = {"workers": sum(worker_cpu.values())}
    if server_cpu is not None:
        cpu["fork server"] = server_cpu
    cpu["importer"] = own_after.user + own_after.system - own_before.user - own_before.system
    if pg_before is not None and pg_after is not None:
        cpu["postgres"] = pg_after - pg_before
    if busy_before is not None and busy_after is not None:
        cpu["others"] = max(0.0, busy_after - busy_before - sum(cpu.values()))
    return Round(elapsed, summary, phases, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=FUNDUS, help="directory of .html/.html.gz pages")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--database-url", default=os.environ.get("WIREWATCH_TEST_DATABASE_URL"),
                        help="server to create the bench database on (default: embedded, temporary)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best of each is shown")
    parser.add_argument("--extract-timeout", type=float, default=20.0, help="crawl.extract_timeout, seconds")
    parser.add_argument("--workers", type=int, default=None,
                        help="extraction processes (default: scheduler.imports.EXTRACT_WORKERS)")
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats of the import here")
    args = parser.parse_args()

    pages = load_pages(args.pages, args.limit)
    if not pages:
        raise SystemExit(f"no pages under {args.pages}")
    admin = args.database_url or embedded_dsn(Path(tempfile.mkdtemp(prefix="ww-bench-")) / "data",
                                              stop_on_exit=True)
    n = len(pages)
    # The three take turns, round after round, and each keeps its best round: the machine is
    # shared, and a slow moment should not land on one side only.
    bare = ours = float("inf")
    best: Round | None = None
    with tempfile.TemporaryDirectory(prefix="ww-bench-") as tmp:
        warc = Path(tmp) / "pages.warc"
        write_warc(pages, warc)
        for round_ in range(args.rounds):
            bare = min(bare, time_each(pages, lambda body, url: trafilatura.extract(body, url=url)))
            results: list[object] = []
            ours = min(ours, time_each(pages, lambda body, url: results.append(extract_article(body, url=url))))
            articles_found = sum(isinstance(r, Article) for r in results[1:])
            with fresh_database(admin) as dsn:
                result = run_import(dsn, warc, args.extract_timeout, args.workers,
                                    args.profile if round_ == 0 else None)
                with psycopg.connect(dsn) as conn:
                    stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            if best is None or result.seconds < best.seconds:
                best = result
    elapsed, summary, phases = best.seconds, best.summary, best.phases

    o = summary.outcomes
    print(f"{n} pages from {args.pages}, best of {args.rounds} rounds; extract_article finds {articles_found} "
          f"articles; import: {o['stored']} "
          f"stored, {o['copies']} copies, {o['duplicates']} duplicates, {o['skipped']} skipped, "
          f"{o['errors']} errors ({stored} rows)")
    print(f"\n{'path':<44} {'seconds':>8} {'docs/s':>8} {'ms/doc':>8}")
    for label, seconds in (("bare trafilatura.extract (baseline)", bare),
                           ("extract_article in-process", ours),
                           ("import path (import_files)", elapsed)):
        print(f"{label:<44} {seconds:>8.2f} {n / seconds:>8.1f} {seconds / n * 1000:>8.1f}")
    ratio = bare / elapsed
    print(f"\nimport path / baseline: {ratio:.2f}x bare trafilatura docs/s "
          f"(target >= {TARGET_RATIO}x: {'ok' if ratio >= TARGET_RATIO else 'MISSED'})")

    spent = dict(phases.seconds)
    spent["other"] = elapsed - sum(spent.values())
    print(f"\n{'import path, per article':<44} {'ms/doc':>8} {'share':>7}")
    for phase in ("worker start", "extract", "dedupe", "store", "raw page", "alerts", "commit", "other"):
        seconds = spent.get(phase, 0.0)
        print(f"{phase:<44} {seconds / n * 1000:>8.1f} {seconds / elapsed:>7.0%}")
    print("(extract: waiting for a worker process; what extraction itself costs is the second line of the first table)")

    cpu = best.cpu
    print(f"\nCPU per article in that round, {os.cpu_count()} CPUs: "
          + ", ".join(f"{k} {v / n * 1000:.1f} ms" for k, v in cpu.items() if k != "others")
          + f"; the baseline {bare / n * 1000:.1f} ms on one CPU")
    if "others" in cpu:
        print(f"other processes kept {cpu['others'] / elapsed:.1f} of the {os.cpu_count()} CPUs busy meanwhile "
              "(the import's processes share what is left; the baseline needs only one)")
    if args.profile:
        print(f"\ncProfile stats of the import: {args.profile} (python -m pstats {args.profile})")


if __name__ == "__main__":
    main()
