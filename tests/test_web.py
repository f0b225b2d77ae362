"""The web UI in headless Chromium (Debian's `chromium`): a search with its chart, a click through to
an article, the story and outlets pages; a screenshot saved by the test."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from lxml import html

from db import search as archive
from db.search import Filters
from tests.test_api import running
from tests.test_search import generated_archive
from web import pages

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(demo_archive):
    with running(demo_archive) as base:
        yield base


@pytest.fixture
def browser(tmp_path: Path):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "headless Chromium is needed: apt-get install -y chromium (.ci/run does)"

    def run(*args: str) -> str:
        result = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                                capture_output=True, text=True, timeout=90)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout
    return run


def dom(browser, url: str):
    return html.fromstring(browser("--dump-dom", url))


def test_search_chart_and_click_through(browser, site: str, tmp_path: Path) -> None:
    page = dom(browser, f"{site}/?q=Lavrov")
    assert page.findtext(".//title").startswith("Lavrov")
    assert page.xpath("//main") and page.xpath("//form[@role='search']") and page.xpath("//label[@for='q']")
    results = page.xpath("//ol[@class='results']/li")
    assert len(results) == 4
    assert {m.text for m in page.xpath("//ol[@class='results']//mark")} == {"Lavrov"}
    chart = page.xpath("//figure[@class='coverage']//*[local-name()='svg']")[0]
    bars = chart.xpath(".//*[local-name()='rect']")
    # monthly over 2019-2023: one segment per outlet and month (Dec 2023: kyodo, jiji and two copies)
    assert len(bars) == 6 and "Coverage of 'Lavrov'" in chart.xpath(".//*[local-name()='title']")[0].text
    assert "demo-japantoday" in page.xpath("string(//ol[@class='results']/li[1])")  # also carried by

    link = results[0].xpath(".//h3/a")[0]
    article = dom(browser, site + link.get("href"))
    assert article.findtext(".//h1") == link.text
    assert "Also carried by" in article.text_content() and article.xpath("//a[starts-with(@href, '/stories/')]")
    story = dom(browser, site + article.xpath("//a[starts-with(@href, '/stories/')]/@href")[0])
    assert "2 reports" in story.text_content()
    outlets = dom(browser, f"{site}/outlets")
    assert len(outlets.xpath("//tbody/tr")) >= 6 and "unhealthy" not in outlets.xpath("string(//tbody)")

    shot = tmp_path / "search.png"
    browser("--window-size=1366,1400", "--hide-scrollbars", f"--screenshot={shot}", f"{site}/?q=Lavrov")
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_filters_paging_and_errors_in_the_page(browser, site: str) -> None:
    page = dom(browser, f"{site}/?q=Lavrov&outlet=demo-jiji")
    assert [o.text for o in page.xpath("//select[@id='outlet']/option[@selected]")] == ["demo-jiji"]
    assert len(page.xpath("//ol[@class='results']/li")) == 1
    first = dom(browser, f"{site}/?q=Lavrov&limit=2")
    following = first.xpath("//a[@rel='next']/@href")[0]
    second = dom(browser, site + following)
    titles = [a.text for p in (first, second) for a in p.xpath("//ol[@class='results']//h3/a")]
    assert len(set(titles)) == 4
    bad = dom(browser, f"{site}/?q=Lavrov&since=yesterday")
    assert "since: expected a date" in bad.xpath("string(//*[@role='alert'])")
    assert re.search(r"no article #999999", dom(browser, f"{site}/articles/999999").text_content())


def test_a_chart_slow_to_count_is_linked_not_waited_for(browser, dsn: str, monkeypatch) -> None:
    """40,000 articles with a phrase in half of them: counting its matches per day takes longer than
    the page's budget (lowered to 2 ms here; 1 s in use), so the results come without the chart and
    with a link that draws it; once counted, the chart is kept for the pages that follow. Cancelled,
    the count leaves the connection usable and its time limit as it was."""
    with psycopg.connect(dsn, autocommit=True) as db:
        generated_archive(db, 40_000, "CASE WHEN i % 2 = 0 THEN 'Talks on the northern territories resumed. ' "
                                      "ELSE 'Territories in the north. ' END", start="2024-01-01", every="20 minutes")
        phrase = Filters('"northern territories"')
        started = time.perf_counter()
        every_day = archive.coverage(db, phrase)
        assert (time.perf_counter() - started) * 1000 > 10 * 2  # far past the budget below
        assert archive.coverage(db, phrase, budget_ms=2) is None
        assert db.execute("SHOW statement_timeout").fetchone()[0] == "0"
        assert archive.coverage(db, phrase, budget_ms=60_000) == every_day and sum(d.articles for d in every_day) == 20_000
    with psycopg.connect(dsn) as db:  # in a transaction of its own: the limit is put back inside it too
        assert archive.coverage(db, phrase, budget_ms=60_000) == every_day
        assert db.execute("SHOW statement_timeout").fetchone()[0] == "0"
        assert archive.coverage(db, phrase, budget_ms=2) is None and db.execute("SELECT 1").fetchone() == (1,)

    monkeypatch.setattr(pages, "CHART_BUDGET_MS", 2)
    with running(dsn) as base:
        url = f"{base}/?q=%22northern+territories%22&limit=5"
        page = dom(browser, url)
        assert len(page.xpath("//ol[@class='results']/li")) == 5 and not page.xpath("//figure[@class='coverage']")
        link = page.xpath("//p[@class='coverage-note']/a/@href")[0]
        assert "chart=all" in link
        assert dom(browser, url).xpath("//p[@class='coverage-note']/a/@href") == [link]  # remembered as too slow
        drawn = dom(browser, base + link)
        assert drawn.xpath("//figure[@class='coverage']//*[local-name()='svg']//*[local-name()='rect']")
        assert dom(browser, url).xpath("//figure[@class='coverage']")  # counted once, kept while nothing arrives
        following = dom(browser, base + drawn.xpath("//a[@rel='next']/@href")[0])
        assert following.xpath("//figure[@class='coverage']") and "chart=all" in following.xpath("//a[@rel='next']/@href")[0]


def csp_violations(url: str, tmp_path: Path) -> list[str]:
    """Chromium's console lines about the Content-Security-Policy while it renders `url`."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "headless Chromium is needed: apt-get install -y chromium (.ci/run does)"
    result = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'csp-profile'}",
                             "--enable-logging=stderr", "--v=0", "--dump-dom", url],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0 and "<main" in result.stdout, result.stderr[-2000:]
    return [line for line in result.stderr.splitlines() if "Content Security Policy" in line]


def test_the_pages_work_under_their_content_security_policy(site: str, tmp_path: Path, monkeypatch) -> None:
    from web.app import SECURITY_HEADERS

    pages_to_check = [f"{site}/?q=Lavrov", f"{site}/outlets", f"{site}/articles/999999",
                      f"{site}/?q=Lavrov&since=yesterday"]
    for url in pages_to_check:
        assert csp_violations(url, tmp_path) == [], url
    # The check can fail: under a policy without the inline styles the same page is refused them.
    monkeypatch.setitem(SECURITY_HEADERS, "Content-Security-Policy", "default-src 'none'")
    refused = csp_violations(pages_to_check[0], tmp_path)
    assert refused and any("style" in line for line in refused), refused
