"""URL identity: the canonical form under which a page is archived and never fetched twice."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|yclid|igshid|_ga|_gl|ref_src|cmpid|"
    r"ocid|ito|spm|s_cid|rss|from|xtor|__twitter_impression)$",
    re.IGNORECASE,
)


def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute http(s) URL with host lower-cased, default port, fragment and tracking parameters
    dropped and the remaining query sorted; the same page reached by two links gives one string."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    query_keys = [kv.split("=", 1)[0] for kv in parts.query.split("&") if kv]
    kept = [k for k in query_keys if not TRACKING_PARAMS.match(k)]
    rebuilt = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    if len(kept) != len(query_keys):
        rebuilt = url_query_cleaner(rebuilt, kept, unique=False, keep_fragments=False) if kept else \
            urlunsplit((scheme, netloc, parts.path or "/", "", ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same registrable-ish host (ignoring a leading www.)."""
    ha = (urlsplit(a).hostname or "").lower().removeprefix("www.")
    hb = (urlsplit(b).hostname or "").lower().removeprefix("www.")
    return bool(ha) and ha == hb
