"""Soak: many crawl cycles of the local replay in one daemon process; memory and speed.

Each cycle is the daemon's own path for every demo outlet at once (`Daemon.crawl_outlet`:
lease claim, crawl in-process, outcome through `scheduler.due`, lease release). After
`--warmup` cycles it records resident memory, runs the rest, and records it again (target:
growth under 20%). Then it times polls of unchanged sources (304 / same body) against
polls whose validators were forgotten (full download and parse; articles already known), and
counts the requests an unchanged poll costs and how often robots.txt was fetched in the run.
`--mode child` instead runs each cycle in a spawned child process, the alternative design.

    python bench/soak.py [--cycles 500] [--warmup 50] [--mode inprocess|child]

Needs no configuration: embedded PostgreSQL in a temporary directory, replay on 127.0.0.1.
500 in-process cycles of the 9 demo outlets take about 6.5 minutes on the project's 2-core machine
under a load average of 6-7 (2.5 minutes idle, with the 6 outlets of the time).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db import validators  # noqa: E402
from db.connect import embedded_dsn  # noqa: E402
from db.migrate import migrate  # noqa: E402
from demo.outlets import outlets_toml  # noqa: E402
from demo.server import ReplayServer  # noqa: E402
from scheduler.config import load_config  # noqa: E402
from scheduler.demo import DEMO_NETWORKS  # noqa: E402
from scheduler.database import sync_outlets  # noqa: E402
from scheduler.outlets import parse_outlets  # noqa: E402


def rss_mib() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def served(replay: ReplayServer) -> tuple[int, int]:
    """Requests the replay has answered so far: all, and those for robots.txt."""
    hits = dict(replay.hits)
    return sum(hits.values()), sum(n for (_, path), n in hits.items() if path == "/robots.txt")


def inprocess(outlets, config, dsn, cycles: int, warmup: int, replay: ReplayServer) -> None:
    from crawler.run import run_on_reactor
    from scheduler.daemon import Daemon

    daemon = Daemon(outlets, config, dsn, throttle_start_delay=0.0, allowed_networks=DEMO_NETWORKS)

    async def cycle() -> list:
        return await asyncio.gather(*(daemon.crawl_outlet(o.name, force=True) for o in outlets))

    async def main() -> None:
        daemon.open()
        for _ in range(warmup):
            await cycle()
        warm = rss_mib()
        started = time.perf_counter()
        for _ in range(cycles - warmup):
            await cycle()
        elapsed = time.perf_counter() - started
        end = rss_mib()
        print(f"in-process: {cycles} cycles of {len(outlets)} outlets; RSS after {warmup} warm-up cycles "
              f"{warm:.1f} MiB, after {cycles}: {end:.1f} MiB ({(end / warm - 1) * 100:+.1f}%); "
              f"{(cycles - warmup) / elapsed:.2f} cycles/s ({elapsed / (cycles - warmup) * 1000:.0f} ms per cycle)")
        unchanged, changed = [], []
        unchanged_requests = unchanged_robots = polls = unchanged_polls = 0
        for _ in range(20):
            total, robots = served(replay)
            results = await cycle()
            unchanged += [r.seconds for r in results if r and r.sources_unchanged]
            polls += len(results)
            unchanged_polls += sum(1 for r in results if r and r.sources_unchanged and not r.links_seen)
            unchanged_requests += served(replay)[0] - total
            unchanged_robots += served(replay)[1] - robots
            with psycopg.connect(dsn) as conn:
                for o in outlets:
                    validators.forget(conn, o.name)
            results = await cycle()
            changed += [r.seconds for r in results if r and not r.sources_unchanged]
        print(f"one outlet's poll, median: unchanged sources (304 or same body, nothing parsed) "
              f"{statistics.median(unchanged) * 1000:.0f} ms; changed (downloaded and parsed, articles known) "
              f"{statistics.median(changed) * 1000:.0f} ms")
        print(f"requests per poll in the unchanged cycles ({unchanged_polls} of {polls} polls unchanged): "
              f"{unchanged_requests / polls:.2f} (robots.txt {unchanged_robots / polls:.2f}); robots.txt fetched "
              f"{served(replay)[1]} times in the whole run ({cycles + 40} cycles of {len(outlets)} outlets)")

    try:
        run_on_reactor(main)
    finally:
        daemon.close()


def child(outlets, config, dsn, cycles: int) -> None:
    from scheduler.jobs import crawl_and_record

    started = time.perf_counter()
    for _ in range(cycles):
        crawl_and_record(outlets, config, dsn, throttle_start_delay=0.0, allowed_networks=DEMO_NETWORKS)
    elapsed = time.perf_counter() - started
    print(f"child process: {cycles} cycles of {len(outlets)} outlets; {cycles / elapsed:.2f} cycles/s "
          f"({elapsed / cycles * 1000:.0f} ms per cycle); parent RSS {rss_mib():.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--mode", choices=["inprocess", "child"], default="inprocess")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    home = Path(tempfile.mkdtemp(prefix="ww-soak-"))
    dsn = embedded_dsn(home / "pg", stop_on_exit=True)
    with psycopg.connect(dsn) as conn:
        migrate(conn)
    config = load_config(env={"WIREWATCH_HOME": str(home)})
    with ReplayServer() as replay:
        outlets = parse_outlets(outlets_toml(replay.bases), source="demo outlets")
        with psycopg.connect(dsn) as conn:
            sync_outlets(conn, outlets)
        if args.mode == "child":
            child(outlets, config, dsn, args.cycles)
        else:
            inprocess(outlets, config, dsn, args.cycles, min(args.warmup, args.cycles - 1), replay)


if __name__ == "__main__":
    main()
