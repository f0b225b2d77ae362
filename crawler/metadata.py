"""Article metadata from a parsed page: JSON-LD, then OpenGraph and standard meta tags.

Each field is taken from the first source that has it, in this order:

1. JSON-LD objects typed `NewsArticle`, `Article`, `ReportageNewsArticle` (and the other
   article types below), top-level, in a list or inside `@graph`;
2. OpenGraph (`og:*`), `article:*` and standard `<meta>`/`<link>` elements;
3. the page structure: `<h1>`, then `<title>` without its " | Site" suffix; `<time datetime>`
   for a publication time the meta tags give only as a day; author links for a byline the
   meta tags leave out; the page's own URL as canonical URL.

The title is chosen among these sources rather than taken first-come (`_choose_title`): a
source that carries a " | Section" label another source lacks loses it, and an `<h1>` in
the breadcrumb trail marks the JSON-LD headline as the SEO title. Authors are people: an
`Organization`, the publisher's own name, a number or a host name is no byline.

Language is the exception: `<html lang>` comes first, then JSON-LD `inLanguage`, then
`og:locale`; `detect_language` guesses from the text when none is declared.

`complete_metadata` fills what is still missing from trafilatura's metadata and htmldate,
which cost more (htmldate scans the whole tree), so they only run when needed.
"""

from __future__ import annotations

import html
import json
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin

import htmldate
import lxml.html
from dateutil import parser as date_parser
from trafilatura.metadata import extract_metadata as trafilatura_metadata

from crawler.bylines import HOST_NAME, choose_authors, dublin_core_name, people_only, split_authors, unique
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
    found = _Found()
    claim_date = None
    for obj in _json_ld_objects(tree):
        obj_types = obj.get("@type")
        obj_types = {t for t in (obj_types if isinstance(obj_types, list) else [obj_types]) if isinstance(t, str)}
        types |= obj_types
        if obj_types & ARTICLE_TYPES:
            _from_json_ld(meta, obj, url, found)
        elif "ClaimReview" in obj_types and claim_date is None:
            # A fact check's own object is its ClaimReview; its other fields describe the claim.
            claim_date = parse_datetime(_first_text(obj.get("datePublished")))
    meta.offer("published_at", claim_date)
    og_type = tree.find('.//meta[@property="og:type"]')
    if og_type is not None and og_type.get("content"):
        types.add("og:" + og_type.get("content").strip().lower())
    meta.page_types = frozenset(types)
    _from_meta_tags(meta, tree, url, found)
    meta.title = _choose_title(found, tree, meta.site_name)
    _from_structure(meta, tree, url)
    found.outlets.add(meta.site_name)
    meta.authors = choose_authors(found.authors, found.outlets, found.organisations, tree)
    _add_clock_time(meta, tree)
    return meta


@dataclass
class _Found:
    """What more than one source offers, kept until all are read so they can be compared."""

    titles: dict[str, str] = field(default_factory=dict)  # "ld", "og", "twitter"
    authors: list[list[str]] = field(default_factory=list)  # per source, in order: raw bylines
    outlets: set[str | None] = field(default_factory=set)  # the site's own names
    organisations: set[str] = field(default_factory=set)  # JSON-LD authors typed Organization


# --- JSON-LD -------------------------------------------------------------------------

# Some CMSs still wrap script contents for XHTML parsers.
_CDATA = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$")


def _json_ld_objects(tree: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every typed JSON-LD object: top-level, in a list or inside `@graph`."""
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        raw = _CDATA.sub("", (script.text or "").strip())
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


def _from_json_ld(meta: Metadata, obj: dict[str, Any], url: str | None, found: _Found) -> None:
    title = _text(_first_text(obj.get("headline") or obj.get("name")))
    if title:
        found.titles.setdefault("ld", title)
    found.authors.append(_bylines(obj.get("author"), found.organisations))
    meta.offer("published_at", parse_datetime(_first_text(obj.get("datePublished"))))
    meta.offer("updated_at", parse_datetime(_first_text(obj.get("dateModified"))))
    meta.offer("language", normalize_language(_first_text(obj.get("inLanguage"))))
    meta.offer("description", _text(_first_text(obj.get("description"))))
    main = obj.get("mainEntityOfPage")
    main_url = main.get("@id") or main.get("url") if isinstance(main, dict) else main
    meta.offer("canonical_url", _absolute(_first_text(obj.get("url") or main_url), url))
    publisher = obj.get("publisher")
    if isinstance(publisher, dict):
        name = _text(_first_text(publisher.get("name")))
        meta.offer("site_name", name)
        found.outlets.add(name)
    meta.offer("image", _absolute(_image_url(obj.get("image")), url))
    meta.offer("tags", _keywords(obj.get("keywords")))
    meta.offer("section", _text(_first_text(obj.get("articleSection"))))


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


def _bylines(value: Any, organisations: set[str]) -> list[str]:
    """Names in a JSON-LD `author`; an `Organization` among them is also noted as one."""
    names: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        name = _text(item.get("name") if isinstance(item, dict) else item if isinstance(item, str) else None)
        if not name:
            continue
        kind = item.get("@type") if isinstance(item, dict) else None
        if any(isinstance(k, str) and k.endswith("Organization") for k in (kind if isinstance(kind, list) else [kind])):
            organisations.add(name)
        names.append(name)
    return names


def _keywords(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return unique(_text(v) for v in value if isinstance(v, str))


# --- meta tags -----------------------------------------------------------------------


def _from_meta_tags(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None, found: _Found) -> None:
    tags: dict[str, list[str]] = {}
    for el in tree.iterfind(".//meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key and content and content.strip():
            tags.setdefault(key, []).append(_clean(content))

    def first(*keys: str) -> str | None:
        return next((tags[k][0] for k in keys if k in tags), None)

    for key, name in (("og:title", "og"), ("twitter:title", "twitter")):
        if title := _text(first(key)):
            found.titles[name] = title
    # article:author is often a profile URL rather than a name.
    for key in ("author", "article:author", "byl"):
        found.authors.append([_text(a) for a in tags.get(key, []) if "://" not in a])
    # Dublin Core writes one creator per element, family name first: "Brazil, Rachel".
    found.authors.append([dublin_core_name(_text(a)) for a in tags.get("dc.creator", [])])
    meta.offer(
        "published_at",
        parse_datetime(
            first("article:published_time", "og:published_time", "datepublished", "pubdate",
                  "publishdate", "date", "dc.date", "dc.date.issued", "sailthru.date")
        ),
    )
    meta.offer("updated_at", parse_datetime(first("article:modified_time", "og:updated_time", "datemodified")))
    meta.offer("language", normalize_language(first("og:locale", "content-language", "language")))
    meta.offer("description", _text(first("og:description", "description", "twitter:description")))
    canonical = tree.find('.//link[@rel="canonical"]')
    # <link rel=canonical> exists only to name the canonical address, so it beats og:url.
    meta.offer("canonical_url", _absolute(canonical.get("href") if canonical is not None else None, url))
    meta.offer("canonical_url", _absolute(first("og:url"), url))
    meta.offer("site_name", _text(first("og:site_name", "application-name", "publisher")))
    found.outlets.update(_text(v) for k in ("og:site_name", "application-name", "publisher") for v in tags.get(k, []))
    meta.offer("image", _absolute(first("og:image", "og:image:url", "twitter:image"), url))
    meta.offer("tags", unique(_text(t) for t in tags.get("article:tag", [])))
    meta.offer("tags", _keywords(first("news_keywords", "keywords")))
    meta.offer("section", _text(first("article:section")))


# --- title ---------------------------------------------------------------------------


def _choose_title(found: _Found, tree: lxml.html.HtmlElement, site_name: str | None) -> str | None:
    """The JSON-LD headline, else og:title, else twitter:title; None leaves it to the page structure.

    Some CMSs put the SEO title (which the JSON-LD headline repeats) in an `<h1>` inside
    the breadcrumb trail and show readers a different headline in an `<h2>`: when og:title
    is that `<h2>`, it is the headline.
    """
    ld, og, twitter = (found.titles.get(k) for k in ("ld", "og", "twitter"))
    h1 = next((h for h in tree.iter("h1") if h.text_content().strip()), None)
    heading = _text(h1.text_content()) if h1 is not None else None
    order = [ld, og, twitter]
    if og and og != ld and h1 is not None and _in_breadcrumb(h1) and _shown_in_h2(tree, og):
        order = [og, ld, twitter]
    title = next((t for t in order if t), None)
    if title is None:
        return None
    title = strip_site_suffix(title, site_name, only_site=True) if site_name else title
    return _without_label(title, [t for t in (ld, og, twitter, heading) if t])


def _in_breadcrumb(el: lxml.html.HtmlElement) -> bool:
    for depth, ancestor in enumerate(el.iterancestors()):
        if depth >= 6 or ancestor.tag in ("article", "main", "body"):
            return False
        marks = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if ancestor.tag == "nav" or "crumb" in marks:
            return True
    return False


def _fold(text: str) -> str:
    """For comparing titles: soft hyphens, case and spacing differ between sources."""
    return " ".join(text.replace("\xad", "").split()).casefold()


def _shown_in_h2(tree: lxml.html.HtmlElement, title: str) -> bool:
    key = _fold(title)
    return any(_fold(el.text_content()) == key for h2 in tree.iter("h2") for el in h2.iter())


# One or more " | Label" segments; " - " and ": " also join parts of headlines themselves.
_LABELS = re.compile(r"(?:\s*[|｜]\s*[^|｜]{1,40})+")


def _without_label(title: str, others: list[str]) -> str:
    """"Headline | Sport" -> "Headline" when another source gives the bare "Headline"."""
    folded = _fold(title)
    for other in others:
        key = _fold(other)
        if len(key) < len(folded) and folded.startswith(key) and _LABELS.fullmatch(folded[len(key):]):
            return other
    return title


# --- page structure ------------------------------------------------------------------


def _from_structure(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None) -> None:
    h1 = next((h for h in tree.iter("h1") if h.text_content().strip()), None)
    meta.offer("title", _text(h1.text_content()) if h1 is not None else None)
    title = tree.find(".//title")
    if title is not None:
        meta.offer("title", strip_site_suffix(_text(title.text_content()), meta.site_name))
    if meta.title and meta.site_name:
        meta.title = strip_site_suffix(meta.title, meta.site_name, only_site=True)
    if meta.published_at is None:
        meta.published_at = next((t for t, marked in _time_elements(tree) if marked), None)
    meta.offer("canonical_url", url)


def _time_elements(tree: lxml.html.HtmlElement) -> list[tuple[datetime, bool]]:
    """`<time datetime>` values that carry a clock time, each with whether the element is
    marked as the publication time (itemprop or class naming "publish")."""
    found = []
    for el in tree.iter("time"):
        value = el.get("datetime") or ""
        if _CLOCK.search(value) and (parsed := parse_datetime(value)):
            marks = f"{el.get('itemprop') or ''} {el.get('class') or ''}".lower()
            found.append((parsed, "publish" in marks))
    return found


_CLOCK = re.compile(r"\d:\d\d")


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


def _text(text: str | None) -> str | None:
    """Human text from an attribute or JSON-LD string. CMSs escape it once more than
    needed ("&quot;", "&#8217;"), and JSON-LD is not HTML-decoded at all. Not for URLs:
    "&copy=1" in a query string would become "(c)=1"."""
    if text and "&" in text:
        text = html.unescape(text)
    return _clean(text)


def _absolute(link: str | None, base: str | None) -> str | None:
    if not link or not link.strip():
        return None
    link = link.strip()
    try:
        absolute = urljoin(base, link) if base else link
    except ValueError:  # "http://[bad" is an invalid IPv6 literal
        return None
    return absolute if "://" in absolute else None


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


def complete_metadata(meta: Metadata, tree: lxml.html.HtmlElement, url: str | None) -> None:
    """Fill gaps from trafilatura's metadata, then htmldate; both scan the tree, so only on need."""
    if meta.title and meta.authors and meta.published_at and meta.site_name:
        return
    found = trafilatura_metadata(tree, url, extensive=False)
    meta.offer("title", strip_site_suffix(found.title, meta.site_name) if found.title else None)
    names = unique(n for a in (found.author or "").split(";") for n in split_authors(a))
    meta.offer("authors", people_only(names, {meta.site_name.casefold()} if meta.site_name else set()))
    meta.offer("published_at", parse_datetime(found.date))
    # trafilatura falls back to the host name, which is no site name.
    if found.sitename and not HOST_NAME.fullmatch(found.sitename):
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
    _add_clock_time(meta, tree)


def _add_clock_time(meta: Metadata, tree: lxml.html.HtmlElement) -> None:
    """A publication day without a time (midnight UTC, as a date-only value parses) takes
    the time of a `<time datetime>` on the same day, the marked one first."""
    day = meta.published_at
    if day is None or (day.hour, day.minute, day.second, day.utcoffset()) != (0, 0, 0, timedelta(0)):
        return
    times = sorted(_time_elements(tree), key=lambda item: not item[1])
    meta.published_at = next((t for t, _ in times if t.date() == day.date()), day)
