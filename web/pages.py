"""The web UI: server-rendered pages (Jinja2, no build step, no JavaScript) over the API's code path."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException

from db import outlets as outlet_rows
from db import search as archive
from web.api import checked_input, outlet_record
from web.app import connection
from web.chart import TOO_SLOW, CountedCoverage, coverage_chart
from web.params import encode_cursor, search_params

router = APIRouter(include_in_schema=False, dependencies=[Depends(checked_input)])
Conn = Annotated[psycopg.Connection, Depends(connection)]
templates = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(["html"]),
                        trim_blocks=True, lstrip_blocks=True)


def _highlight(snippet: str) -> Markup:
    return Markup("").join(Markup("<mark>{}</mark>").format(text) if matched else escape(text)
                           for text, matched in archive.snippet_parts(snippet))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "date unknown"


templates.filters["highlight"] = _highlight

# The chart counts every match of the query. Within this budget it is drawn with the results; past
# it the page says so and links to the chart (`chart=all`), counted without a limit.
CHART_BUDGET_MS = 1000


def coverage_days(conn: psycopg.Connection, filters: archive.Filters, counted: CountedCoverage, *,
                  budget: bool) -> list[archive.CoverageDay] | None:
    """The query's coverage, counted again only when an article arrived since; None past the budget
    (remembered too, so that the next page does not spend it again)."""
    key = (filters, archive.newest_article(conn))
    days = counted.get(key)
    if days is None or (days is TOO_SLOW and not budget):
        days = archive.coverage(conn, filters, budget_ms=CHART_BUDGET_MS if budget else None)
        counted.put(key, TOO_SLOW if days is None else days)
    return None if days is TOO_SLOW else days
templates.filters["when"] = _when


def render(name: str, code: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=code)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render("error.html", status, title=f"Error {status}", status=status, message=message)


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, conn: Conn) -> HTMLResponse:
    args = dict(request.query_params)
    args.pop("token", None)
    p = search_params(q=args.get("q"), outlet=args.get("outlet"), lang=args.get("lang"), since=args.get("since"),
                      until=args.get("until"), sort=args.get("sort"), with_copies=args.get("with_copies"),
                      limit=args.get("limit"), cursor=args.get("cursor"), need_query=False)
    outlets = outlet_rows.names_with_articles(conn)
    hits, chart, more, total, chart_url = [], None, False, 0, None
    if p.filters.query:
        hits = archive.search(conn, p.filters, sort=p.sort, expand=p.with_copies, limit=p.limit, offset=p.offset)
        total = hits[0].total if hits else 0
        more = bool(hits and hits[0].more)
        days = coverage_days(conn, p.filters, request.app.state.counted_coverage, budget=args.get("chart") != "all")
        if days is None:
            chart_url = "/?" + urlencode({k: v for k, v in args.items() if v} | {"chart": "all"})
        else:
            chart = coverage_chart(days, repr(p.filters.query))
    keep = {k: v for k, v in args.items() if v and k != "cursor"}
    return render(
        "search.html", title=f"{p.filters.query} – wirewatch search" if p.filters.query else "wirewatch search",
        args=args, params=p, hits=hits, total=total, chart=chart, chart_url=chart_url, outlets=outlets,
        next_url="/?" + urlencode(keep | {"cursor": encode_cursor(p.offset + p.limit)}) if more else None,
        previous_url=("/?" + urlencode(keep | ({"cursor": encode_cursor(max(0, p.offset - p.limit))}
                                               if p.offset > p.limit else {}))) if p.offset else None,
        feed_url="/feeds/search.atom?" + urlencode({k: v for k, v in keep.items() if k in ("q", "outlet", "lang")}),
    )


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(conn: Conn, article_id: int) -> HTMLResponse:
    found = archive.article(conn, article_id)
    if found is None:
        raise HTTPException(404, f"There is no article #{article_id} in the archive.")
    story = [a for a in archive.story_articles(conn, found.story_key) if a.id != found.id]
    return render("article.html", title=found.title, article=found,
                  copies=archive.copies_of(conn, [found.id])[found.id], story=story,
                  original=archive.article(conn, found.copy_of) if found.copy_of else None,
                  paragraphs=[p for p in found.text.split("\n") if p.strip()])


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def story_page(conn: Conn, story_id: int) -> HTMLResponse:
    found = archive.story_articles(conn, story_id)
    if not found:
        raise HTTPException(404, f"There is no story {story_id} in the archive.")
    originals = [a for a in found if a.copy_of is None]
    copies: dict[int, list] = {a.id: [] for a in originals}
    for a in found:
        if a.copy_of is not None:
            copies.setdefault(a.copy_of, []).append(a)
    return render("story.html", title=(originals or found)[0].title, story_id=story_id, originals=originals,
                  copies=copies, outlets=sorted({a.outlet for a in found}))


@router.get("/outlets", response_class=HTMLResponse)
def outlets_page(conn: Conn) -> HTMLResponse:
    rows = [outlet_record(o) for o in outlet_rows.list_outlets(conn)]
    return render("outlets.html", title="Outlets – wirewatch", outlets=rows,
                  unhealthy=sum(1 for o in rows if o["health"] != "ok"))
