"""`wirewatch demo`: serve the bundled replay of outlet sites on 127.0.0.1 and run the daemon's crawl cycle on it."""

from __future__ import annotations

import logging
import time

import click

from db import articles as article_rows
from db import outlets as outlet_rows
from db.connect import connect
from scheduler.config import Config
from scheduler.database import sync_outlets
from scheduler.jobs import crawl_and_record
from scheduler.outlets import parse_outlets
from scheduler.render import fit, render_rows
from scheduler.watch_cli import deliver_after_storing

log = logging.getLogger(__name__)

DEMO_PREFIX = "demo-"
# Loopback answers in microseconds; AutoThrottle's production start delay would only slow the demo.
DEMO_THROTTLE_START = 0.05
# The replay sites' ports, from here upwards: stable URLs make a second demo run find its pages archived.
DEMO_FIRST_PORT = 48710
DEMO_NETWORKS = ("127.0.0.0/8", "::1/128")


def run_demo(config: Config, dsn: str, *, serve: bool = False) -> None:
    from demo.outlets import outlets_toml
    from demo.server import ReplayServer

    with ReplayServer(first_port=DEMO_FIRST_PORT) as server:
        outlets = parse_outlets(outlets_toml(server.bases), source="demo outlets")
        with connect(dsn) as conn:
            sync_outlets(conn, outlets)
        click.echo(f"Serving {len(server.bases)} replay sites on 127.0.0.1; crawling them...", err=True)
        started = time.monotonic()
        # The replay sites are on 127.0.0.1, which production crawls refuse (crawler.safety); their
        # news is years old, and the demo shows what alerting does with it.
        results = crawl_and_record(outlets, config, dsn, throttle_start_delay=DEMO_THROTTLE_START,
                                   allowed_networks=(*config.allowed_networks, *DEMO_NETWORKS), alert_max_age=None)
        elapsed = time.monotonic() - started
        with connect(dsn) as conn:
            stored = article_rows.articles_of_outlets(conn, [o.name for o in outlets])
        _summarise(results, stored, elapsed)
        deliver_after_storing(dsn, err=False)
        if serve:
            click.echo("Replay sites: " + ", ".join(f"{k} {v}" for k, v in sorted(server.bases.items())), err=True)
            click.echo("Serving until Ctrl-C.", err=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


def _summarise(results, stored, elapsed: float) -> None:
    # Copies from the archive's final state: a copy stored before its original arrived was
    # re-pointed later in the crawl, after its own run had counted it as an original.
    copies_of = {r.outlet: sum(1 for a in stored if a.outlet == r.outlet and a.copy_of) for r in results}
    rows = [{"outlet": r.outlet, "pages fetched": r.pages_fetched, "articles stored": r.articles_stored,
             "syndicated copies": copies_of[r.outlet], "already known": r.duplicates_skipped, "errors": r.errors}
            for r in results]
    click.echo(f"\nCrawl finished in {elapsed:.1f}s.\n")
    click.echo(render_rows(rows, "table", columns=list(rows[0]) if rows else []))
    _print_stories(stored)
    click.echo("\nExplore it:\n"
               "  wirewatch search Lavrov                 # copies folded under their original\n"
               "  wirewatch search Lavrov --stories       # reports of one event grouped\n"
               "  wirewatch search Lavrov --with-copies\n"
               "  wirewatch search '\"northern territories\" -putin' --format json\n"
               "  wirewatch search 北方領土               # Japanese: Kyodo's report, regional copies folded\n"
               "  psql \"$(wirewatch db url)\" -c 'SELECT id, outlet, title, copy_of FROM articles'\n"
               "  wirewatch demo --clean     # remove the demo outlets again")


def _print_stories(stored) -> None:
    """Originals grouped by story, each with the copies other outlets carried."""
    copies = [a for a in stored if a.copy_of is not None]
    stories: dict[int, list] = {}
    for article in stored:
        if article.copy_of is None:
            stories.setdefault(article.story_id or article.id, []).append(article)
    shared = sum(1 for members in stories.values() if len(members) > 1)
    click.echo(f"Archive now holds {len(stored)} demo articles, {len(copies)} of them syndicated copies; "
               f"{len(stories)} stories, {shared} of them reported by more than one outlet:")
    for story, members in stories.items():
        click.echo(f"\n  story #{story}" + (f": {len(members)} reports of one event" if len(members) > 1 else ""))
        for article in members:
            date = article.published_at.strftime("%Y-%m-%d") if article.published_at else "????-??-??"
            wire = f" ({article.wire_service})" if article.wire_service else ""
            click.echo(f"    #{article.id:<4} {date} {article.outlet:<17} {fit(article.title, 64)}{wire}")
            for copy in (c for c in copies if c.copy_of == article.id):
                click.echo(f"          also carried by {copy.outlet} as \"{fit(copy.title, 50)}\" "
                           f"(similarity {copy.similarity or 0:.0f}) {copy.url}")


def clean_demo(dsn: str) -> list[str]:
    with connect(dsn) as conn:
        with conn.transaction():
            return outlet_rows.delete_outlets_with_prefix(conn, DEMO_PREFIX)
