"""URL identity: the canonical form under which a page is archived and never fetched twice.

Two layers. `canonical_url` is an address that still works: it is what the crawler fetches
and what an article row keeps (tracking parameters, fragment and AMP markers removed, host
lower-cased, default port dropped). `url_key` is identity only, never fetched: it also
forgets the scheme, a `www.`/`m.`/`mobile.`/`amp.` host prefix and a trailing slash, so the
http and https, desktop and mobile, AMP and regular addresses of one page share a key.
`article_urls` stores keys; a URL whose key is there is not fetched again.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|yclid|igshid|_ga|_gl|ref_src|cmpid|"
    r"ocid|ito|spm|s_cid|rss|from|xtor|__twitter_impression|amp|outputtype|output)$",
    re.IGNORECASE,
)
# Query values that select an AMP rendering (`?outputType=amp`, `?amp=1`); dropped with the
# names above only when they carry one of these values or none.
_AMP_VALUES = {"", "1", "true", "amp", "yes"}
_AMP_QUERY_NAMES = {"amp", "outputtype", "output"}

# "/amp", "/amp/", ".amp" at the end of a path, ".amp.html" -> ".html"; "/amp/" at its start.
_AMP_SUFFIX = re.compile(r"(?:/amp/?|\.amp)$|\.amp(?=\.html?$)", re.IGNORECASE)
_AMP_PREFIX = re.compile(r"^/amp(?=/)", re.IGNORECASE)
# Google's AMP cache: https://example-com.cdn.ampproject.org/c/s/example.com/path
_AMP_CACHE = re.compile(r"^/[cv]/(?:s/)?(?P<rest>[^/]+/.*)$")
# Host prefixes of variants of the same site, removed in the identity key only: the bare or
# www host may be the one that serves, so the fetched URL keeps its own.
_VARIANT_HOST = re.compile(r"^(?:www\d?|m|mobile|amp|sp)\.(?=[^.]+\.[^.]+)")


def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute http(s) URL with host lower-cased, default port, fragment, tracking parameters and
    AMP markers dropped and the remaining query sorted; the same page reached by two links gives
    one string. An AMP-cache URL gives the publisher's URL.

    Raises ValueError for a link no request can be made of (`http://example.com:99999/`,
    `http://[object Object]/`, an unclosed `[`): callers skip that link, not the document."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    path = parts.path or "/"
    if host.endswith(".cdn.ampproject.org") and (cached := _AMP_CACHE.match(path)):
        return canonical_url(("https://" if path.startswith(("/c/s/", "/v/s/")) else "http://") + cached.group("rest"))
    port = parts.port
    if ":" in host:  # an IPv6 literal keeps its brackets, or the address reads as a host and a port
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    path = _AMP_PREFIX.sub("", _AMP_SUFFIX.sub("", path)) or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k, v)])
    return canonicalize_url(urlunsplit((scheme, netloc, path, query, "")), keep_fragments=False)


def _tracking(name: str, value: str) -> bool:
    if name.lower() in _AMP_QUERY_NAMES:
        return value.lower() in _AMP_VALUES
    return bool(TRACKING_PARAMS.match(name))


def url_key(url: str) -> str:
    """Identity of a page, not an address: `//host/path?query` of the canonical URL without the
    scheme, a variant host prefix (www., m., mobile., amp., sp.) or a trailing slash."""
    parts = urlsplit(canonical_url(url))
    host = _VARIANT_HOST.sub("", parts.netloc)
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("", host, path, parts.query, ""))


def is_http_url(url: str) -> bool:
    """False, never an error, for anything a page may declare (`http://[object Object]/`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same host, ignoring variant prefixes (www., m., amp., ...)."""
    try:
        ha = _VARIANT_HOST.sub("", (urlsplit(a).hostname or "").lower())
        hb = _VARIANT_HOST.sub("", (urlsplit(b).hostname or "").lower())
    except ValueError:  # a malformed declared URL is no site
        return False
    return bool(ha) and ha == hb


def trustworthy_canonical(declared: str | None, page_url: str) -> bool:
    """Whether a page's declared canonical (rel=canonical, og:url) may name its archive row.

    Not when it points at another site (syndication partners name the original: the copy
    would collide with the original's row), nor when it is the site's home page while the
    page is not (a CMS template bug that would make every article one row)."""
    if not declared or not is_http_url(declared) or not same_site(declared, page_url):
        return False
    declared_path = urlsplit(declared).path.strip("/")
    page_path = urlsplit(page_url).path.strip("/")
    return bool(declared_path) or not page_path
