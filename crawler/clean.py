"""Boilerplate removal around trafilatura: per-outlet rules and named page blocks before
it, standalone boilerplate lines after it.

Before: `apply_rules` applies an outlet's CSS selectors, `drop_boilerplate_blocks` removes
blocks whose class or id says what they are (ad slots, share bars, "related" rails, photo
captions). After: trafilatura keeps whole paragraphs, and what slips through on news sites
is short standalone lines: wire credits ("© KYODO"), copyright footers, photo credits,
comment and share prompts, breadcrumbs, paywall meters, cookie notices. Each line rule
recognises one kind and only ever drops a whole line, so a sentence inside a real paragraph
is never cut. Datelines that open a paragraph ("TOKYO (Kyodo) --", "MOSCOW –") stay.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

import lxml.etree
import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector
from rapidfuzz import fuzz

from crawler.outlet import ExtractionRules
from crawler.wires import detect_wire

log = logging.getLogger(__name__)

# Every rule is tested on short lines only: a real paragraph that merely starts with
# "Photo" or mentions cookies is longer than any of these boilerplate lines. Lengths are
# `text_weight`s, so a Japanese sentence is not "short" for being written densely.
SHORT_LINE = 120

# Scripts written without spaces between words say about twice as much per character.
_DENSE_SCRIPT = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                           "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def text_weight(text: str) -> int:
    """Length in Latin-text characters: each character of a dense script (CJK, Thai, ...) counts twice."""
    return len(text) + len(_DENSE_SCRIPT.findall(text))

_COPYRIGHT = re.compile(r"^(?:[™®]\s*&\s*)?(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)
_WIRE_CREDIT = re.compile(
    r"^(?:==\s*|\()?(?:kyodo|jiji(?: press)?|reuters|ap|afp|xinhua|yonhap|bloomberg|associated press)\)?$",
    re.IGNORECASE,
)
_PHOTO_CREDIT = re.compile(
    r"^(?:photo|photos|photograph|picture|image|credit|file photo|caption)s?\s*(?:by\b|:|/)"
    r"|\b(?:photo|pool|getty images|afp|reuters|ap|kyodo|jiji|epa|file)\s*/\s*\S"
    r"|\bvia (?:reuters|ap|afp|getty images|kyodo)\)?$"
    r"|\b(?:ap|afp|reuters|kyodo|jiji|getty) photos?\b"
    r"|photo:\s",
    re.IGNORECASE,
)
_COMMENT_PROMPT = re.compile(
    r"^(?:\d+\s+comments?|comments?(?:\s*\(\d+\))?|(?:log ?in|sign ?in|register)\b.*\b(?:comment|reply|login)"
    r"|(?:log ?in|sign ?in) to (?:comment|leave a comment|reply)|leave a (?:comment|reply)"
    r"|be the first to comment|show comments|view comments|\d+\s*\(\s*\+\d+\s*/\s*-\d+\s*\))\.?$",
    re.IGNORECASE,
)
_SHARE_PRINT = re.compile(
    r"^(?:(?:share|print|email|e-mail|tweet|facebook|twitter|line|linkedin|whatsapp|copy link"
    r"|share this(?: article| story)?|share on \w+|print this(?: article| page)?|save|bookmark)"
    r"[\s|/:]*)+$",
    re.IGNORECASE,
)
# Labels of page widgets: account links, rails, ad markers.
_WIDGET_LABEL = re.compile(
    r"^(?:newsletter signup|register\s*/\s*log ?in|log ?in\s*/\s*register|subscribe(?: now)?|sign up"
    r"|forgot password\??|user registration|learn more|read more|find out more|advertisement"
    r"|sponsored(?: content)?|related(?: coverage| articles| stories| news)?|recent features|most read"
    r"|most popular|latest news|trending|keywords|tags|gift this article"
    r"|loading(?: \w+){0,3}\s*(?:\.\.\.|…))[.:]?$",
    re.IGNORECASE,
)
# "INTERNATIONAL > East Asia & Pacific", "Home / World / Asia"
_BREADCRUMB = re.compile(r"^[^.!?\"“”]{1,60}(?:\s+[>»/]\s+[^.!?\"“”]{1,60})+$")
_PAYWALL = re.compile(
    r"^(?:you have read \d+ of \d+ (?:free )?articles|you have \d+ free articles? left"
    r"|(?:like this story\? )?subscribe (?:to|for) .{0,60}\b(?:unlimited|full) access)",
    re.IGNORECASE,
)
_COOKIES = re.compile(r"\b(?:uses? cookies|cookie policy|accept (?:all )?cookies)\b", re.IGNORECASE)
_DATE_ONLY = re.compile(
    r"^(?:date\s+|published:?\s+|updated:?\s+)?(?:\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}, \d{4}(?:,? \d{1,2}:\d{2}(?: ?[ap]\.?m\.?)?)?"
    r"(?: \w{2,4})?)$",
    re.IGNORECASE,
)

LINE_RULES: dict[str, Callable[[str], bool]] = {
    "copyright": lambda line: bool(_COPYRIGHT.search(line)),
    "wire_credit": lambda line: bool(_WIRE_CREDIT.match(line)),
    "photo_credit": lambda line: bool(_PHOTO_CREDIT.search(line)) and not line.endswith((".", "”", '"')),
    "comment_prompt": lambda line: bool(_COMMENT_PROMPT.match(line)),
    "share_print": lambda line: bool(_SHARE_PRINT.match(line)),
    "widget_label": lambda line: bool(_WIDGET_LABEL.match(line)),
    "breadcrumb": lambda line: bool(_BREADCRUMB.match(line)),
    "paywall_meter": lambda line: bool(_PAYWALL.match(line)),
    "cookie_notice": lambda line: bool(_COOKIES.search(line)),
    "bare_date": lambda line: bool(_DATE_ONLY.match(line)),
}


def boilerplate_rule(line: str, labels: Collection[str] = ()) -> str | None:
    """Name of the rule that marks `line` as boilerplate, or None for a content line.

    `labels` are the page's own title, site name, section and tags: a line that is just
    one of them is a heading, a kicker or a tag list item, not text.
    """
    if text_weight(line) > SHORT_LINE and not _COOKIES.search(line):
        return None
    if line.casefold() in {label.casefold() for label in labels}:
        return "page_label"
    for name, rule in LINE_RULES.items():
        if rule(line):
            return name
    return None


def clean_text(text: str, labels: Collection[str] = ()) -> str:
    """Paragraphs (one per input line) without boilerplate lines, joined by a blank line."""
    kept = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        rule = boilerplate_rule(line, labels)
        if rule is None:
            kept.append(line)
        else:
            log.debug("dropped boilerplate line (%s): %.60s", rule, line)
    return "\n\n".join(kept)


# A link text this long is a headline; shorter ones ("Home", "World") only mark a line
# that is nothing else.
HEADLINE_LINK = 15


@dataclass(frozen=True)
class PageLinks:
    """The texts of a page's links to other pages, and those of them long enough to be headlines."""

    texts: frozenset[str]
    headlines: tuple[str, ...]


def link_texts(tree: lxml.html.HtmlElement) -> PageLinks:
    """The page's links to other pages: not those to a place in the page itself, such as a
    live blog's entry headings or a table of contents."""
    texts = frozenset(" ".join(a.text_content().split()) for a in _OTHER_PAGE_LINKS(tree)) - {""}
    return PageLinks(texts, tuple(t for t in texts if text_weight(t) >= HEADLINE_LINK))


_OTHER_PAGE_LINKS = lxml.etree.XPath("//a[not(starts-with(@href, '#'))]")


def _is_link_line(line: str, links: PageLinks) -> bool:
    """Whether `line` is a link's text, a headline link covers half of it, or it is part of
    a link's text (a teaser link that wraps kicker, headline and summary)."""
    body = line.removeprefix("- ")
    if body in links.texts:
        return True
    covered = max((len(a) for a in links.headlines if a in body), default=0)
    return covered >= len(body) / 2 or (text_weight(body) >= HEADLINE_LINK and any(body in a for a in links.texts))


def link_text_share(text: str, anchors: PageLinks) -> float:
    """Share (0..1) of `text` made of paragraphs that are mostly the text of a link.

    A section page's headline list survives trafilatura as a run of "- Headline" lines;
    an article's paragraphs are almost never whole link texts.
    """
    if not text or not anchors.texts:
        return 0.0
    linked = sum(len(line) for line in text.split("\n\n") if _is_link_line(line, anchors))
    return linked / len(text)


def trim_link_tail(text: str, anchors: PageLinks) -> str:
    """`text` without the list that ends it when that list is a "more stories" rail, which
    trafilatura took for part of the article: two thirds of its items (3 or more) are links,
    the others typically a newsletter pitch."""
    paragraphs = text.split("\n\n")
    start = len(paragraphs)
    while start > 1 and paragraphs[start - 1].startswith("- "):
        start -= 1
    items = paragraphs[start:]
    linked = sum(1 for item in items if _is_link_line(item, anchors))
    if linked < 3 or linked < len(items) * 2 / 3:
        return text
    heading = paragraphs[start - 1]
    if start > 1 and text_weight(heading) <= 40 and not heading.endswith((".", "!", "?", "。", "”", '"')):
        start -= 1  # the rail's own heading ("More from us")
    return "\n\n".join(paragraphs[:start])


def drop_link_paragraphs(text: str, anchors: PageLinks) -> str:
    """`text` without the paragraphs that are links to other pages: "Related" headlines
    set between the story's paragraphs, a menu trafilatura kept. A short label that opens
    a run of them ("Related coverage:") goes with them."""
    kept: list[str] = []
    for paragraph in text.split("\n\n"):
        if paragraph.endswith(_SENTENCE_END) or not _is_link_line(paragraph, anchors):
            kept.append(paragraph)
        elif kept and _is_label(kept[-1]) and not _is_link_line(kept[-1], anchors):
            kept.pop()
    return "\n\n".join(kept)


_SENTENCE_END = (".", "!", "?", "。", "！", "？", "”", '"')


def _is_label(line: str) -> bool:
    return text_weight(line) <= 40 and not line.endswith(_SENTENCE_END)


# Lines of a page's header that trafilatura can keep above the story: a kicker with the
# headline ("Angebliche Dekolonisierung: Warum Putin ..."), the byline, a date stamp.
_DATE_OR_TIME = re.compile(r"\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?|\d{1,2}:\d{2}")
HEADER_LINE = 150  # the header ends at the first paragraph longer than this
KICKER = 80
BYLINE_EXTRA = 25
DATE_LINE = 50


def drop_header_lines(text: str, headlines: Collection[str], authors: Collection[str] = ()) -> str:
    """`text` without the header lines above its first real paragraph: a headline (the
    title, or a visible `<h1>` that differs from it) with its kicker, a byline of the page's
    authors, a date stamp."""
    paragraphs = text.split("\n\n")
    heads = [h for h in {" ".join(h.split()).casefold() for h in headlines} if h]
    names = [name.casefold() for name in authors if name]
    kept: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        weight = text_weight(paragraph)
        if weight > HEADER_LINE:
            kept.extend(paragraphs[i:])
            break
        low = paragraph.casefold()
        if any(head in low and weight <= text_weight(head) + KICKER for head in heads):
            continue
        if any(name in low for name in names) and weight <= max(map(len, names)) + BYLINE_EXTRA:
            continue
        if weight <= DATE_LINE and _DATE_OR_TIME.search(paragraph):
            continue
        kept.append(paragraph)
    return "\n\n".join(kept)


def headlines(tree: lxml.html.HtmlElement, title: str | None) -> list[str]:
    """The page's title and the texts of its `<h1>`s: where the SEO title and the visible
    headline differ, both may open trafilatura's text."""
    return [t for t in (title, *(" ".join(h.text_content().split()) for h in tree.iter("h1"))) if t]


# A note on the author that ends the text: a bio ("Manuela Conrad ist ZDF-Reporterin ..."), a
# contributor line. It names one of the page's authors early on; a wire's credit ("By ... of
# the Associated Press") stays, because it says whose copy this is.
AUTHOR_NOTE = 400
_NAME_PART = re.compile(r"\w{4,}")


def drop_author_notes(text: str, authors: Collection[str]) -> str:
    """`text` without the trailing paragraphs that are notes on its authors."""
    parts = {part for name in authors for part in _NAME_PART.findall(name)}
    # As written: a name is capitalised where it is a name ("Lance has covered"), not in
    # "the news agency" for an author "Kyodo News".
    named = re.compile("|".join(rf"(?<!\w){re.escape(part)}(?!\w)" for part in parts)) if parts else None
    paragraphs = text.split("\n\n")

    def is_note(paragraph: str) -> bool:
        found = named.search(paragraph)
        return (found is not None and found.start() <= len(paragraph) / 3
                and text_weight(paragraph) <= AUTHOR_NOTE and detect_wire(paragraph) is None)

    while len(paragraphs) > 1 and named and is_note(paragraphs[-1]):
        paragraphs.pop()
    return "\n\n".join(paragraphs)


# A standfirst (the summary set under the headline) is often outside the element
# trafilatura takes for the story. The page's description names it: when the description
# is also visible text of the body (as written, or edited a little), that element's text
# opens the article.
STANDFIRST_PROBE = 20  # characters of the description an element's text must start with
STANDFIRST_SIMILARITY = 80  # rapidfuzz ratio of the element's opening to the description
STANDFIRST_MAX = 1000
_INVISIBLE = frozenset({"script", "style", "template", "noscript", "head", "title"})
_STARTING_WITH = lxml.etree.XPath(
    " | ".join(f".//{tag}[starts-with(normalize-space(.), $probe)]"
               for tag in ("p", "div", "h2", "span", "strong", "section", "header"))
)


def with_standfirst(text: str, tree: lxml.html.HtmlElement, description: str | None) -> str:
    """`text`, opened by the page's visible standfirst when it does not hold it already."""
    summary = " ".join((description or "").split()).rstrip(".…").strip()[:300]
    probe = summary[:STANDFIRST_PROBE]
    body = tree.find("body")
    if len(probe) < STANDFIRST_PROBE or body is None or (
            fuzz.partial_ratio(summary, " ".join(text.split())) >= STANDFIRST_SIMILARITY):
        return text
    best = None
    for el in _STARTING_WITH(body, probe=probe):
        visible = " ".join(el.text_content().split())
        if (text_weight(visible) <= STANDFIRST_MAX and (best is None or len(visible) < len(best))
                and fuzz.ratio(summary, visible[:len(summary)]) >= STANDFIRST_SIMILARITY
                and not any(parent.tag in _INVISIBLE for parent in el.iterancestors())):
            best = visible
    return f"{best}\n\n{text}" if best else text


# Class/id words that name a page block which is never article text: readability's
# "unlikely candidates", narrowed to what news templates use (GPT ad slots, comment
# threads, share bars, "related"/"popular" rails, cookie notices). Not "paywall" or
# "print": real templates wrap the story itself in `paywall-content` and `print-area`.
BOILERPLATE_CLASS_WORDS = frozenset(
    {
        "ad", "ads", "advert", "advertisement", "gpt", "sponsored", "promo", "outbrain", "taboola",
        "comment", "comments", "share", "sns", "social", "newsletter", "subscribe",
        "related", "popular", "ranking", "trending", "recommended", "resources", "readmore",
        "cookie", "breadcrumb", "breadcrumbs", "tags", "keyword", "copyright",
        "caption", "credit",
    }
)
_BLOCK_TAGS = ("div", "section", "aside", "p", "ul", "ol", "span", "a", "nav", "footer", "form", "figcaption")
_CLASS_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
# In document order, as lxml's own loop would give them, without a Python step per element.
_NAMED_BLOCKS = lxml.etree.XPath(" | ".join(f"//{tag}[@class or @id]" for tag in _BLOCK_TAGS) + " | //figcaption")


def drop_boilerplate_blocks(tree: lxml.html.HtmlElement) -> int:
    """Remove, in place, blocks whose class or id names boilerplate; returns how many.

    A block holding the <h1>, an <article>, the schema.org articleBody or more than half
    the page's text is kept: a template that wraps the whole story in
    `class="share-wrapper"` must not lose it.
    """
    body = tree.find("body")
    total = len(body.text_content()) if body is not None else 0
    doomed: list[lxml.html.HtmlElement] = []
    doomed_set: set[lxml.html.HtmlElement] = set()
    for el in _NAMED_BLOCKS(tree):
        if el.tag != "figcaption" and not _names_boilerplate(f"{el.get('class', '')} {el.get('id', '')}"):
            continue
        # A long paragraph is text whatever its class says: Condé Nast marks the paragraphs
        # behind its paywall `class="paywall"`.
        if el.tag == "p" and _is_prose(el.text_content()):
            continue
        if doomed_set and any(parent in doomed_set for parent in el.iterancestors()):
            continue
        if not _holds_article(el) and len(el.text_content()) <= total / 2:
            doomed.append(el)
            doomed_set.add(el)
    for el in doomed:
        el.drop_tree()
    return len(doomed)


@functools.lru_cache(maxsize=4096)
def _names_boilerplate(names: str) -> bool:
    """Whether a class and id name a boilerplate block; templates repeat the same few
    hundred class strings on every page."""
    return bool({w.lower() for w in _CLASS_WORD.findall(names)} & BOILERPLATE_CLASS_WORDS)


def _is_prose(text: str) -> bool:
    """A long text, or a sentence of eight words or more."""
    text = " ".join(text.split())
    return text_weight(text) > SHORT_LINE or (len(text.split()) >= 8 and text.endswith((".", "。", "”", '"')))


_ARTICLE_MARKERS = './/h1 | .//article | .//*[@itemprop="articleBody"]'


def _holds_article(el: lxml.html.HtmlElement) -> bool:
    return el.get("itemprop") == "articleBody" or bool(el.xpath(_ARTICLE_MARKERS))


def apply_rules(tree: lxml.html.HtmlElement, rules: ExtractionRules | None) -> lxml.html.HtmlElement:
    """`tree` with `rules.drop` removed and, if `rules.body` matches, only that body: a copy
    when there are rules, so that the page stays whole; without rules, `tree` itself."""
    if rules is None or not (rules.drop or rules.body):
        return tree
    tree = copy.deepcopy(tree)
    for selector in rules.drop:
        for el in select(tree, selector):
            el.drop_tree()
    if not rules.body:
        return tree
    bodies = select(tree, rules.body)
    if not bodies:
        log.info("body selector %r matched nothing; using the whole page", rules.body)
        return tree
    page = lxml.html.document_fromstring("<html><head></head><body></body></html>")
    head = tree.find("head")
    if head is not None:
        page.replace(page.find("head"), copy.deepcopy(head))
    container = page.find("body")
    for el in bodies:
        el.tail = None
        container.append(el)
    return page


def select(tree: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    """Elements matching a CSS selector; an invalid selector matches nothing (and is logged)."""
    try:
        return CSSSelector(selector)(tree)
    except SelectorError:
        log.warning("invalid CSS selector in outlet rules: %r", selector)
        return []
