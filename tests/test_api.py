"""The HTTP API on a real uvicorn (127.0.0.1, port 0) over the crawled demo archive, with httpx."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from tests.test_cli import STORED
from web.app import SECURITY_HEADERS, create_app

TOKEN = "s3cret-token-4b9e1f0a"


@contextmanager
def running(dsn: str, token: str | None = None, base_url: str | None = None):
    """The app on uvicorn in a thread; yields its base URL."""
    app = create_app(dsn, token=token, base_url=base_url)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and server.servers) and time.monotonic() < deadline:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def api(demo_archive):
    with running(demo_archive) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def test_search_pages_by_cursor(api) -> None:
    first = api.get("/api/search", params={"q": "Lavrov", "limit": 2}).json()
    assert first["total"] == 4 and len(first["results"]) == 2 and first["next_cursor"]
    second = api.get("/api/search", params={"q": "Lavrov", "limit": 2, "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None and len(second["results"]) == 2
    everything = api.get("/api/search", params={"q": "Lavrov", "limit": 10}).json()["results"]
    assert [r["id"] for r in first["results"] + second["results"]] == [r["id"] for r in everything]
    kyodo = next(r for r in everything if r["outlet"] == "demo-kyodo")
    assert {c["outlet"] for c in kyodo["also_carried_by"]} == {"demo-japantoday", "demo-japantimes"}
    assert kyodo["highlights"] == ["Lavrov"]


def test_search_takes_the_cli_parameters(api) -> None:
    def outlets(**params) -> set[str]:
        return {r["outlet"] for r in api.get("/api/search", params={"q": "Lavrov", **params}).json()["results"]}

    assert outlets(outlet="demo-jiji") == {"demo-jiji"}
    assert outlets(since="2023-01-01") == {"demo-kyodo", "demo-jiji"}
    assert outlets(until="2020-01-01T00:00:00Z") == {"demo-diplomat"}
    assert api.get("/api/search", params={"q": "Lavrov", "with_copies": "true"}).json()["total"] == 6
    dated = api.get("/api/search", params={"q": "Russia", "sort": "date"}).json()["results"]
    assert [r["published"] for r in dated] == sorted((r["published"] for r in dated), reverse=True)


@pytest.mark.parametrize("params, message", [
    ({}, "q: a search query is required"),
    ({"q": "x", "since": "last week"}, "since: expected a date"),
    ({"q": "x", "limit": "1000"}, "limit: expected 1 to 100"),
    ({"q": "x", "sort": "random"}, "sort: expected one of relevance, date"),
    ({"q": "x", "cursor": "not-ours"}, "cursor: not a cursor"),
    ({"q": "x", "with_copies": "maybe"}, "with_copies: expected true or false"),
])
def test_bad_parameters_are_a_clear_400(api, params, message) -> None:
    response = api.get("/api/search", params=params)
    assert response.status_code == 400 and message in response.json()["error"]


def test_hostile_query_text_is_only_a_query(api) -> None:
    for q in ['"unbalanced', "'; DROP TABLE articles; --", "a & | ! :*"]:
        assert api.get("/api/search", params={"q": q}).status_code == 200
    assert api.get("/api/search", params={"q": "Lavrov"}).json()["total"] == 4


def test_article_story_outlets_watches(api) -> None:
    kyodo = next(r for r in api.get("/api/search", params={"q": "Lavrov"}).json()["results"]
                 if r["outlet"] == "demo-kyodo")
    article = api.get(f"/api/articles/{kyodo['id']}").json()
    assert article["text"].startswith("Russian Foreign Minister") or "Lavrov" in article["text"]
    assert len(article["also_carried_by"]) == 2 and {a["outlet"] for a in article["story_articles"]} >= {"demo-jiji"}
    story = api.get(f"/api/stories/{article['story']}").json()
    assert len(story["articles"]) == 4
    stories = api.get("/api/stories", params={"q": "Lavrov"}).json()["results"]
    assert any(s["reports"] == 2 and s["copies"] == 2 for s in stories)
    outlets = api.get("/api/outlets").json()["results"]
    assert {o["health"] for o in outlets} == {"ok"} and sum(o["articles"] for o in outlets) == len(STORED)
    assert api.get("/api/watches").json() == {"results": []}
    missing = api.get("/api/articles/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "no article 999999"}
    assert api.get("/api/articles/abc").status_code == 400


def test_feeds_openapi_and_health(api) -> None:
    feed = api.get("/feeds/search.atom", params={"q": "Lavrov"})
    assert feed.headers["content-type"].startswith("application/atom+xml")
    entries = ET.fromstring(feed.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 4
    assert api.get("/feeds/watches/nope.atom").status_code == 404
    spec = api.get("/api/openapi.json").json()
    assert {"/api/search", "/api/articles/{article_id}", "/api/stories", "/api/outlets", "/api/watches",
            "/feeds/search.atom", "/healthz"} <= set(spec["paths"])
    assert api.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_a_token_guards_everything_but_health(demo_archive) -> None:
    with running(demo_archive, token=TOKEN) as base, httpx.Client(base_url=base, timeout=10) as client:
        denied = client.get("/api/search", params={"q": "Lavrov"})
        assert denied.status_code == 401 and "bearer token" in denied.json()["error"]
        assert client.get("/api/outlets", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/api/search", params={"q": "Lavrov"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert client.get("/feeds/search.atom", params={"q": "Lavrov", "token": TOKEN}).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_search_latency(api) -> None:
    """On the demo archive: p95 of /api/search through uvicorn, printed for the README (-s)."""
    timings = []
    for i in range(40):
        start = time.perf_counter()
        assert api.get("/api/search", params={"q": ["Lavrov", '"peace treaty"', "kuril OR Medvedev"][i % 3]}
                       ).status_code == 200
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    print(f"/api/search p50 {timings[20]:.1f} ms, p95 {timings[37]:.1f} ms")
    assert timings[37] < 500


ATOM = "{http://www.w3.org/2005/Atom}"


def feed_links(response: httpx.Response) -> list[str]:
    """The links to this server: the feed's own (self, alternate) and each entry's page (via)."""
    root = ET.fromstring(response.content)
    return ([link.get("href") for link in root.findall(f"{ATOM}link")]
            + [link.get("href") for link in root.iter(f"{ATOM}link") if link.get("rel") == "via"])


def test_feed_links_never_follow_the_host_header(api, demo_archive) -> None:
    hostile = api.get("/feeds/search.atom", params={"q": "Lavrov"}, headers={"Host": "evil.example"})
    assert hostile.status_code == 200 and b"evil.example" not in hostile.content
    links = feed_links(hostile)
    assert "/feeds/search.atom?q=Lavrov" in links and "/?q=Lavrov" in links  # relative: the reader's own URL
    assert all(h.startswith("/") for h in links), links
    with running(demo_archive, base_url="https://news.example/ww/") as base, httpx.Client(base_url=base) as client:
        configured = client.get("/feeds/search.atom", params={"q": "Lavrov"}, headers={"Host": "evil.example"})
    links = feed_links(configured)
    assert b"evil.example" not in configured.content
    assert "https://news.example/ww/feeds/search.atom?q=Lavrov" in links
    assert all(h.startswith("https://news.example/ww/") for h in links), links


def test_every_response_carries_the_security_headers(api, demo_archive) -> None:
    page = api.get("/", params={"q": "Lavrov"})
    assert page.headers["content-type"].startswith("text/html")
    for response in (page, api.get("/outlets"), api.get("/articles/999999"), api.get("/api/outlets"),
                     api.get("/healthz")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    with running(demo_archive, token=TOKEN) as base, httpx.Client(base_url=base) as client:
        denied = client.get("/")
    assert denied.status_code == 401 and denied.headers["x-frame-options"] == "DENY"


def test_head_healthz_answers(api) -> None:
    head = api.head("/healthz")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/json"


@pytest.mark.parametrize("token", ["x", "s3cret", "fifteen-chars-x"])
def test_a_short_token_is_refused(demo_archive, token: str, cli_env) -> None:
    import subprocess
    import sys

    with pytest.raises(ValueError, match="at least 16 characters"):
        create_app(demo_archive, token=token)
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "serve", "--host", "0.0.0.0"],
                            env=cli_env | {"WIREWATCH_API_TOKEN": token}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("Error: environment: WIREWATCH_API_TOKEN: expected a token of at least "
                                     "16 characters, got <redacted>")  # the token itself never shown


@pytest.mark.parametrize("path", ["/api/search", "/api/stories"])
@pytest.mark.parametrize("params, name, suggestions", [
    ({"outlet": "nope"}, "outlet", []),
    ({"outlet": "kyodo"}, "outlet", ["demo-kyodo", "demo-kyodo-ja"]),
    ({"lang": "xx"}, "lang", []),
    ({"since": "2024-01-02", "until": "2024-01-01"}, "since", []),
])
def test_a_filter_no_article_can_pass_is_a_400_naming_it(api, path, params, name, suggestions) -> None:
    response = api.get(path, params={"q": "Lavrov", **params})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["filter"] == name and body["error"].startswith(f"{name}: ") and body["suggestions"] == suggestions
    # a query that matches nothing under known filters is still an empty page
    assert api.get(path, params={"q": "zzxqv", "outlet": "demo-kyodo"}).status_code == 200


def test_since_and_until_take_durations(api) -> None:
    def total(**params) -> int:
        response = api.get("/api/search", params={"q": "Lavrov", **params})
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert total(since="99999d") == total() == 4 and total(until="1w") == 4 and total(since="36h") == 0
    refused = api.get("/api/search", params={"q": "Lavrov", "since": "yesterday"}).json()["error"]
    assert "2d, 36h or 1w" in refused and "2024-01-31" in refused


def test_the_openapi_document_is_also_at_the_root(api) -> None:
    root, documented = api.get("/openapi.json"), api.get("/api/openapi.json")
    assert root.status_code == 200 and root.json() == documented.json()
    assert "/api/search" in root.json()["paths"] and "/openapi.json" not in root.json()["paths"]
