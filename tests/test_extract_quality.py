"""crawler.extract: every clutter category, each metadata source and its precedence, charset
declarations (header, meta, wrong ones), the readability fallback, non-article pages, and
one parse per page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import htmldate
import lxml.html
import pytest
import trafilatura

from crawler import extract, metadata
from crawler.extract import Article, Skipped, extract_article
from tests.test_extract import JA_PARAGRAPHS, JA_TITLE, JAPANESE_PAGE, LAVROV

DATA = Path(__file__).resolve().parent / "data"
JST = timezone(timedelta(hours=9))


# --- clutter -------------------------------------------------------------------------

STORY = [
    "TOKYO (Kyodo) -- " + LAVROV[0].removeprefix("Tokyo (Jiji Press)—"),
    *LAVROV[1:],
]
# Each category of boilerplate, as news templates put it around a story.
CLUTTER = {
    "comment thread": '<section id="comments"><h3>3 Comments</h3><p>Login to comment</p>'
                      "<div class=\"comment\"><p>They will never give the islands back, that much is clear.</p>"
                      "<span>12 ( +14 / -2 )</span></div></section>",
    "login prompt": '<div class="user-box"><p>Register / Login</p><p>Forgot password?</p></div>',
    "registration prompt": "<p>User registration</p>",
    "newsletter banner": '<div class="newsletter"><p>Get the Japan Today newsletter in your inbox every morning.</p>'
                         "<p>Sign up</p></div>",
    "cookie banner": '<div id="cookie-notice"><p>We use cookies to personalise ads. Accept all cookies</p></div>',
    "ad blurb": '<div class="ad-unit"><p>A Cash and Debit Card all in one!</p><p>Learn More</p></div>',
    "sponsored blurb": "<p>Sponsored</p>",
    "recent features rail": '<aside class="recent-features"><h4>Recent Features</h4><ul>'
                            '<li><a href="/f/1">The Korean Peninsula After the Singapore Summit</a></li>'
                            '<li><a href="/f/2">China’s Belt and Road in Central Asia, Five Years On</a></li></ul></aside>',
    "trending rail": '<div class="trending-sites"><h4>A mix of what\'s trending on our other sites</h4>'
                     '<a href="https://savvy.example/yurie">Yurie Collins Navigates Tokyo’s Comedy Scene</a></div>',
    "breadcrumb": "<p>INTERNATIONAL &gt; East Asia &amp; Pacific</p>",
    "share buttons": '<div class="sns-buttons"><a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">LINE</a></div>'
                     "<p>Share this article</p>",
    "tag list": '<div class="tags"><a href="/t/russia">Russia</a> <a href="/t/kuril">Kuril Islands dispute</a></div>',
    "photo credit": "<p>Photo: AP/Alexander Zemlianichenko</p>",
    "wire trailer": "<p>© KYODO</p>",
    "copyright footer": "<p>©2023 GPlusMedia Inc.</p>",
}
CLUTTER_LINES = {
    "comment thread": ["3 Comments", "Login to comment", "They will never give the islands back", "( +14 / -2 )"],
    "login prompt": ["Register / Login", "Forgot password?"],
    "registration prompt": ["User registration"],
    "newsletter banner": ["newsletter in your inbox", "Sign up"],
    "cookie banner": ["We use cookies"],
    "ad blurb": ["A Cash and Debit Card", "Learn More"],
    "sponsored blurb": ["Sponsored"],
    "recent features rail": ["Recent Features", "Singapore Summit", "Belt and Road"],
    "trending rail": ["trending on our other sites", "Comedy Scene"],
    "breadcrumb": ["East Asia & Pacific"],
    "share buttons": ["Facebook", "Share this article"],
    "tag list": ["Kuril Islands dispute"],
    "photo credit": ["Zemlianichenko"],
    "wire trailer": ["© KYODO"],
    "copyright footer": ["GPlusMedia"],
}


def page_with(clutter: str, where: str) -> str:
    paragraphs = [f"<p>{p}</p>" for p in STORY]
    if where == "inside":  # in the article body, between paragraphs
        paragraphs.insert(3, clutter)
        return (f"<html><head><title>Lavrov says disputes are over</title></head><body>"
                f'<div class="article-body">{"".join(paragraphs)}</div></body></html>')
    return (f"<html><head><title>Lavrov says disputes are over</title></head><body>{clutter}"
            f'<div class="article-body">{"".join(paragraphs)}</div>{clutter}</body></html>')


@pytest.mark.parametrize("where", ["inside", "around"])
@pytest.mark.parametrize("category", sorted(CLUTTER))
def test_clutter_category_is_not_in_the_text(category: str, where: str) -> None:
    article = extract_article(page_with(CLUTTER[category], where))
    assert isinstance(article, Article), article
    for line in CLUTTER_LINES[category]:
        assert line not in article.text, f"{category} kept: {line!r}"
    assert article.text.split("\n\n") == STORY  # every real paragraph, the dateline with it


def test_the_clutter_test_can_fail() -> None:
    """Without the cleanup the same pages keep clutter: the categories above are real work."""
    kept = 0
    for category, html in CLUTTER.items():
        raw = trafilatura.extract(page_with(html, "inside"), favor_precision=True) or ""
        kept += any(line in raw for line in CLUTTER_LINES[category])
    assert kept >= len(CLUTTER) // 3


def test_a_more_stories_list_ending_the_text_is_cut() -> None:
    teasers = [f"the Kuril Islands dispute number {i} explained" for i in range(5)]
    rail = "<h3>More from us</h3><ul>" + "".join(
        f'<li><span>Why </span><a href="/s/{i}">{t}</a><span> matters</span></li>' for i, t in enumerate(teasers))
    rail += "<li>Want weekly picks? Sign up for our newsletter</li></ul>"
    html = (f"<html><head><title>T</title></head><body><article><h1>T</h1>"
            f'{"".join(f"<p>{p}</p>" for p in STORY)}{rail}</article></body></html>')
    assert teasers[1] in trafilatura.extract(html, favor_precision=True)  # what this cleanup is for
    article = extract_article(html)
    assert isinstance(article, Article)
    assert article.text.endswith(STORY[-1])


def test_a_long_paragraph_is_kept_whatever_its_class() -> None:
    body = "".join(f'<p class="paywall">{p}</p>' for p in STORY)
    article = extract_article(f"<html><head><title>T</title></head><body><article>{body}</article></body></html>")
    assert isinstance(article, Article) and article.text.split("\n\n") == STORY


# --- metadata sources and precedence -------------------------------------------------

JSON_LD = """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "From JSON-LD", "datePublished": "2023-12-18T17:42:00+09:00", "dateModified": "2023-12-18T19:00:00+09:00",
 "author": {"@type": "Person", "name": "Ld Author"}, "description": "LD description", "inLanguage": "en",
 "url": "https://news.example/ld", "publisher": {"@type": "Organization", "name": "LD Site"},
 "image": {"@type": "ImageObject", "url": "https://news.example/ld.jpg"}, "keywords": ["ld-tag"],
 "articleSection": "LD section"}</script>"""
META = """<meta property="og:title" content="From OG"><meta name="author" content="Meta Author">
<meta property="article:published_time" content="2023-12-18T10:00:00+09:00">
<meta property="article:modified_time" content="2023-12-18T11:00:00+09:00">
<meta property="og:description" content="OG description"><meta property="og:locale" content="en_US">
<meta property="og:url" content="https://news.example/og"><meta property="og:site_name" content="OG Site">
<meta property="og:image" content="https://news.example/og.jpg"><meta property="article:tag" content="og-tag">
<meta property="article:section" content="OG section">"""
STRUCTURE = """<title>From title tag | OG Site</title>"""
BODY = "<h1>From H1</h1><p class=\"byline\">By Byline Author</p>" + "".join(f"<p>{p}</p>" for p in STORY)

FIELDS_FROM = {
    "json-ld": {"title": "From JSON-LD", "authors": ("Ld Author",), "description": "LD description",
                "published_at": datetime(2023, 12, 18, 17, 42, tzinfo=JST),
                "updated_at": datetime(2023, 12, 18, 19, 0, tzinfo=JST),
                "canonical_url": "https://news.example/ld", "site_name": "LD Site",
                "image": "https://news.example/ld.jpg", "tags": ("ld-tag",), "section": "LD section"},
    "meta": {"title": "From OG", "authors": ("Meta Author",), "description": "OG description",
             "published_at": datetime(2023, 12, 18, 10, 0, tzinfo=JST),
             "updated_at": datetime(2023, 12, 18, 11, 0, tzinfo=JST),
             "canonical_url": "https://news.example/og", "site_name": "OG Site",
             "image": "https://news.example/og.jpg", "tags": ("og-tag",), "section": "OG section"},
}


def metadata_page(*sources: str) -> str:
    head = "".join({"json-ld": JSON_LD, "meta": META}[s] for s in sources)
    return f"<html><head>{STRUCTURE}{head}</head><body>{BODY}</body></html>"


@pytest.mark.parametrize("sources, winner", [
    (("json-ld", "meta"), "json-ld"),
    (("meta", "json-ld"), "json-ld"),  # precedence is by source, not by order in the page
    (("meta",), "meta"),
    (("json-ld",), "json-ld"),
])
def test_metadata_source_precedence(sources: tuple[str, ...], winner: str) -> None:
    article = extract_article(metadata_page(*sources), url="https://news.example/page")
    assert isinstance(article, Article)
    for name, value in FIELDS_FROM[winner].items():
        assert getattr(article, name) == value, name


def test_page_structure_then_trafilatura_then_htmldate_fill_the_rest() -> None:
    html = (f"<html><head>{STRUCTURE}</head><body>{BODY}"
            "<p>Published 2023-12-18</p></body></html>").replace("<title>From title tag | OG Site</title>",
                                                                 "<title>From title tag | Daily</title>")
    article = extract_article(html, url="https://news.example/2023/12/18/page")
    assert isinstance(article, Article)
    assert article.title == "From H1"  # <h1> before <title>
    assert article.authors == ("Byline Author",)  # trafilatura's byline heuristics
    assert article.published_at is not None and article.published_at.date().isoformat() == "2023-12-18"  # htmldate
    assert article.canonical_url == "https://news.example/2023/12/18/page"  # the page's own URL
    assert article.language == "en"  # detected from the text: nothing declares it
    assert article.tags == () and article.section is None and article.image is None


# --- encodings -----------------------------------------------------------------------


@pytest.mark.parametrize("codec, header, meta", [
    ("cp932", "text/html; charset=Shift_JIS", '<meta charset="utf-8">'),  # header right, meta wrong
    ("euc_jp", "text/html; charset=utf-8", '<meta charset="EUC-JP">'),  # header wrong, meta right
    ("euc_jp", "text/html; charset=Shift_JIS", '<meta charset="utf-8">'),  # both wrong: detected
    ("utf-8", "text/html; charset=ISO-8859-1", ""),  # a server's default Latin-1 over UTF-8
    ("cp932", "text/html", ""),  # nothing declared
])
def test_charset_from_header_meta_or_detection(codec: str, header: str, meta: str) -> None:
    data = JAPANESE_PAGE.format(meta=meta).encode(codec)
    article = extract_article(data, content_type=header)
    assert isinstance(article, Article), article
    assert article.title == JA_TITLE
    assert article.text == "\n\n".join(JA_PARAGRAPHS)
    assert article.language == "ja"


def test_a_short_japanese_article_is_long_enough() -> None:
    """The minimum length is in Latin-text characters; a Japanese character says about two."""
    html = f"<html><head><title>{JA_TITLE}</title></head><body><article><p>{JA_PARAGRAPHS[0]}</p>" \
           f"<p>{JA_PARAGRAPHS[2]}</p></article></body></html>"
    assert len(JA_PARAGRAPHS[0] + JA_PARAGRAPHS[2]) < extract.MIN_TEXT_CHARS
    assert isinstance(extract_article(html), Article)


# --- fallback ------------------------------------------------------------------------


def test_a_table_layout_page_gives_its_story_alone() -> None:
    article = extract_article((DATA / "pages" / "table_layout.html").read_bytes(),
                              url="https://nemuro.example/2023/12/20/fishing.html")
    assert isinstance(article, Article)
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("NEMURO -- Fishermen in this eastern Hokkaido port")
    assert paragraphs[-1].endswith("About 60 boats from Nemuro and nearby Rausu used to operate under the deal each year.")
    assert len(paragraphs) == 4  # no navigation cell, no date line, no footer naming the site
    assert article.title == "Fishermen in Nemuro call for safe-operation deal"


def test_readability_takes_over_when_trafilatura_finds_too_little(monkeypatch: pytest.MonkeyPatch) -> None:
    """trafilatura's default mode finds the story of every page here; when it does not (the
    template defeats it), readability's reading of the same tree is taken."""
    monkeypatch.setattr(extract, "_extract_text", lambda tree, url: "Local\nFisheries")
    article = extract_article((DATA / "pages" / "table_layout.html").read_bytes(),
                              url="https://nemuro.example/2023/12/20/fishing.html")
    assert isinstance(article, Article)
    assert article.extractor == "readability"
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0].startswith("NEMURO -- Fishermen in this eastern Hokkaido port")
    assert len(paragraphs) == 4


def test_trafilatura_is_recorded_when_it_succeeds() -> None:
    article = extract_article(metadata_page("meta"))
    assert isinstance(article, Article) and article.extractor == "trafilatura"


# --- not articles --------------------------------------------------------------------


@pytest.mark.parametrize("name, reason", [
    ("index", "index page"),
    ("gallery", "photo gallery"),
    ("video", "video page"),
    ("liveblog", "live blog without a body"),
    ("short", "no article text"),
])
def test_non_article_page_is_skipped_with_its_reason(name: str, reason: str) -> None:
    result = extract_article((DATA / "nonarticle" / f"{name}.html").read_bytes(), url=f"https://x.example/{name}")
    assert isinstance(result, Skipped) and result.reason.startswith(reason), result


@pytest.mark.parametrize("name, reason", [("index", "index page (6 of 6 teasers hold"), ("gallery", "photo gallery")])
def test_non_article_is_recognised_without_a_declared_type(name: str, reason: str) -> None:
    html = (DATA / "nonarticle" / f"{name}.html").read_text(encoding="utf-8")
    html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
    result = extract_article(html)
    assert isinstance(result, Skipped) and result.reason.startswith(reason), result


def test_an_article_with_a_video_or_a_rail_of_teasers_is_still_an_article() -> None:
    teasers = "".join(f'<article><h3><a href="/s/{i}">Other story {i} about the islands</a></h3>'
                      f"<p>Summary {i}.</p></article>" for i in range(6))
    html = ('<html><head><title>T</title><meta property="og:type" content="article">'
            '<script type="application/ld+json">[{"@type": "NewsArticle", "headline": "Lavrov"},'
            '{"@type": "VideoObject", "name": "Clip"}]</script></head><body><main><h1>Lavrov</h1>'
            f'<video src="/v.mp4"></video>{"".join(f"<p>{p}</p>" for p in STORY)}</main>{teasers}</body></html>')
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.startswith(STORY[0])


def test_an_article_whose_own_element_holds_heading_links_is_not_an_index() -> None:
    """Real templates put the story in an <article> that also holds its share bar and rail
    (headings with links), beside a few small teasers: the story's text is not theirs."""
    rail = "".join(f'<h3><a href="/more/{i}">More on the islands, part {i}</a></h3>' for i in range(3))
    teasers = "".join(f'<article><h2><a href="/s/{i}">Other story {i}</a></h2></article>' for i in range(6))
    html = (f'<html><head><title>Lavrov</title></head><body><article><h1>Lavrov</h1>'
            f'{"".join(f"<p>{p}</p>" for p in STORY)}{rail}</article>{teasers}</body></html>')
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.startswith(STORY[0])


def test_link_paragraphs_inside_the_story_and_their_label_are_dropped() -> None:
    html = ('<html><head><title>Lavrov</title></head><body><article><h1>Lavrov</h1>'
            f'<p>{STORY[0]}</p><p><b>Lesen Sie auch:</b></p>'
            '<p><a href="/a">Russland weist japanischen Protest gegen Manöver zurück</a></p>'
            '<p><a href="/b">ロシア外相「領土問題は全て終わった」</a></p>'
            f'{"".join(f"<p>{p}</p>" for p in STORY[1:])}</article></body></html>')
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.split("\n\n") == STORY


def test_the_header_lines_above_the_story_are_dropped() -> None:
    """Kicker and headline, byline and date stamp, whatever the language they are in."""
    html = ('<html><head><title>Warum Putin warnt</title><meta name="author" content="Manuela Conrad"></head>'
            '<body><article><div>Dekolonisierung: Warum Putin warnt</div><div>von Manuela Conrad</div>'
            '<div>Stand: 22.04.2024, 06:00 Uhr</div>'
            f'{"".join(f"<p>{p}</p>" for p in STORY)}</article></body></html>')
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.split("\n\n") == STORY


def test_a_note_on_the_author_that_ends_the_text_is_dropped_but_a_wire_credit_stays() -> None:
    def page(*tail: str) -> str:
        return ('<html><head><title>Lavrov</title><meta name="author" content="Lance Ulanoff"></head><body><article>'
                f'<h1>Lavrov</h1>{"".join(f"<p>{p}</p>" for p in (*STORY, *tail))}</article></body></html>')
    bio = "A veteran journalist, Lance has covered technology since PCs were the size of suitcases."
    assert extract_article(page(bio)).text.split("\n\n") == STORY
    credit = "By Lance Ulanoff of the Associated Press with additional reporting by The Diplomat."
    assert extract_article(page(credit)).text.split("\n\n") == [*STORY, credit]
    # a name is matched as written: "lance" in lower case is no mention of the author
    plain = "The ministry did not say whether a lance of soldiers would be sent to the islands."
    assert extract_article(page(plain)).text.split("\n\n") == [*STORY, plain]


def test_a_visible_headline_that_differs_from_the_title_is_a_header_line() -> None:
    html = ('<html><head><title>SEO title about Lavrov</title><meta property="og:title" content="SEO title about Lavrov">'
            '</head><body><article><div><h1>Lavrov rules out talks on the islands</h1></div>'
            f'{"".join(f"<p>{p}</p>" for p in STORY)}</article></body></html>')
    article = extract_article(html)
    assert article.text.split("\n\n") == STORY


def test_a_visible_standfirst_opens_the_text() -> None:
    """The page's description, when it is also visible text of the page, is the summary
    under the headline: it opens the article even outside the story's element."""
    lead = "Moscow rules out talks on the islands, says Lavrov, in an interview broadcast on Monday evening"
    html = (f'<html><head><title>Lavrov</title><meta name="description" content="{lead[:70]}…"></head>'
            f'<body><header><h1>Lavrov</h1><p class="lead">{lead}</p></header>'
            f'<div class="story">{"".join(f"<p>{p}</p>" for p in STORY)}</div></body></html>')
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.split("\n\n") == [lead, *STORY]
    hidden = html.replace(f'<p class="lead">{lead}</p>', "")
    assert extract_article(hidden).text.split("\n\n") == STORY  # a description alone is not text


# --- one parse -----------------------------------------------------------------------


def test_the_page_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tool gets the tree: a str or bytes reaching trafilatura, htmldate or the
    metadata readers would mean a second parse of the page."""
    parses = []
    real_parse = extract.parse_html
    monkeypatch.setattr(extract, "parse_html", lambda text: parses.append(1) or real_parse(text))
    handed = []

    def spy(module, name):
        real = getattr(module, name)

        def wrapper(first, *args, **kwargs):
            handed.append((name, type(first)))
            return real(first, *args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)

    spy(trafilatura, "bare_extraction")
    spy(extract.trafilatura, "bare_extraction")
    spy(metadata, "trafilatura_metadata")
    spy(htmldate, "find_date")
    spy(metadata.htmldate, "find_date")
    html = f"<html><head><title>Plain page</title></head><body>{''.join(f'<p>{p}</p>' for p in STORY)}</body></html>"
    assert isinstance(extract_article(html.encode()), Article)
    assert parses == [1]
    assert {name for name, _ in handed} >= {"bare_extraction", "trafilatura_metadata", "find_date"}
    assert all(issubclass(kind, lxml.html.HtmlElement) for _, kind in handed), handed


# --- deep nesting --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [250, 255, 600])
def test_a_story_under_deep_nesting_is_extracted(depth: int) -> None:
    """libxml2 stops at 256 levels by default and drops the rest of the page."""
    html = (f"<html><head><title>Lavrov</title></head><body>{'<div>' * depth}<article><h1>Lavrov</h1>"
            f"{''.join(f'<p>{p}</p>' for p in STORY)}</article>{'</div>' * depth}</body></html>")
    article = extract_article(html)
    assert isinstance(article, Article), article
    assert article.text.split("\n\n") == STORY


def test_a_page_nested_past_the_limit_is_skipped_as_what_it_is() -> None:
    html = (f"<html><head><title>Lavrov</title></head><body>{'<div>' * 1100}<p>{STORY[0]}</p>"
            f"{'</div>' * 1100}</body></html>")
    result = extract_article(html)
    assert isinstance(result, Skipped) and result.reason.startswith("document nested too deep"), result
