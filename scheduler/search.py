"""What `wirewatch search`, `show` and `export` print, over db/search.py (the API and web UI's path too):
originals with the outlets that also carried them, every article (`--with-copies`), or stories
(`--stories`)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

import click
import psycopg

from db import search as archive
from db.search import Filters
from scheduler.render import screen_width

Rows = tuple[list[dict[str, Any]], list[str], str]  # rows, the table's columns, a line on how many there are
EXPORT_BATCH = 500
MATCH_LEAD = 10  # columns of the table's match column before the first matched word, at most


def search_rows(
    conn: psycopg.Connection, query: str, *, outlet: str | None, language: str | None, since: datetime | None,
    until: datetime | None, limit: int, offset: int = 0, with_copies: bool = False, stories: bool = False,
    sort: str = "relevance", color: bool = False,
) -> Rows:
    filters = Filters(query, outlet=outlet, language=language, since=since, until=until)
    if stories:
        return _story_rows(archive.stories(conn, filters, limit=limit, offset=offset))
    rows = []
    hits = archive.search(conn, filters, sort=sort, expand=with_copies, limit=limit, offset=offset)
    for hit in hits:
        record = hit.as_record()
        record["also_carried_by"] = [{k: _plain(v) for k, v in c.items()} for c in record["also_carried_by"]]
        record["also"] = _also(hit.copy_of, hit.copies)
        record["match"] = _highlight(hit.snippet, color)
        rows.append(record)
    return rows, ["id", "published", "outlet", "title", "match", "also"], _count_line(hits, offset)


def query_note(conn: psycopg.Connection, query: str) -> str | None:
    """One line on how PostgreSQL reads a query whose reading may surprise: the web-search parser
    ignores parentheses, and a word's '-' binds to the words around it before OR does
    (`kuril OR lavrov -hockey` is `kuril | (lavrov & !hockey)`). None for any other query."""
    unquoted = _QUOTED_RE.sub(" ", query)
    grouped = "(" in unquoted or ")" in unquoted
    if not grouped and not (_OR_RE.search(unquoted) and _EXCLUDED_RE.search(unquoted)):
        return None
    reading = _grouped(archive.query_reading(conn, query))
    return (f"Query read as: {reading} (" + ("parentheses do not group; " if grouped else "")
            + "AND binds before OR, so a '-' excludes only from its side of an OR)")


_QUOTED_RE = re.compile(r'"[^"]*"?')
_OR_RE = re.compile(r"(?:^|\s)or(?:\s|$)", re.IGNORECASE)
_EXCLUDED_RE = re.compile(r"(?:^|\s)-+[^\s-]")


def _grouped(tsquery: str) -> str:
    """tsquery text with each alternative of a top-level OR in parentheses where it has several
    terms: `'kuril' | 'lavrov' & !'hockey'` -> `'kuril' | ('lavrov' & !'hockey')`."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(tsquery):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            parts.append(tsquery[start:i].strip())
            start = i + 1
    parts.append(tsquery[start:].strip())
    if len(parts) == 1:
        return tsquery
    return " | ".join(f"({p})" if " & " in p else p for p in parts)


def _count_line(hits: list[archive.Hit], offset: int) -> str:
    if not hits:
        return ""
    first = hits[0]
    shown = f"results {offset + 1}-{offset + len(hits)}"
    if first.total_exact:
        return f"{shown} of {first.total:,}" + (" (--offset for more)" if first.more else "")
    return (f"{shown} of about {first.total:,}: relevance ranks the newest {first.pooled:,} matching articles; "
            "--sort date or --since/--until reach the others")


def _also(copy_of: int | None, carried: list[archive.CopyRow]) -> str:
    if copy_of is not None:
        return f"copy of #{copy_of}"
    if not carried:
        return ""
    return "also carried by " + ", ".join(dict.fromkeys(c.outlet for c in carried))


def _highlight(snippet: str, color: bool) -> str:
    """The snippet with matched terms in bold on a terminal, else between asterisks, from a few
    words before the first match: a narrow column is cut at its end, and must show a match."""
    on, off = ("\x1b[1m", "\x1b[0m") if color else ("*", "*")
    parts = archive.snippet_parts(snippet)
    if len(parts) > 1 and not parts[0][1] and screen_width(parts[0][0]) > MATCH_LEAD:
        before, start, room = parts[0][0], len(parts[0][0]), MATCH_LEAD
        while start and room >= screen_width(before[start - 1]):
            start -= 1
            room -= screen_width(before[start])
        lead = before[start:]
        space = lead.find(" ")  # from a whole word, where there is one
        parts[0] = ("…" + (lead[space + 1:] if 0 <= space < len(lead) - 1 else lead), False)
    return " ".join("".join(f"{on}{text}{off}" if matched else text for text, matched in parts).split())


def _story_rows(found: list[archive.Story]) -> Rows:
    rows = [s.as_record() | {"outlets": ", ".join(s.outlets)} for s in found]
    return rows, ["story", "first_published", "reports", "copies", "outlets", "title"], ""


def show_article(conn: psycopg.Connection, article_id: int) -> str:
    """One article as text: metadata, copies, story, then the clean text."""
    found = archive.article(conn, article_id)
    if found is None:
        raise click.ClickException(f"no article #{article_id}")
    lines = [found.title, "=" * min(len(found.title), 78)]
    meta = [("id", found.id), ("outlet", found.outlet), ("url", found.url),
            ("published", found.published_at), ("fetched", found.fetched_at), ("language", found.language),
            ("authors", ", ".join(found.authors)), ("section", found.section), ("tags", ", ".join(found.tags)),
            ("wire", found.wire_service), ("copy of", f"#{found.copy_of} ({found.similarity:.0f}% similar)"
                                           if found.copy_of else None)]
    lines += [f"{name + ':':<11}{value}" for name, value in meta if value not in (None, "")]
    copies = archive.copies_of(conn, [found.id])[found.id]
    if copies:
        lines += ["", "Also carried by:"] + [f"  #{c.id} {c.outlet:<20} {c.url}" for c in copies]
    story = [a for a in archive.story_articles(conn, found.story_key) if a.copy_of is None]
    if len(story) > 1:
        lines += ["", f"Story {found.story_key}: {len(story)} reports"]
        lines += [f"  #{a.id} {a.outlet:<20} {a.title}" + ("  (this one)" if a.id == found.id else "")
                  for a in story]
    if found.description_shown:
        lines += ["", found.description_shown]
    lines += ["", found.text, ""]
    return "\n".join(lines)


def export_ids(conn: psycopg.Connection, filters: Filters, *, with_copies: bool, limit: int | None) -> Iterator[int]:
    """Ids of a query's results, newest first (each original followed by its copies with `with_copies`);
    at most `limit` originals."""
    ids = archive.matching_originals(conn, filters, limit=limit)
    for start in range(0, len(ids), EXPORT_BATCH):
        batch = ids[start:start + EXPORT_BATCH]
        copies = archive.copies_of(conn, batch) if with_copies else {}
        for original in batch:
            yield original
            yield from (c.id for c in copies.get(original, []))


def export(conn: psycopg.Connection, ids: list[int], fmt: str, out: BinaryIO) -> int:
    """Write the articles as jsonl, csv or warc (their stored raw pages); returns records written."""
    if fmt == "warc":
        return _export_warc(conn, ids, out)
    records = (archive.article(conn, i).as_record() for i in ids)
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    written = 0
    writer = None
    for record in records:
        plain = {k: _plain(v) for k, v in record.items()}
        if fmt == "jsonl":
            text.write(json.dumps(plain, ensure_ascii=False) + "\n")
        else:
            if writer is None:
                writer = csv.DictWriter(text, fieldnames=list(plain), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: "|".join(v) if isinstance(v, list) else v for k, v in plain.items()})
        written += 1
    text.flush()
    text.detach()
    return written


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _export_warc(conn: psycopg.Connection, ids: list[int], out: BinaryIO) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True)
    written = 0
    for start in range(0, len(ids), EXPORT_BATCH):
        for page in archive.raw_pages(conn, ids[start:start + EXPORT_BATCH]):
            headers = [(k, v) for k, v in page.headers.items()
                       if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")]
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", page.content_type or "text/html; charset=utf-8"))
            status = page.status or 200
            http = StatusAndHeaders(f"{status} {'OK' if status == 200 else 'Archived'}", headers,
                                    protocol="HTTP/1.1")
            record = writer.create_warc_record(
                page.url, "response", payload=io.BytesIO(gzip.decompress(page.body_gzip)), http_headers=http,
                warc_headers_dict={"WARC-Date": page.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   "WARC-Wirewatch-Article": page.article_url})
            writer.write_record(record)
            written += 1
    return written


def flat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV cells: a list of terms or outlets joined by '|', the copies by their URLs."""
    def cell(key: str, value: Any) -> Any:
        if key == "also_carried_by":
            return "|".join(c["url"] for c in value)
        return "|".join(map(str, value)) if isinstance(value, list) else value
    return [{k: cell(k, v) for k, v in row.items()} for row in rows]
