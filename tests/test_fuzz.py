"""Fuzzing the inputs that reach SQL: search queries and filters (db/search.py), watch queries
(alerts/), and the HTTP API's parameters. Hypothesis draws tsquery and web-search syntax, SQL
fragments, NUL, lone surrogates, CJK, emoji and huge strings. Nothing may fail but with a clean
refusal (a 4xx JSON error, a WatchError, a one-line CLI error), and nothing is executed as SQL:
the archive and a canary table aimed at by the injections are intact afterwards."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from alerts.spec import WatchError, build_watch, query_problem
from alerts.store import check_with_database
from crawler.ingest import IngestTarget, ingest_page
from crawler.items import FetchedPage
from db import search as archive
from db.search import Filters
from scheduler.database import sync_outlets
from scheduler.outlets import parse_outlets
from tests.conftest import fresh_database
from tests.hostile_server import JAPANESE, article_html

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CANARY = "fuzz_canary"
TSQUERY = ["&", "|", "!", "!!", "<->", "<2>", "<-1>", ":", ":*", ":A", ":AB*", "*", "(", ")", "()", "'", "''", '"',
           '""', "\\", "\\'", "-", "--x", " OR ", " AND ", " or ", "OR", "AND", "NOT", " ", "\t", "\n", "&&", "||"]
SQL = ["'; DROP TABLE articles; --", f"'); DROP TABLE {CANARY}; --", f"\"; DROP TABLE {CANARY}; --", "--", "/*",
       "*/", "$$", f"$$; DROP TABLE {CANARY}; $$", "%s", "%(query)s", "%%", ";", "' OR '1'='1", "E'\\\\'", "::text",
       "::tsquery", "@@", "to_tsquery('", "\\x00", "{", "}", "[", "]", "`"]
WORDS = ["Lavrov", "lighthouse", "northern", "keeper", "the", "a", "北方領土", "交渉", "北", "ラブロフ", "ｌａｖｒｏｖ",
         "Россия", "Ελλάδα", "🦀", "😀👍🏽", "𠮷野家", "\u200b", "\ufeff", "\u0301", "ß", "İ", "\U0010ffff"]
HUGE = ["a" * 20_000, "北" * 5_000, "(" * 3_000, '"' * 3_001, "- a " * 3_000, " OR " * 1_000, "'" * 4_000,
        "lighthouse " * 1_500, "北方" * 2_500 + " lighthouse", "a:* & " * 1_000, "\\" * 5_000]

pieces = st.one_of(st.sampled_from(TSQUERY + SQL + WORDS), st.text(max_size=12), st.characters())
# Text PostgreSQL can hold: what reaches db/ after the CLI's and the API's validation.
storable = st.one_of(st.lists(pieces, max_size=16).map("".join), st.text(max_size=300), st.sampled_from(HUGE))
# Anything a client can send: NUL, lone surrogates (as the bytes they would be), control characters.
hostile = st.one_of(storable, st.lists(st.one_of(pieces, st.sampled_from(["\x00", "\ud800", "\udcff", "\x7f"]),
                                                 st.characters(categories=["Cs", "Cc"])), max_size=12).map("".join))
moments = st.one_of(st.none(), st.datetimes(timezones=st.just(timezone.utc)))


def no_nul(text: str) -> bool:
    return "\x00" not in text


def accepted(query: str) -> bool:
    """What the CLI, the API and watches let through to db/ (alerts.spec.query_problem)."""
    return query_problem(query) is None


@pytest.fixture(scope="module")
def archive_dsn(template_db: str):
    """A small archive: four English reports (two of them copies) and two Japanese ones."""
    with fresh_database(template_db) as dsn:
        with psycopg.connect(dsn) as conn:
            sync_outlets(conn, parse_outlets(
                '[[outlet]]\nname = "harbour"\ntitle = "Harbour"\nhomepage = "https://harbour.example/"\n'
                'language = "en"\nfeeds = ["https://harbour.example/feed.xml"]\n'))
            target = IngestTarget(outlet="harbour", wire=False, rules=None, run_id=None)
            pages = [(f"https://harbour.example/{n}", article_html(n, f"Lighthouse {n}: Lavrov and the kuril "
                                                                      "lighthouse")) for n in range(1, 5)]
            pages += [(f"https://harbour.example/ja/{e}", JAPANESE[e].encode(e)) for e in JAPANESE]
            for url, body in pages:
                ingest_page(conn, FetchedPage(url, url, body, headers={"Content-Type": "text/html"}), target)
            conn.execute(f"CREATE TABLE {CANARY} (id int)")  # a fixed name, no input
            conn.commit()
        yield dsn


@pytest.fixture(scope="module")
def conn(archive_dsn: str):
    with psycopg.connect(archive_dsn, autocommit=True) as connection:
        yield connection


def intact(conn: psycopg.Connection) -> tuple[int, bool]:
    articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    canary = conn.execute("SELECT to_regclass(%(name)s) IS NOT NULL", {"name": CANARY}).fetchone()[0]
    return articles, canary


def test_the_archive_answers_the_plain_query(conn) -> None:
    """The baseline: the fuzz runs against an archive where a plain query does find articles."""
    assert intact(conn) == (6, True)
    assert len(archive.search(conn, Filters("lighthouse"))) == 2  # originals; the copies come attached
    assert archive.search(conn, Filters("北方領土"))


@FUZZ
@given(query=storable.filter(accepted), outlet=st.one_of(st.none(), storable.filter(no_nul)),
       language=st.one_of(st.none(), st.sampled_from(["en", "ja", "EN", ""]), storable.filter(no_nul)),
       since=moments, until=moments, sort=st.sampled_from(archive.SORTS), expand=st.booleans(),
       limit=st.integers(1, 100), offset=st.integers(0, 2**31 - 1))
def test_search_takes_any_text(conn, query, outlet, language, since, until, sort, expand, limit, offset) -> None:
    filters = Filters(query, outlet=outlet, language=language, since=since, until=until)
    hits = archive.search(conn, filters, sort=sort, expand=expand, limit=limit, offset=offset)
    assert len(hits) <= limit
    for hit in hits:
        hit.as_record()


@FUZZ
@given(query=st.one_of(st.none(), storable.filter(accepted)), outlet=st.one_of(st.none(), storable.filter(no_nul)),
       since=moments, until=moments, offset=st.integers(0, 2**31 - 1))
def test_stories_and_coverage_take_any_text(conn, query, outlet, since, until, offset) -> None:
    filters = Filters(query, outlet=outlet, since=since, until=until)
    assert len(archive.stories(conn, filters, limit=20, offset=offset)) <= 20
    assert all(day.articles > 0 for day in archive.coverage(conn, filters))


@FUZZ
@given(query=hostile, language=st.one_of(st.none(), st.sampled_from(["en", "ja"])),
       time_zone=st.one_of(st.none(), st.sampled_from(["UTC", "Asia/Tokyo", "Mars/Olympus"]), hostile))
def test_watch_query_validation_refuses_cleanly(conn, query, language, time_zone) -> None:
    try:
        spec = build_watch("fuzz", query, ["json://127.0.0.1:9/hook"], language=language, time_zone=time_zone)
    except WatchError as exc:
        assert str(exc).startswith("watch 'fuzz': ")
        return
    assert "\x00" not in spec.query and spec.query.encode("utf-8")
    try:
        check_with_database(conn, spec)  # PostgreSQL's own parse of the query
    except WatchError as exc:
        assert str(exc).startswith("watch 'fuzz': ")


@pytest.fixture(scope="module")
def client(archive_dsn: str):
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(archive_dsn), raise_server_exceptions=False) as http:
        yield http


def encoded(value: str) -> str:
    """How a client puts any text in a URL: its UTF-8 bytes percent-encoded; a lone surrogate as
    the three bytes it would be (invalid UTF-8, which the server must take too)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def clean(response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400 and response.headers["content-type"].startswith("text/html"):
        assert "<h1>Error" in response.text or "Error" in response.text  # the web UI's error page
    elif response.status_code >= 400:
        body = response.json()
        assert isinstance(body["error"], str) and body["error"], body


API_PARAMS = ["q", "outlet", "lang", "since", "until", "sort", "limit", "cursor", "format", "with_copies"]
dates = st.one_of(st.dates().map(str), st.datetimes().map(datetime.isoformat),
                  st.datetimes(timezones=st.timezones()).map(datetime.isoformat))
param_values = st.one_of(hostile, dates, st.integers(-2**70, 2**70).map(str),
                         st.sampled_from(["relevance", "date", "json", "csv", "true", "0", "", "bzk5OTk5OTk5OTk5OTk5OTk5"]))


@FUZZ
@given(params=st.dictionaries(st.sampled_from(API_PARAMS), param_values, max_size=6),
       path=st.sampled_from(["/api/search", "/api/stories", "/feeds/search.atom", "/"]))
def test_api_parameters_never_cause_a_server_error(client, params: dict[str, str], path: str) -> None:
    query = "&".join(f"{name}={encoded(value)}" for name, value in params.items())
    assume(len(query) < 60_000)  # httpx's own limit on a URL is 64 KiB
    response = client.get(f"{path}?{query}")
    clean(response)
    if response.status_code == 200 and path.startswith("/api/"):
        assert isinstance(response.json()["results"], list)


@FUZZ
@given(article=st.one_of(st.integers(-2**70, 2**70).map(str), hostile.filter(lambda s: s not in (".", ".."))))
def test_api_article_ids_never_cause_a_server_error(client, article: str) -> None:
    response = client.get(f"/api/articles/{encoded(article)}")
    clean(response)
    if response.status_code == 200:
        assert response.json()["id"] == int(article)


# More '-' in a row than websearch_to_tsquery's operator stack holds (32): "tsquery stack too small".
STACK_OVERFLOWS = ["-" * 33, "- " * 33, "lighthouse " + "-&" * 40, "--" * 17 + "a", "-\u3000" * 33]


@pytest.mark.parametrize("query", STACK_OVERFLOWS)
def test_a_query_postgresql_cannot_parse_is_refused_before_sql(conn, client, query: str) -> None:
    with pytest.raises(psycopg.errors.InternalError):  # what db/ would meet: the check is not moot
        conn.execute("SELECT websearch_to_tsquery('simple', %(q)s)", {"q": query})
    response = client.get("/api/search", params={"q": query})
    assert response.status_code == 400 and "more than 32 '-' in a row" in response.json()["error"]
    with pytest.raises(WatchError, match="query: more than 32 '-' in a row"):
        build_watch("fuzz", query, ["json://127.0.0.1:9/hook"])
    assert query_problem("a".join(query.split("-")[:2]) + "-" * 31) is None  # up to 32 parse
    with pytest.raises(ValueError, match="more than 32 '-' in a row"):  # db/ itself refuses it too
        Filters(query)


def test_nul_is_a_clean_400(client) -> None:
    for path in ["/api/search?q=a%00b", "/api/search?q=x&outlet=%00", "/api/stories?q=%00", "/api/articles/1%00",
                 "/feeds/search.atom?q=%00", "/feeds/watches/%00.atom"]:
        response = client.get(path)
        assert response.status_code == 400 and "NUL" in response.json()["error"], path
    page = client.get("/?q=a%00b")  # the web UI: its error page
    assert page.status_code == 400 and "NUL" in page.text


def test_an_offset_beyond_bigint_is_a_clean_400(client) -> None:
    from web.params import encode_cursor

    response = client.get("/api/search", params={"q": "lighthouse", "cursor": encode_cursor(10**20)})
    assert response.status_code == 400 and response.json()["error"].startswith("cursor: ")


def test_bytes_that_are_not_utf8_are_a_clean_cli_error(archive_dsn: str, tmp_path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env |= {"WIREWATCH_HOME": str(tmp_path), "WIREWATCH_DATABASE_URL": archive_dsn}
    for args, says in [([b"search", b"\xff"], b"not valid UTF-8 text"),
                       ([b"search", b"ok", b"--outlet", b"\xed\xa0\x80"], b"not valid UTF-8 text"),
                       ([b"export", b"\xfe"], b"not valid UTF-8 text"),
                       ([b"search", b"lighthouse " + b"- " * 33], b"more than 32 '-' in a row")]:
        result = subprocess.run([sys.executable.encode(), b"-m", b"scheduler.cli", *args], env=env,
                                capture_output=True, timeout=60)
        assert result.returncode == 2 and says in result.stderr and b"Traceback" not in result.stderr, result.stderr


def test_nothing_was_executed_as_sql(conn) -> None:
    """Last in the file: after every fuzz above, the archive and the canary are as they were."""
    assert intact(conn) == (6, True)
