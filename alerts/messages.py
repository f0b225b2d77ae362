"""What an alert says: plain text that reads well in an email, a chat message or a JSON webhook."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.outbox import ClaimedDelivery

TITLE_CHARS = 200


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def _entry(row: ClaimedDelivery) -> list[str]:
    lines = [
        f"{row.outlet_title} ({row.outlet}) · {row.published} {row.time_zone}",
        row.url,
    ]
    snippet = " ".join(row.snippet.split())
    if snippet:
        lines.append(f"… {snippet} …")
    if row.copy_outlets:
        lines.append("Also carried by: " + ", ".join(
            f"{outlet} {url}" for outlet, url in zip(row.copy_outlets, row.copy_urls)))
    return lines


def _cut(text: str, chars: int = TITLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _footer(watch: str, deliveries: list[int]) -> str:
    """The ids let a reader (or a filter) of a channel without headers spot a repeat."""
    ids = ", ".join(map(str, deliveries))
    return f"-- wirewatch watch show {watch} · {'delivery' if len(deliveries) == 1 else 'deliveries'} {ids}"


def instant_message(row: ClaimedDelivery) -> Message:
    label = "Update" if row.kind == "update" else "New"
    return Message(title=_cut(f"[{row.watch}] {label}: {row.title}"),
                   body="\n".join([row.title, *_entry(row), "", _footer(row.watch, [row.id])]))


def digest_message(rows: Sequence[ClaimedDelivery]) -> Message:
    """One message for every due alert of one watch on one channel, oldest first."""
    first = rows[0]
    period = "hourly" if first.mode == "hourly" else "daily"
    count = len(rows)
    title = f"[{first.watch}] {period} digest: {count} {'story' if count == 1 else 'stories'}"
    body: list[str] = []
    for index, row in enumerate(rows, 1):
        marker = " (update)" if row.kind == "update" else ""
        body.extend([f"{index}. {row.title}{marker}", *("   " + line for line in _entry(row)), ""])
    body.append(_footer(first.watch, [row.id for row in rows]))
    return Message(title=_cut(title), body="\n".join(body))


def test_message(watch: str, query: str, matches: int) -> Message:
    return Message(
        title=f"[{watch}] wirewatch test message",
        body=f"This channel receives the alerts of the watch {watch!r} (query: {query}).\n"
             f"{matches} archived {'article matches' if matches == 1 else 'articles match'} it today.",
    )
