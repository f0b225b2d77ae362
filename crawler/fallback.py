"""The second extractor: readability, for pages where trafilatura finds too little.

trafilatura scores paragraphs by their own text and links; readability scores the
containers by the paragraphs they hold. Where a template defeats the one (text split into
`<br>`-separated runs, a body in table cells), the other often still finds the story.
It gets the already-parsed tree (a copy: it edits what it reads), never the HTML again.

This is trafilatura's own port of readability-lxml (trafilatura.readability_lxml), which
trafilatura runs itself to compare candidates: readability-lxml as a second dependency asks
for lxml's html_clean extra beside justext's, and pip 23.2 (Python 3.11's) cannot resolve the
two requests ("Candidate is not for this requirement").
"""

from __future__ import annotations

import copy
import logging

import lxml.etree
import lxml.html
from trafilatura.readability_lxml import Document

log = logging.getLogger(__name__)

_PARSER = lxml.html.HTMLParser()
# Elements that end a line of text in readability's output.
_BLOCKS = frozenset({
    "p", "div", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "dd", "dt",
    "section", "article", "table", "ul", "ol",
})


def readability_text(tree: lxml.html.HtmlElement) -> str:
    """The main text as readability-lxml sees it, one paragraph per line ("" when it finds none)."""
    try:
        summary = Document(copy.deepcopy(tree)).summary()
    except (lxml.etree.LxmlError, ValueError, TypeError) as exc:
        log.debug("readability found nothing: %s", exc)
        return ""
    if not summary.strip():
        return ""
    # readability only returns serialised HTML; this re-parses its (small) output, not the page.
    fragment = lxml.etree.fromstring(summary, _PARSER)
    if fragment is None:
        return ""
    _drop_link_blocks(fragment)
    for el in fragment.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
        if el.tag != "br":
            el.text = "\n" + (el.text or "")
    return fragment.text_content()


def _drop_link_blocks(root: lxml.html.HtmlElement) -> None:
    """Remove the links of blocks that are mostly links: readability keeps a layout table's
    navigation cell when the story sits in the next cell."""
    for parent in {a.getparent() for a in root.iter("a") if a.getparent() is not None}:
        text = "".join(parent.itertext()).split()
        linked = "".join(t for a in parent.iter("a") for t in a.itertext()).split()
        if text and len(linked) >= 0.8 * len(text):
            for a in list(parent.iter("a")):
                a.drop_tree()
