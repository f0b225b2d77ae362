"""One news page in, one clean article (or the reason there is none) out.

`extract_article` is a plain function over a string or bytes: no crawl, no database. The
page is parsed once with lxml; metadata comes from `crawler.metadata` (JSON-LD, then meta
tags), then trafilatura's metadata, then htmldate for the date; the text from trafilatura
run on the tree after the outlet's rules, then line-level cleanup (`crawler.clean`).
"""

from __future__ import annotations

import codecs
import logging
import re
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import datetime

import charset_normalizer
import lxml.etree
import lxml.html
import trafilatura
from trafilatura.settings import use_config

from crawler.clean import (
    apply_rules,
    clean_text,
    drop_author_notes,
    drop_boilerplate_blocks,
    drop_header_lines,
    drop_link_paragraphs,
    headlines,
    link_text_share,
    link_texts,
    text_weight,
    trim_link_tail,
    with_standfirst,
)
from crawler.fallback import readability_text
from crawler.metadata import apply_metadata_rules, complete_metadata, detect_language, read_metadata
from crawler.nonarticle import not_an_article
from crawler.outlet import ExtractionRules

log = logging.getLogger(__name__)

# In text_weight units: characters of Latin text, each CJK or Thai character counting twice.
MIN_TEXT_CHARS = 250
MAX_LINK_TEXT_SHARE = 0.5
# Pages above these are not news articles (or are hostile). News pages run 1,000-5,000
# elements; trafilatura needs ~0.2 s per 1,000 *extra* elements (3.8 s for 20,000 <p>).
MAX_HTML_CHARS = 5_000_000
MAX_ELEMENTS = 20_000


@dataclass(frozen=True)
class Article:
    title: str
    text: str  # paragraphs separated by one blank line
    authors: tuple[str, ...] = ()
    published_at: datetime | None = None  # timezone-aware
    updated_at: datetime | None = None
    language: str | None = None  # ISO 639-1 where known: "en", "ja"
    description: str | None = None
    canonical_url: str | None = None  # absolute
    site_name: str | None = None
    image: str | None = None
    tags: tuple[str, ...] = ()
    section: str | None = None
    extractor: str = "trafilatura"  # which extractor's text this is: "trafilatura" or "readability"


@dataclass(frozen=True)
class Skipped:
    """The page is not an article; `reason` is one line for logs and crawl statistics."""

    reason: str


def extract_article(
    html: str | bytes, url: str | None = None, rules: ExtractionRules | None = None,
    content_type: str | None = None,
) -> Article | Skipped:
    """Extract the article in `html`; never raises for bad input, returns `Skipped` instead.

    `content_type` is the response's Content-Type header: its charset, if any, is tried first.
    """
    text = decode_html(html, content_type) if isinstance(html, bytes) else html
    if not text or not text.strip():
        return Skipped("empty document")
    if len(text) > MAX_HTML_CHARS:
        return Skipped(f"document too large ({len(text)} chars > {MAX_HTML_CHARS})")
    if _looks_binary(text):
        return Skipped("not HTML (binary content)")
    tree = parse_html(text)
    if tree is None:
        return Skipped("unparseable HTML")
    if (elements := int(_ELEMENTS(tree))) > MAX_ELEMENTS:
        return Skipped(f"document too large ({elements} elements > {MAX_ELEMENTS})")

    # Everything read from the whole page is read first: without outlet rules, the page's
    # own tree is pruned from here on (trafilatura copies what it is given anyway).
    meta = read_metadata(tree, url)
    apply_metadata_rules(meta, tree, rules)
    complete_metadata(meta, tree, url)
    labels = [x for x in (meta.title, meta.site_name, _title_suffix(tree, meta.title), meta.section, *meta.tags) if x]
    anchors = link_texts(tree)
    heads = headlines(tree, meta.title)
    content = apply_rules(tree, rules)
    drop_boilerplate_blocks(content)
    body = clean_text(_extract_text(content, url), labels)
    extractor = "trafilatura"
    if text_weight(body) < MIN_TEXT_CHARS:
        second = clean_text(readability_text(content), labels)
        if text_weight(second) > text_weight(body):
            body, extractor = second, "readability"
    if (share := link_text_share(body, anchors)) > MAX_LINK_TEXT_SHARE:
        return Skipped(f"link list, not an article ({share:.0%} of the text is link text)")
    body = drop_link_paragraphs(trim_link_tail(body, anchors), anchors)
    if reason := not_an_article(meta.page_types, content, body):
        return Skipped(reason)
    if (weight := text_weight(body)) < MIN_TEXT_CHARS:
        if _DEEPER(tree):  # only asked of a failed page: it costs 0.6 ms
            return Skipped(f"document nested too deep (over {MAX_DEPTH} levels), no article text found")
        return Skipped(f"no article text ({weight} chars < {MIN_TEXT_CHARS})")
    if not meta.title:
        return Skipped("no title")
    body = drop_author_notes(drop_header_lines(body, heads, meta.authors), meta.authors)
    body = with_standfirst(body, tree, meta.description)
    return Article(
        title=meta.title,
        text=body,
        authors=meta.authors,
        published_at=meta.published_at,
        updated_at=meta.updated_at,
        language=meta.language or detect_language(body),
        description=meta.description,
        canonical_url=meta.canonical_url,
        site_name=meta.site_name,
        image=meta.image,
        tags=meta.tags,
        section=meta.section,
        extractor=extractor,
    )


# --- decoding and parsing ------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
# Labels pages declare, mapped to the codec browsers actually use for them (WHATWG
# Encoding Standard): Shift_JIS pages are written in Windows-31J, Latin-1 ones in cp1252.
_CODEC_FOR_LABEL = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ms_kanji": "cp932",
    "euc-jp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}


_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def decode_html(data: bytes, content_type: str | None = None) -> str:
    """Text of an HTML document: BOM, then the Content-Type header's charset, then
    `<meta charset>`, then UTF-8, then detection.

    A declared charset the bytes do not fit (a CMS serving EUC-JP under a UTF-8 header) is
    passed over. A page that is its declared charset but for a few stray bytes keeps it:
    guessing again would turn every accented or Japanese character into mojibake.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    labels = []
    if content_type and (header := _HEADER_CHARSET.search(content_type)):
        labels.append(header.group(1).lower())
    if match := _META_CHARSET.search(data[:4096]):
        labels.append((match.group(1) or match.group(2)).decode("ascii").lower())
    for label in dict.fromkeys(labels):
        codec = _CODEC_FOR_LABEL.get(label, label)
        if codec in _SINGLE_BYTE and (text := _strict_utf8(data)) is not None:
            # Any byte string decodes in a single-byte codec, so a wrong "ISO-8859-1" (many
            # servers' default header) never fails; valid multi-byte UTF-8 is no accident.
            return text
        try:
            if (text := _decode_mostly(data, codec)) is not None:
                return text
            log.debug("page is not %s as declared; detecting", label)
        except LookupError:
            log.debug("unknown charset %r declared; detecting", label)
    if (text := _decode_mostly(data, "utf-8")) is not None:
        return text
    # charset_normalizer costs ~10 ms per 10 kB; only pages that are not UTF-8 get here.
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    if best is not None:
        codec = _CODEC_FOR_LABEL.get(best.encoding.replace("_", "-"), best.encoding)
        return data.decode(codec, errors="replace")
    return data.decode("utf-8", errors="replace")


_SINGLE_BYTE = frozenset({"cp1252", "iso-8859-15", "windows-1252", "latin-1", "cp1250", "cp1251", "koi8-r"})


def _strict_utf8(data: bytes) -> str | None:
    """`data` as UTF-8 when it is valid UTF-8 with at least one multi-byte character."""
    if data.isascii():
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode_mostly(data: bytes, codec: str) -> str | None:
    """`data` decoded with `codec` if at most 1 byte in 1,000 (or 3) is invalid in it."""
    text = data.decode(codec, errors="replace")
    return text if text.count("\ufffd") <= max(3, len(data) // 1000) else None


# Characters XML (hence lxml) refuses in text; U+FFFD marks bytes that did not decode.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BINARY_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def _looks_binary(text: str) -> bool:
    """More than 5% control or undecodable characters in the first 4 kB: not a web page."""
    sample = text[:4096]
    return len(_BINARY_CHARS.findall(sample)) > len(sample) * 0.05


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# libxml2 stops at 256 levels of nesting and drops the rest of the document; real templates
# go past it (a story under 255 wrapping divs came out as "no article text"). huge_tree lifts
# that limit; the size caps above still bound the work.
_PARSER = lxml.html.HTMLParser(huge_tree=True)
# Past this depth trafilatura finds no text (1,100 levels: none; 3,000: none after 2 s): say so.
MAX_DEPTH = 1000
_ELEMENTS = lxml.etree.XPath("count(//*)")
_DEEPER = lxml.etree.XPath(f"boolean(//*[count(ancestor::*) > {MAX_DEPTH}])")


def parse_html(text: str) -> lxml.html.HtmlElement | None:
    # lxml refuses str input that carries an encoding declaration, and any tree edit
    # (drop_tree) raises on text holding a control character.
    text = _CONTROL_CHARS.sub("", _XML_DECLARATION.sub("", text, count=1))
    try:
        return lxml.html.document_fromstring(text, parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None


# --- text ----------------------------------------------------------------------------


def _title_suffix(tree: lxml.html.HtmlElement, title: str | None) -> str | None:
    """What the `<title>` adds after the headline: usually the site's name, which footers
    repeat as a line of their own."""
    raw = " ".join((tree.findtext(".//title") or "").split())
    if not title or not raw.startswith(title):
        return None
    return raw[len(title):].strip(" |-–—:·｜") or None


def _extract_text(tree: lxml.html.HtmlElement, url: str | None) -> str:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_tables=False,
        with_metadata=False,
        config=_TRAFILATURA_CONFIG,
    )
    return (document.text or "") if document is not None else ""


def _trafilatura_config() -> ConfigParser:
    """trafilatura's settings with its size floors off: ours (MIN_TEXT_CHARS) applies after
    cleanup, and a dropped short text would hide why the page was skipped."""
    config = use_config()
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    return config


_TRAFILATURA_CONFIG = _trafilatura_config()
