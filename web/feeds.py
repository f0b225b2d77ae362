"""An Atom feed (RFC 4287) of a saved search: the newest matching originals, copies as related links.

A feed reader polls the same URL for ever, so entries are keyed by article (`urn:wirewatch:article:ID`)
and the feed's id by the normalised query string: the same search is the same feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from db.search import Filters, Hit, plain_snippet

ATOM = "http://www.w3.org/2005/Atom"


def _utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def search_feed(filters: Filters, hits: Sequence[Hit], *, base_url: str, now: datetime) -> str:
    ET.register_namespace("", ATOM)
    criteria = {"q": filters.query, "outlet": filters.outlet, "lang": filters.language}
    query_string = urlencode({k: v for k, v in criteria.items() if v})
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"urn:wirewatch:search:{query_string}")
    _add(feed, "title", f"wirewatch: {filters.query}")
    _add(feed, "link", href=f"{base_url}feeds/search.atom?{query_string}", rel="self")
    _add(feed, "link", href=f"{base_url}?{query_string}", rel="alternate", type="text/html")
    newest = max((h.published_at or h.fetched_at for h in hits), default=now)
    _add(feed, "updated", _utc(newest))
    _add(_add(feed, "author"), "name", "wirewatch")
    _add(feed, "generator", "wirewatch")
    for hit in hits:
        entry = _add(feed, "entry")
        _add(entry, "id", f"urn:wirewatch:article:{hit.id}")
        _add(entry, "title", hit.title)
        _add(entry, "link", href=hit.url, rel="alternate")
        _add(entry, "link", href=f"{base_url}articles/{hit.id}", rel="via", type="text/html")
        for copy in hit.copies:
            _add(entry, "link", href=copy.url, rel="related", title=copy.outlet)
        _add(entry, "updated", _utc(hit.published_at or hit.fetched_at))
        if hit.published_at:
            _add(entry, "published", _utc(hit.published_at))
        _add(_add(entry, "author"), "name", hit.outlet)
        summary = plain_snippet(hit.snippet)
        if hit.copies:
            summary += "\nAlso carried by: " + ", ".join(dict.fromkeys(c.outlet for c in hit.copies))
        _add(entry, "summary", summary)
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
