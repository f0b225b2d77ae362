"""What a crawl in a fresh child process costs before it fetches anything.

The daemon used to run each crawl in a spawned child (Twisted's reactor cannot restart in a process);
README "Performance" compares it with crawling in-process (bench/soak.py), the design chosen.
This measures, on this machine, the fixed price of that choice: spawn + import of the
crawler stack + Scrapy's CrawlerProcess set-up, against the same work done in-process
(warm imports) as the baseline.

    python bench/crawl_child_cost.py [--runs 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time


def _prepare() -> None:
    from crawler.run import CrawlOptions, scrapy_settings
    from scrapy.crawler import CrawlerProcess

    CrawlerProcess(scrapy_settings(CrawlOptions(dsn="", user_agent="bench")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    ctx = multiprocessing.get_context("spawn")
    child = []
    for _ in range(runs):
        started = time.perf_counter()
        process = ctx.Process(target=_prepare)
        process.start()
        process.join()
        child.append(time.perf_counter() - started)
    _prepare()  # warm the imports for the in-process baseline
    inproc = []
    for _ in range(runs):
        started = time.perf_counter()
        _prepare()
        inproc.append(time.perf_counter() - started)
    c, i = statistics.median(child), statistics.median(inproc)
    print(f"child process (spawn + imports + set-up): median {c * 1000:.0f} ms over {runs} runs")
    print(f"in-process set-up (warm imports):         median {i * 1000:.0f} ms over {runs} runs")
    print(f"fixed cost of a child per crawl: {(c - i) * 1000:.0f} ms ({c / i:.0f}x the in-process set-up)")


if __name__ == "__main__":
    main()
