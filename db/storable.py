"""Values made storable: PostgreSQL text (and jsonb) holds neither NUL nor a lone surrogate.

Both reach us from pages: JSON-LD decodes `"\\u0000"` and `"\\ud800"` to exactly those
characters, and an article whose title carried one was refused by the insert (psycopg's
DataError for NUL, UnicodeEncodeError for a surrogate) on every crawl. NUL is removed (it is
never text); a surrogate, which cannot be encoded in UTF-8 and so means the source was broken,
becomes U+FFFD, as a decoder would have made of it.
"""

from __future__ import annotations

import re
from typing import Any

# U+D800-U+DFFF: in a Python str always unpaired (json.loads joins a valid pair into one character).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    if text.isascii():  # the common case, checked in C; NUL is ASCII
        return text.replace("\x00", "") if "\x00" in text else text
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(value: Any) -> Any:
    """`value` with every string in it made storable: str, and the lists, tuples and dicts (JSON)
    around them, keys included; anything else is returned as it is."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    return value
