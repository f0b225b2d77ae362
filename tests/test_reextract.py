"""`wirewatch reextract`: stored raw pages through the current extractor again, in place."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import psycopg

from crawler.ingest import IngestTarget, Stored, ingest_page
from crawler import minhash
from crawler.items import FetchedPage
from crawler.outlet import ExtractionRules, Outlet
from db import articles, search
from scheduler.database import sync_outlets
from scheduler.reextract import reextract_articles, select_articles
from tests.test_extract import LAVROV, PROMO

# A promo block generic extraction keeps; the outlet's `drop` rule, added later, removes it.
RULES = ExtractionRules(drop=(".jx-extra",))


def page(url: str, title: str, promos: bool = False) -> FetchedPage:
    body = "".join(f"<p>{p}</p>" + "".join(
        f'<div class="jx-extra"><p>{PROMO} Issue {i}{j} is out now with more.</p></div>'
        for j in range(3 if promos else 0)) for i, p in enumerate(LAVROV))
    html = (f'<html lang="en"><head><title>{title}</title>'
            '<meta property="article:published_time" content="2023-12-19T08:41:00+09:00"></head>'
            f'<body><div class="story">{body}</div></body></html>')
    return FetchedPage(url=url, final_url=url, body=html.encode(), headers={"Content-Type": "text/html"})


def outlet(name: str, wire: bool = False) -> Outlet:
    return Outlet(name=name, title=name, homepage=f"https://{name}.example/", language="en", wire=wire,
                  feeds=(f"https://{name}.example/feed",))


def target(name: str, wire: bool = False) -> IngestTarget:
    return IngestTarget(outlet=name, wire=wire, rules=None, run_id=None, dedupe_window=timedelta(days=3))


def test_reextract_updates_changed_articles_in_place_and_relinks_them(conn: psycopg.Connection) -> None:
    sync_outlets(conn, [outlet("wire", wire=True), outlet("paper")])
    original = ingest_page(conn, page("https://wire.example/a", "Lavrov"), target("wire", wire=True))
    # Stored while the extractor kept the promo block: too different to be a copy.
    noisy = ingest_page(conn, page("https://paper.example/b", "Lavrov speaks", promos=True), target("paper"))
    assert isinstance(original, Stored) and isinstance(noisy, Stored)
    assert noisy.copy_of is None
    before = articles.get_extraction(conn, noisy.article_id)
    assert PROMO in before.text
    assert [h.id for h in search.search(conn, search.Filters("award-winning"))] == [noisy.article_id]
    conn.commit()

    ids = select_articles(conn, outlet=None, since=None)
    assert ids == [original.article_id, noisy.article_id]
    ticks = []
    summary = reextract_articles(conn, ids, rules={"paper": RULES}, dedupe_window=timedelta(days=3),
                                 tick=lambda: ticks.append(1))
    assert len(ticks) == 2
    assert (summary.examined, summary.texts_changed, summary.relinked, summary.not_articles) == (2, 1, 1, 0)
    after = articles.get_extraction(conn, noisy.article_id)
    assert PROMO not in after.text and after.text == "\n\n".join(LAVROV)
    assert after.extractor == "trafilatura" and after.title == "Lavrov speaks"
    assert articles.get_article(conn, noisy.article_id).copy_of == original.article_id  # dedupe ran again
    # The generated search column follows the new text, and so does the LSH index.
    assert not search.search(conn, search.Filters("award-winning"))
    indexed = {k for (k,) in conn.execute("SELECT band_key FROM article_bands WHERE article_id = %s",
                                          (noisy.article_id,))}
    assert indexed == set(minhash.text_band_keys(after.text))

    again = reextract_articles(conn, ids, rules={"paper": RULES}, dedupe_window=timedelta(days=3))
    assert (again.changed, again.unchanged) == (0, 2)  # a second run over the same pages changes nothing


def test_reextract_filters_by_outlet_and_keeps_pages_that_no_longer_extract(conn: psycopg.Connection) -> None:
    sync_outlets(conn, [outlet("wire", wire=True), outlet("paper")])
    kept = ingest_page(conn, page("https://paper.example/c", "Lavrov"), target("paper"))
    ingest_page(conn, page("https://wire.example/d", "Other"), target("wire", wire=True))
    assert select_articles(conn, outlet="paper", since=None) == [kept.article_id]
    # A rule that removes the whole story: the page is no article any more, the row stays.
    summary = reextract_articles(conn, [kept.article_id], rules={"paper": ExtractionRules(drop=(".story",))},
                                 dedupe_window=timedelta(days=3))
    assert (summary.not_articles, summary.changed) == (1, 0)
    assert articles.get_article(conn, kept.article_id).text == "\n\n".join(LAVROV)


def test_reextract_command_reports_what_changed(dsn: str, cli_env: dict[str, str], tmp_path) -> None:
    with psycopg.connect(dsn) as conn:
        sync_outlets(conn, [outlet("paper")])
        stored = ingest_page(conn, page("https://paper.example/e", "Lavrov", promos=True), target("paper"))
        assert isinstance(stored, Stored)
    outlets_file = tmp_path / "outlets.toml"
    outlets_file.write_text('[[outlet]]\nname = "paper"\ntitle = "Paper"\nhomepage = "https://paper.example/"\n'
                            'language = "en"\nfeeds = ["https://paper.example/feed"]\n'
                            '[outlet.rules]\ndrop = [".jx-extra"]\n')
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets_file), "reextract",
                             "--outlet", "paper", "--since", "2000-01-01"], env=cli_env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Re-extracted 1 articles: 1 changed (1 texts, 0 with a new copy link), 0 unchanged" in result.stdout
    assert "Re-extracting" in result.stderr  # the progress bar
    with psycopg.connect(dsn) as conn:
        assert PROMO not in articles.get_extraction(conn, stored.article_id).text
