"""Every SQL statement wirewatch runs, parsed once from `queries.sql` into `QUERIES`.

A block starts with a line `-- name --`, then a one-line purpose comment, then the statement.
"""

from __future__ import annotations

import re
from importlib import resources

BLOCK_RE = re.compile(r"^-- ([a-z_]+) --$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    parts = BLOCK_RE.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f"queries.sql: query {name!r} defined twice")
        lines = [line for line in body.strip().splitlines() if not line.startswith("-- ")]
        queries[name] = "\n".join(lines).strip()
    return queries


QUERIES = parse_queries(resources.files("db").joinpath("queries.sql").read_text(encoding="utf-8"))
