"""Article pages built in the test, stored through the real ingest path into the test database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape

import psycopg

from crawler.ingest import IngestResult, IngestTarget, ingest_page
from crawler.items import FetchedPage
from db import outlets as outlet_rows

T0 = datetime(2023, 12, 18, 8, 42, tzinfo=timezone.utc)
WIRES = {"kyodo", "jiji"}


def html_page(title: str, paragraphs: list[str], published: datetime, authors: str = "") -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    byline = f'<meta name="author" content="{escape(authors)}">' if authors else ""
    return (f"<html><head><title>{escape(title)}</title>{byline}"
            f'<meta property="article:published_time" content="{published.isoformat()}">'
            f"</head><body><nav>Home | World | Politics</nav><article><h1>{escape(title)}</h1>{body}</article>"
            "<footer>Terms of use</footer></body></html>").encode()


def store(conn: psycopg.Connection, outlet: str, url: str, title: str, paragraphs: list[str],
          published: datetime = T0, *, authors: str = "", window: timedelta = timedelta(days=3)) -> IngestResult:
    with conn.transaction():
        outlet_rows.upsert_outlet(conn, name=outlet, title=outlet, homepage=f"https://{outlet}.example/",
                                  language="en", wire=outlet in WIRES, interval_seconds=600)
    page = FetchedPage(url=url, final_url=url, body=html_page(title, paragraphs, published, authors))
    return ingest_page(conn, page, IngestTarget(outlet=outlet, wire=outlet in WIRES, rules=None, run_id=None,
                                                dedupe_window=window))
