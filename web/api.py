"""The JSON API (`/api/...`), the Atom feeds (`/feeds/...`) and `/healthz`.

Records have the same shape as `wirewatch search --format json` (db/search.py `as_record`).
Lists page by cursor: pass a response's `next_cursor` back as `cursor`; it is null on the last page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from alerts.feed import atom_feed
from alerts.spec import MAX_QUERY_CHARS, query_problem
from db import outbox, watches
from db import outlets as outlet_rows
from db import search as archive
from web.app import connection
from web.feeds import search_feed
from web.params import BadRequest, bounded, decode_cursor, encode_cursor, search_params
from web.pool import probe

# Beyond any offset this server hands out in a cursor; within PostgreSQL's bigint with room to spare.
MAX_OFFSET = 2**31 - 1


def checked_input(request: Request) -> None:
    """Every parameter of every route here, before any reaches the database: PostgreSQL refuses a
    NUL in text (the driver raises, which would be a 500), a query its parser fails on (a run of
    '-'), and an offset past bigint overflows."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in str(value):
            raise BadRequest(f"{name}: contains a NUL character")
    for q in request.query_params.getlist("q"):
        if len(q.strip()) <= MAX_QUERY_CHARS and (problem := query_problem(q)):  # longer: search_params refuses it
            raise BadRequest(f"q: {problem}")
    for cursor in request.query_params.getlist("cursor"):
        if decode_cursor(cursor) > MAX_OFFSET:
            raise BadRequest(f"cursor: not a cursor this server gave out: {cursor!r}")


router = APIRouter(dependencies=[Depends(checked_input)])
Conn = Annotated[psycopg.Connection, Depends(connection)]
ATOM_TYPE = "application/atom+xml; charset=utf-8"

# The CLI's parameters, documented once for the OpenAPI document.
Q = Annotated[str | None, Query(description='Web-search syntax: "a phrase", OR, -excluded.')]
Outlet = Annotated[str | None, Query(description="Only this outlet (its name).")]
Lang = Annotated[str | None, Query(description="Language code, e.g. en.")]
Since = Annotated[str | None, Query(description="Published on or after: YYYY-MM-DD or ISO 8601 (UTC by default).")]
Until = Annotated[str | None, Query(description="Published before: YYYY-MM-DD or ISO 8601.")]
Sort = Annotated[str | None, Query(description="relevance (weighted by recency, the default) or date.")]
Copies = Annotated[str | None, Query(description="true: syndicated copies as results of their own.")]
Limit = Annotated[str | None, Query(description="Results per page, 1 to 100 (default 20).")]
Cursor = Annotated[str | None, Query(description="The next_cursor of the previous page.")]


def _filter_error(problem: archive.FilterProblem) -> JSONResponse:
    """A filter no article can pass: 400 naming it (as the query parameter), with the archive's nearest
    values, rather than an empty page that looks like "nothing was published"."""
    name = {"language": "lang"}.get(problem.name, problem.name)
    return JSONResponse({"error": f"{name}: {problem.message}", "filter": name,
                         "suggestions": problem.suggestions}, status_code=400)


def _page(records: list[dict[str, Any]], *, offset: int, limit: int, more: bool, **extra: Any) -> dict[str, Any]:
    return jsonable_encoder(extra | {"results": records,
                                     "next_cursor": encode_cursor(offset + limit) if more else None})


@router.get("/healthz", tags=["service"])
@router.head("/healthz", include_in_schema=False)  # probes and monitors often send HEAD
async def healthz(request: Request) -> Response:
    """Liveness and database reachability, within a second whatever the database does (no pool
    wait); 503 while the database is unreachable. Never needs the token."""
    problem = await probe(request.app.state.pool, request.app.state.reachability)
    if problem is None:
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "degraded", "database": "unreachable", "error": problem}, status_code=503)


@router.get("/api/search", tags=["archive"])
def api_search(conn: Conn, q: Q = None, outlet: Outlet = None, lang: Lang = None, since: Since = None,
               until: Until = None, sort: Sort = None, with_copies: Copies = None, limit: Limit = None,
               cursor: Cursor = None) -> dict[str, Any]:
    """Articles matching a query: originals with the outlets that also carried them (`also_carried_by`),
    a snippet, and the matched terms (`highlights`)."""
    p = search_params(q=q, outlet=outlet, lang=lang, since=since, until=until, sort=sort,
                      with_copies=with_copies, limit=limit, cursor=cursor)
    hits = archive.search(conn, p.filters, sort=p.sort, expand=p.with_copies, limit=p.limit, offset=p.offset)
    if not hits and (problem := archive.filter_problem(conn, p.filters)):
        return _filter_error(problem)
    first = hits[0] if hits else None
    return _page([h.as_record() for h in hits], offset=p.offset, limit=p.limit, more=bool(first and first.more),
                 query=p.filters.query, total=first.total if first else 0,
                 total_exact=first.total_exact if first else True)


@router.get("/api/stories", tags=["archive"])
def api_stories(conn: Conn, q: Q = None, outlet: Outlet = None, lang: Lang = None, since: Since = None,
                until: Until = None, limit: Limit = None, cursor: Cursor = None) -> dict[str, Any]:
    """Stories (reports of one event and their copies), newest first; all of them without `q`."""
    p = search_params(q=q, outlet=outlet, lang=lang, since=since, until=until, limit=limit, cursor=cursor,
                      need_query=False)
    found = archive.stories(conn, p.filters, limit=p.limit + 1, offset=p.offset)
    if not found and (problem := archive.filter_problem(conn, p.filters)):
        return _filter_error(problem)
    return _page([s.as_record() for s in found[:p.limit]], offset=p.offset, limit=p.limit,
                 more=len(found) > p.limit, query=p.filters.query)


@router.get("/api/stories/{story_id}", tags=["archive"])
def api_story(conn: Conn, story_id: int) -> dict[str, Any]:
    """Every article of a story, earliest first (originals and copies)."""
    found = archive.story_articles(conn, story_id)
    if not found:
        raise HTTPException(404, f"no story {story_id}")
    return jsonable_encoder({"story": story_id, "articles": [a.as_record() for a in found]})


@router.get("/api/articles/{article_id}", tags=["archive"])
def api_article(conn: Conn, article_id: int) -> dict[str, Any]:
    """One article with every extracted field, its copies and the other reports of its story."""
    return jsonable_encoder(article_record(conn, article_id))


def article_record(conn: psycopg.Connection, article_id: int) -> dict[str, Any]:
    found = archive.article(conn, article_id)
    if found is None:
        raise HTTPException(404, f"no article {article_id}")
    copies = archive.copies_of(conn, [found.id])[found.id]
    story = archive.story_articles(conn, found.story_key)
    return found.as_record() | {"also_carried_by": [archive.copy_record(c) for c in copies],
                                "story_articles": [a.as_record() for a in story if a.id != found.id]}


@router.get("/api/outlets", tags=["service"])
def api_outlets(conn: Conn) -> dict[str, Any]:
    """Every outlet with its article count, crawl state and health (ok, failing, unhealthy)."""
    return jsonable_encoder({"results": [outlet_record(o) for o in outlet_rows.list_outlets(conn)]})


def outlet_record(o: outlet_rows.OutletRow) -> dict[str, Any]:
    health = "unhealthy" if not o.healthy else "failing" if o.consecutive_failures else "ok"
    return {"name": o.name, "title": o.title, "homepage": o.homepage, "language": o.language, "wire": o.wire,
            "configured": o.configured, "articles": o.articles, "health": health,
            "consecutive_failures": o.consecutive_failures, "last_error": o.last_error,
            "last_crawl": o.last_crawl_at, "last_success": o.last_success_at, "next_due": o.next_due_at,
            "crawling": o.lease_owner}


@router.get("/api/watches", tags=["alerts"])
def api_watches(conn: Conn) -> dict[str, Any]:
    """The watches with their masked channels (never the channel URLs) and alert counts."""
    return jsonable_encoder({"results": [{
        "name": w.name, "query": w.query, "parsed": w.parsed, "outlets": w.outlets, "language": w.language,
        "mode": w.mode, "daily_at": w.daily_at, "time_zone": w.time_zone, "updates": w.updates,
        "channels": w.channels, "alerts": w.alerts, "feed": f"/feeds/watches/{w.name}.atom",
    } for w in watches.list_watches(conn)]})


@router.get("/feeds/search.atom", tags=["feeds"], response_class=Response)
def feed_search(request: Request, conn: Conn, q: Q = None, outlet: Outlet = None, lang: Lang = None,
                limit: Limit = None) -> Response:
    """A saved search as an Atom feed: the newest matching originals."""
    p = search_params(q=q, outlet=outlet, lang=lang, limit=limit)
    hits = archive.search(conn, p.filters, sort="date", limit=p.limit)
    body = search_feed(p.filters, hits, base_url=request.app.state.base_url, now=datetime.now(timezone.utc))
    return Response(body, media_type=ATOM_TYPE)


@router.get("/feeds/watches/{name}.atom", tags=["feeds"], response_class=Response)
def feed_watch(conn: Conn, name: str, limit: Limit = None) -> Response:
    """A watch's alerts as an Atom feed (the same as `wirewatch watch feed NAME`)."""
    watch = watches.get_watch(conn, name)
    if watch is None:
        raise HTTPException(404, f"no watch named {name!r}")
    entries = outbox.watch_alerts(conn, name, bounded("limit", limit, 50, 1, 500))
    return Response(atom_feed(watch, entries, datetime.now(timezone.utc)), media_type=ATOM_TYPE)
