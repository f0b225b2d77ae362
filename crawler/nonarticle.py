"""Pages that are not articles although text comes out of them: index pages, photo
galleries, video pages and live blogs without a body.

Each check returns a one-line reason or None. A page is judged by what it says it is
(JSON-LD `@type`, `og:type`) and by what the extracted text looks like, never by its URL:
a gallery of 30 captioned photos yields more than the minimum length of text, and a
tag page whose teasers carry summaries is not a list of bare links.
"""

from __future__ import annotations

import lxml.etree
import lxml.html

from crawler.clean import text_weight
from crawler.metadata import ARTICLE_TYPES

# Not og:type "website": many CMSs put it on every page, articles included.
INDEX_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage", "og:profile"})
GALLERY_TYPES = frozenset({"ImageGallery", "MediaGallery", "og:gallery"})
VIDEO_TYPES = frozenset({"VideoObject", "og:video", "og:video.other", "og:video.episode", "og:video.movie"})
LIVE_BLOG_TYPES = frozenset({"LiveBlogPosting", "og:liveblog"})

# Text (in text_weight units) that makes a typed video or gallery page an article all the
# same: a report with a clip or a photo series with a written story.
ARTICLE_BODY_WEIGHT = 1200
# A live blog has a body when one of its entries is a real paragraph, not a one-line update.
BODY_PARAGRAPH_WEIGHT = 200
# A gallery without a declared type: many pictures, little text per picture.
GALLERY_MIN_FIGURES = 6
GALLERY_TEXT_PER_FIGURE = 150
# Teasers: separate small <article> (or list item) elements, each a headline with a link, on one page. An
# article's own <article> element holds links under headings too (its share bar, its
# rail): it is no teaser for being big. A page is an index when its text is mostly in
# teasers, spread over several of them.
INDEX_MIN_TEASERS = 5
TEASER_MAX_WEIGHT = 1000
INDEX_TEASER_SHARE = 0.5
# When trafilatura keeps only a few of an index's teasers, the text is nothing but theirs.
INDEX_ALL_TEASERS = 0.8


def not_an_article(types: frozenset[str], content: lxml.html.HtmlElement, text: str) -> str | None:
    """Why the page is not an article, or None. `content` is the tree text was extracted from."""
    weight = text_weight(text)
    is_article = bool(types & (ARTICLE_TYPES | {"og:article"}) - LIVE_BLOG_TYPES)
    if types & LIVE_BLOG_TYPES:
        longest = max((text_weight(p) for p in text.split("\n\n")), default=0)
        if longest < BODY_PARAGRAPH_WEIGHT:
            return f"live blog without a body (longest entry {longest} chars)"
        return None
    if types & VIDEO_TYPES and not is_article and weight < ARTICLE_BODY_WEIGHT:
        return f"video page ({weight} chars of text)"
    # <figure>s, not <img>s: logos, icons and ad pixels are images too.
    figures = sum(1 for _ in content.iter("figure"))
    if not is_article and weight < ARTICLE_BODY_WEIGHT and (
        types & GALLERY_TYPES or (figures >= GALLERY_MIN_FIGURES and weight < figures * GALLERY_TEXT_PER_FIGURE)
    ):
        return f"photo gallery ({figures} pictures, {weight} chars of text)"
    if types & INDEX_TYPES and not is_article:
        return f"index page ({'/'.join(sorted(types & INDEX_TYPES))})"
    teasers = [" ".join(a.text_content().split()) for a in _TEASERS(content)]
    teasers = [t for t in teasers if text_weight(t) <= TEASER_MAX_WEIGHT]
    holders, share = _teasers_holding(text, teasers)
    if (holders >= INDEX_MIN_TEASERS and share >= INDEX_TEASER_SHARE) or (
            len(teasers) >= INDEX_MIN_TEASERS and holders >= 2 and share >= INDEX_ALL_TEASERS):
        return f"index page ({holders} of {len(teasers)} teasers hold {share:.0%} of the text)"
    return None


_HEADLINE_LINK = ".//h2//a or .//h3//a or .//a//h2 or .//a//h3"
_TEASERS = lxml.etree.XPath(f"//article[{_HEADLINE_LINK}] | //li[{_HEADLINE_LINK}]")


def _teasers_holding(text: str, teasers: list[str]) -> tuple[int, float]:
    """How many of the `teasers` hold a paragraph of `text`, and the share (0..1) of `text`
    in paragraphs that one of them holds. A short story in its own <article> is one
    teaser's worth; an index spreads its text over many."""
    paragraphs = [" ".join(p.removeprefix("- ").split()) for p in text.split("\n\n")]
    holders: set[int] = set()
    inside = 0
    for paragraph in filter(None, paragraphs):
        found = [i for i, teaser in enumerate(teasers) if paragraph[:80] in teaser]
        if found:
            holders.update(found)
            inside += len(paragraph)
    return len(holders), inside / max(1, sum(len(p) for p in paragraphs))
