"""Article metadata from a parsed page: JSON-LD, then OpenGraph and standard meta tags.

Each field is taken from the first source that has it, in this order:

1. JSON-LD objects typed `NewsArticle`, `Article`, `ReportageNewsArticle` (and the other
   article types below), top-level, in a list or inside `@graph`;
2. OpenGraph (`og:*`), `article:*` and standard `<meta>`/`<link>` elements;
3. the page structure: `<h1>`, then `<title>` without its " | Site" suffix; the page's
   own URL as canonical URL.

Language is the exception: `<html lang>` comes first, then JSON-LD `inLanguage`, then
`og:locale`; `detect_language` guesses from the text when none is declared.

`complete_metadata` fills what is still missing from trafilatura's metadata and htmldate,
which cost more (htmldate scans the whole tree), so they only run when needed.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

import htmldate
import lxml.html
from dateutil import parser as date_parser
from trafilatura.metadata import extract_metadata as trafilatura_metadata

from crawler.clean import select
from crawler.outlet import ExtractionRules

log = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "Report",
        "BlogPosting",
        "LiveBlogPosting",
    }
)


@dataclass
class Metadata:
    """Mutable accumulator: a field set by an earlier source is never overwritten."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None
    updated_at: datetime | None = None
    language: str | None = None
    description: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image: str | None = None
    tags: tuple[str, ...] = ()
    section: str | None = None
    # What the page says it is: every JSON-LD `@type` and the `og:type` (crawler.nonarticle).
    page_types: frozenset[str] = frozenset()

    def offer(self, name: str, value: Any) -> None:
        if value in (None, "", ()) or getattr(self, name) not in (None, ()):
            return
        setattr(self, name, value)


def read_metadata(tree: lxml.html.HtmlElement, url: str | None) -> Metadata:
    """Metadata from JSON-LD, then meta tags, then page structure; `<html lang>` first of all."""
    meta = Metadata()
    root_lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    meta.offer("language", normalize_language(root_lang))
    types: set[str] = set()
    for obj in _json_ld_objects(tree):
        found = obj.get("@type")
        found = {t for t in (found if isinstance(found, list) else [found]) if isinstance(t, str)}
        types |= found
        if found & ARTICLE_TYPES:
            _from_json_ld(meta, obj, url)
    og_type = tree.find('.//meta[@property="og:type"]')
    if og_type is not None and og_type.get("content"):
        types.add("og:" + og_type.get("content").strip().lower())
    meta.page_types = frozenset(types)
    _from_meta_tags(meta, tree, url)
    _from_structure(meta, tree, url)
    return meta


# --- JSON-LD -------------------------------------------------------------------------


def _json_ld_objects(tree: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every typed JSON-LD object: top-level, in a list or inside `@graph`."""
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            # strict=False: some CMSs emit raw newlines inside JSON strings.
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            log.debug("unparseable JSON-LD block skipped")
            continue
        yield from _typed_objects(data)


def _typed_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _typed_objects(item)
    elif isinstance(data, dict):
        if "@type" in data:
            yield data
        if "@graph" in data:
            yield from _typed_objects(data["@graph"])


def _from_json_ld(meta: Metadata, obj: dict[str, Any], url: str | None) -> None:
    meta.offer("title", _clean(_first_text(obj.get("headline") or obj.get("name"))))
    meta.offer("authors", _people(obj.get("author")))
    meta.offer("published_at", parse_datetime(_first_text(obj.get("datePublished"))))
    meta.offer("updated_at", parse_datetime(_first_text(obj.get("dateModified"))))
    meta.offer("language", normalize_language(_first_text(obj.get("inLanguage"))))
    meta.offer("description", _clean(_first_text(obj.get("description"))))
    main = obj.get("mainEntityOfPage")
    main_url = main.get("@id") or main.get("url") if isinstance(main, dict) else main
    meta.offer("canonical_url", _absolute(_first_text(obj.get("url") or main_url), url))
    publisher = obj.get("publisher")
    if isinstance(publisher, dict):
        meta.offer("site_name", _clean(_first_text(publisher.get("name"))))
    meta.offer("image", _absolute(_image_url(obj.get("image")), url))
    meta.offer("tags", _keywords(obj.get("keywords")))
    meta.offer("section", _clean(_first_text(obj.get("articleSection"))))


def _first_text(value: Any) -> str | None:
    """A string from a JSON-LD value that may be a string, a list or a `{"name": ...}` node."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("@id")
    return value if isinstance(value, str) else None


def _image_url(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl")
    return value if isinstance(value, str) else None


def _people(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.extend(split_authors(name))
    return _unique(names)


def _keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return _unique(_clean(v) for v in value if isinstance(v, str))


# --- meta tags -----------------------------------------------------------------------


def _from_meta_tags(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None) -> None:
    tags: dict[str, list[str]] = {}
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and content.strip():
            tags.setdefault(key, []).append(_clean(content))

    def first(*keys: str) -> str | None:
        return next((tags[k][0] for k in keys if k in tags), None)

    meta.offer("title", first("og:title", "twitter:title"))
    authors = [a for k in ("author", "article:author", "byl", "dc.creator") for a in tags.get(k, [])]
    # article:author is often a profile URL rather than a name.
    meta.offer("authors", _unique(n for a in authors if "://" not in a for n in split_authors(a)))
    meta.offer(
        "published_at",
        parse_datetime(
            first("article:published_time", "og:published_time", "datepublished", "pubdate",
                  "publishdate", "date", "dc.date", "dc.date.issued", "sailthru.date")
        ),
    )
    meta.offer("updated_at", parse_datetime(first("article:modified_time", "og:updated_time", "datemodified")))
    meta.offer("language", normalize_language(first("og:locale", "content-language", "language")))
    meta.offer("description", first("og:description", "description", "twitter:description"))
    canonical = tree.find('.//link[@rel="canonical"]')
    # <link rel=canonical> exists only to name the canonical address, so it beats og:url.
    meta.offer("canonical_url", _absolute(canonical.get("href") if canonical is not None else None, url))
    meta.offer("canonical_url", _absolute(first("og:url"), url))
    meta.offer("site_name", first("og:site_name", "application-name", "publisher"))
    meta.offer("image", _absolute(first("og:image", "og:image:url", "twitter:image"), url))
    meta.offer("tags", _unique(tags.get("article:tag", [])))
    meta.offer("tags", _keywords(first("news_keywords", "keywords")))
    meta.offer("section", first("article:section"))


# --- page structure ------------------------------------------------------------------


def _from_structure(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None) -> None:
    h1 = tree.find(".//h1")
    meta.offer("title", _clean(h1.text_content()) if h1 is not None else None)
    title = tree.find(".//title")
    if title is not None:
        meta.offer("title", strip_site_suffix(_clean(title.text_content()), meta.site_name))
    if meta.title and meta.site_name:
        meta.title = strip_site_suffix(meta.title, meta.site_name, only_site=True)
    meta.offer("canonical_url", url)


# " | Site", " - Site", " – Site", " — Site", " : Site", "｜サイト" at the end of a <title>.
_SUFFIX = re.compile(r"(?:\s+[|\-–—:·]\s+|\s*｜\s*)([^|｜\-–—:·]{2,40})$")


def strip_site_suffix(title: str, site_name: str | None, only_site: bool = False) -> str:
    """Drop a trailing " | Site" segment; with `only_site`, only when it names the site."""
    match = _SUFFIX.search(title)
    if not match:
        return title
    suffix = match.group(1).strip().casefold()
    names_site = bool(site_name) and (suffix in site_name.casefold() or site_name.casefold() in suffix)
    if names_site or (not only_site and len(title) - match.start() < len(title) / 2):
        return title[: match.start()].strip()
    return title


# --- values --------------------------------------------------------------------------


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def _absolute(link: str | None, base: str | None) -> str | None:
    if not link or not link.strip():
        return None
    link = link.strip()
    try:
        absolute = urljoin(base, link) if base else link
    except ValueError:  # "http://[bad" is an invalid IPv6 literal
        return None
    return absolute if "://" in absolute else None


def _unique(values: Any) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return tuple(seen.values())


_BY = re.compile(r"^\s*by\s+", re.IGNORECASE)
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:;|,|\band\b|&|\|)\s*", re.IGNORECASE)


def split_authors(text: str) -> list[str]:
    """"By Jane Doe and John Roe" -> ["Jane Doe", "John Roe"]."""
    text = _BY.sub("", " ".join(text.split()))
    return [name for name in _AUTHOR_SEPARATORS.split(text) if name and len(name) <= 80]


_ZONES = {
    name: timezone(timedelta(hours=hours))
    for name, hours in {
        "UTC": 0, "GMT": 0, "Z": 0, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "BST": 1,
        "CET": 1, "CEST": 2, "EST": -5, "EDT": -4, "PST": -8, "PDT": -7, "AEST": 10, "AEDT": 11,
    }.items()
}


def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 or a common human format; naive values are UTC."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            with warnings.catch_warnings():
                # An unknown zone name leaves the value naive (then UTC) instead of warning.
                warnings.simplefilter("ignore", date_parser.UnknownTimezoneWarning)
                parsed = date_parser.parse(value, tzinfos=_ZONES)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def normalize_language(value: str | None) -> str | None:
    """"en-US", "ja_JP", "EN" -> "en", "ja", "en"."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip())[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str | None:
    """Script-based guess: kana -> ja, hangul -> ko, Han only -> zh, mostly Latin -> en."""
    sample = text[:2000]
    if _KANA.search(sample):
        return "ja"
    if _HANGUL.search(sample):
        return "ko"
    if len(_HAN.findall(sample)) > 20:
        return "zh"
    letters = sum(ch.isalpha() for ch in sample)
    if letters and len(_LATIN.findall(sample)) / letters > 0.9:
        return "en"
    return None


# --- outlet rules and the costlier sources ----------------------------------------------


def apply_metadata_rules(meta: Metadata, tree: lxml.html.HtmlElement, rules: ExtractionRules | None) -> None:
    """Outlet `date`/`author` selectors win over generic metadata when they match."""
    if rules is None:
        return
    if rules.date:
        for el in select(tree, rules.date):
            value = el.get("datetime") or el.get("content") or el.text_content()
            if parsed := parse_datetime(value):
                meta.published_at = parsed
                break
    if rules.author:
        names = [n for el in select(tree, rules.author) for n in split_authors(el.text_content())]
        if names:
            meta.authors = tuple(dict.fromkeys(names))


_HOST_NAME = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?")


def complete_metadata(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None) -> None:
    """Fill gaps from trafilatura's metadata, then htmldate; both scan the tree, so only on need."""
    if meta.title and meta.authors and meta.published_at and meta.site_name:
        return
    found = trafilatura_metadata(tree, url, extensive=False)
    meta.offer("title", strip_site_suffix(found.title, meta.site_name) if found.title else None)
    meta.offer("authors", tuple(n for a in (found.author or "").split(";") for n in split_authors(a)))
    meta.offer("published_at", parse_datetime(found.date))
    # trafilatura falls back to the host name, which is no site name.
    if found.sitename and not _HOST_NAME.fullmatch(found.sitename):
        meta.offer("site_name", found.sitename)
    meta.offer("description", found.description)
    meta.offer("image", found.image)
    meta.offer("tags", tuple(t for t in (found.tags or []) if t))
    meta.offer("section", (found.categories or [None])[0])
    if meta.published_at is None:
        # trafilatura asked htmldate for the original date; settle for any date in markup or
        # URL. Not extensive_search: it hands odd strings to dateparser, which tries every
        # locale (measured 5 s for one mangled page).
        found_date = htmldate.find_date(
            tree, extensive_search=False, original_date=False, outputformat="%Y-%m-%dT%H:%M:%S", url=url
        )
        meta.offer("published_at", parse_datetime(found_date))
