"""An Atom feed (RFC 4287) of one watch's alerts, newest first, copies listed in each entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from db.outbox import AlertEntry
from db.watches import WatchRow

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom_feed(watch: WatchRow, entries: Sequence[AlertEntry], now: datetime) -> str:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"urn:wirewatch:watch:{watch.name}"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"wirewatch: {watch.name}"
    ET.SubElement(feed, f"{{{ATOM}}}subtitle").text = f"New stories matching {watch.query}"
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _stamp(entries[0].created_at if entries else now)
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "wirewatch"
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "wirewatch"
    for entry in entries:
        item = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(item, f"{{{ATOM}}}id").text = f"urn:wirewatch:alert:{entry.alert_id}"
        prefix = "Update: " if entry.kind == "update" else ""
        ET.SubElement(item, f"{{{ATOM}}}title").text = prefix + entry.title
        ET.SubElement(item, f"{{{ATOM}}}link", href=entry.url, rel="alternate")
        for url in entry.copy_urls:
            ET.SubElement(item, f"{{{ATOM}}}link", href=url, rel="related")
        ET.SubElement(item, f"{{{ATOM}}}updated").text = _stamp(entry.created_at)
        if entry.published_at:
            ET.SubElement(item, f"{{{ATOM}}}published").text = _stamp(entry.published_at)
        ET.SubElement(ET.SubElement(item, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = entry.outlet
        ET.SubElement(item, f"{{{ATOM}}}category", term=entry.kind)
        summary = " ".join(entry.snippet.split())
        if entry.copy_outlets:
            summary += "\nAlso carried by: " + ", ".join(entry.copy_outlets)
        ET.SubElement(item, f"{{{ATOM}}}summary").text = summary
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"
