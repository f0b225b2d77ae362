"""What `wirewatch search` prints: originals with the outlets that also carried them, every
article (`--with-copies`), or stories (`--stories`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from db import articles

Rows = tuple[list[dict[str, Any]], list[str]]  # rows, and the table's columns


def search_rows(
    conn: psycopg.Connection, query: str, *, outlet: str | None, language: str | None, since: datetime | None,
    until: datetime | None, limit: int, with_copies: bool = False, stories: bool = False,
) -> Rows:
    filters = {"outlet": outlet, "language": language, "since": since, "until": until, "limit": limit}
    if stories:
        return _story_rows(articles.search_stories(conn, query, **filters))
    hits = articles.search(conn, query, collapse=not with_copies, **filters)
    copies = articles.copies_of(conn, [h.id for h in hits if h.copy_of is None])
    rows = []
    for h in hits:
        carried = copies.get(h.id, [])
        rows.append({
            "id": h.id, "published": h.published_at, "outlet": h.outlet, "title": h.title, "url": h.url,
            "copy_of": h.copy_of, "story_id": h.story_id, "wire": h.wire_service,
            "also_carried_by": [{"outlet": c.outlet, "url": c.url, "similarity": c.similarity} for c in carried],
            "also": _also(h.copy_of, carried),
        })
    return rows, ["id", "published", "outlet", "title", "also", "url"]


def _also(copy_of: int | None, carried: list[articles.CopyRow]) -> str:
    if copy_of is not None:
        return f"copy of #{copy_of}"
    if not carried:
        return ""
    return "also carried by " + ", ".join(dict.fromkeys(c.outlet for c in carried))


def _story_rows(found: list[articles.StoryHit]) -> Rows:
    rows = [{
        "story": s.story_id, "first_published": s.first_published, "reports": s.reports, "copies": s.copies,
        "outlets": ", ".join(s.outlets), "title": s.title, "originals": s.originals,
    } for s in found]
    return rows, ["story", "first_published", "reports", "copies", "outlets", "title"]
