"""Rows of data as a terminal table, JSON, JSON lines or CSV (the shared `--format` option)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import unicodedata
from datetime import datetime
from typing import Any

FORMATS = ("table", "json", "jsonl", "csv")
_SGR = re.compile(r"\x1b\[[0-9;]*m")  # a terminal's bold and reset around matched words
_RESET = "\x1b[0m"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).replace("\n", " ")


def render_rows(rows: list[dict[str, Any]], fmt: str, columns: list[str]) -> str:
    """`columns` picks and orders the table's columns; machine formats carry every key."""
    if fmt == "json":
        return json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps({k: _plain(v) for k, v in r.items()}, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _plain(v) for k, v in r.items()} for r in rows)
        return out.getvalue()
    if not rows:
        return ""
    return _table(rows, columns)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(screen_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    # Fit the terminal by shrinking the widest columns first (titles, URLs).
    budget = shutil.get_terminal_size((160, 24)).columns - 2 * (len(columns) - 1)
    while sum(widths) > budget and max(widths) > 12:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    for row in cells:
        lines.append("  ".join(_pad(fit(v, w), w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def screen_width(value: str) -> int:
    """The columns a text takes on a terminal: escape sequences none, wide (CJK) characters two."""
    return sum(map(_columns, _SGR.sub("", value)))


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _pad(value: str, width: int) -> str:
    return value + " " * (width - screen_width(value))


def fit(value: str, width: int) -> str:
    """`value` cut to `width` columns on screen, an ellipsis last; escape sequences are kept whole,
    and a reset follows one left open by the cut."""
    if screen_width(value) <= width:
        return value
    room, out, opened = max(1, width - 1), [], False
    for piece in re.split(f"({_SGR.pattern})", value):
        if _SGR.fullmatch(piece):
            if room <= 0:
                break
            out.append(piece)
            opened = piece != _RESET
            continue
        for char in piece:
            room -= _columns(char)
            if room < 0:
                break
            out.append(char)
        room = max(room, 0)
    return "".join(out) + (_RESET if opened else "") + "…"
