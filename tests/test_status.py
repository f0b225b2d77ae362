"""Extraction yield per crawl run, and `wirewatch status` flagging a sharp drop."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import psycopg

from crawler.ingest import IngestTarget, ingest_page
from crawler.items import FetchedPage
from crawler.outlet import Outlet
from db import runs
from db.runs import RunYield
from scheduler.database import sync_outlets
from scheduler.status import COLUMNS, Column, outlet_statuses, status_rows, yield_drops
from tests.test_extract import LAVROV


def run(pages: int, title: int, body: int, date: int, author: int, n: int = 0) -> RunYield:
    at = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=n)
    return RunYield(outlet="kyodo", id=n, kind="crawl", started_at=at, finished_at=at, status="ok", pages_fetched=pages,
                    articles_stored=body, pages_skipped=pages - body, pages_extracted=pages, with_title=title,
                    with_body=body, with_date=date, with_author=author)


HEALTHY = [run(10, 10, 10, 9, 6, n) for n in range(5)]


def test_a_sharp_drop_against_the_outlets_own_history_is_flagged() -> None:
    assert yield_drops(run(10, 10, 2, 9, 6), HEALTHY) == ["body 20% (usually 100%)"]
    assert yield_drops(run(10, 10, 10, 1, 0), HEALTHY) == ["date 10% (usually 90%)", "author 0% (usually 60%)"]


def test_no_flag_for_normal_variation_small_runs_or_short_history() -> None:
    assert yield_drops(run(10, 10, 8, 8, 4), HEALTHY) == []  # ordinary variation
    assert yield_drops(run(2, 2, 0, 0, 0), HEALTHY) == []  # 2 pages say little
    assert yield_drops(run(10, 10, 0, 0, 0), HEALTHY[:2]) == []  # not enough history yet
    never_authors = [run(10, 10, 10, 9, 0, n) for n in range(5)]
    assert yield_drops(run(10, 10, 10, 9, 0), never_authors) == []  # compared with itself, not others
    # Runs that extracted nothing (nothing new was published) are no history.
    assert yield_drops(run(10, 10, 1, 9, 6), [run(0, 0, 0, 0, 0, n) for n in range(5)]) == []


def test_status_rows_are_a_column_list_others_can_extend() -> None:
    from scheduler.status import OutletStatus

    status = OutletStatus("kyodo", run(10, 10, 2, 9, 6, 9), HEALTHY)
    extra = Column("next_due", lambda s: "soon")
    [row] = status_rows([status], [*COLUMNS, extra])
    assert row["outlet"] == "kyodo" and row["body"] == "20%" and row["next_due"] == "soon"
    assert row["yield_drop"] == "body 20% (usually 100%)"


def page(n: int, with_author: bool) -> FetchedPage:
    byline = '<meta name="author" content="Taro Yamada">' if with_author else ""
    html = (f'<html lang="en"><head><title>Story {n}</title>{byline}'
            '<meta property="article:published_time" content="2024-01-05T10:00:00+09:00"></head><body>'
            + "".join(f"<p>{p} ({n})</p>" for p in LAVROV) + "</body></html>")
    url = f"https://kyodo.example/news/{n}"
    return FetchedPage(url=url, final_url=url, body=html.encode())


def crawl_run(conn: psycopg.Connection, outlet: str, pages: list[FetchedPage]) -> int:
    run_id = runs.start_run(conn, outlet)
    target = IngestTarget(outlet=outlet, wire=False, rules=None, run_id=run_id)
    for p in pages:
        ingest_page(conn, p, target)
    runs.finish_run(conn, run_id, "ok")
    conn.commit()
    return run_id


def test_ingest_counts_the_yield_and_status_flags_the_redesign(dsn: str, cli_env: dict[str, str]) -> None:
    kyodo = Outlet(name="kyodo", title="Kyodo", homepage="https://kyodo.example/", language="en",
                   feeds=("https://kyodo.example/feed",))
    n = 0
    with psycopg.connect(dsn) as conn:
        sync_outlets(conn, [kyodo])
        for _ in range(4):  # history: every page a full article with its byline
            crawl_run(conn, "kyodo", [page(n := n + 1, True) for _ in range(4)])
        # The redesign: the byline is gone and two pages of four no longer yield a body.
        broken = [page(n := n + 1, False), page(n := n + 1, False),
                  FetchedPage(url="https://kyodo.example/x", final_url="https://kyodo.example/x", body=b"<p>x</p>"),
                  FetchedPage(url="https://kyodo.example/y", final_url="https://kyodo.example/y", body=b"<p>y</p>")]
        last = crawl_run(conn, "kyodo", broken)
        [status] = outlet_statuses(conn)
        assert status.last_run.id == last
        assert (status.last_run.pages_extracted, status.last_run.with_title, status.last_run.with_body,
                status.last_run.with_date, status.last_run.with_author) == (4, 2, 2, 2, 0)
        assert len(status.history) == 4
        assert status.drops == ["author 0% (usually 100%)"]  # body 50% is not below half of 100%

    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "status", "--format", "json"], env=cli_env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    [row] = [r for r in json.loads(result.stdout) if r["outlet"] == "kyodo"]
    assert row["pages"] == 4 and row["body"] == "50%" and row["author"] == "0%"
    assert row["yield_drop"] == "author 0% (usually 100%)"
    table = subprocess.run([sys.executable, "-m", "scheduler.cli", "status"], env=cli_env, capture_output=True,
                           text=True, timeout=180)
    assert "YIELD_DROP" in table.stdout and "Extraction yield dropped for: kyodo" in table.stderr
