"""crawler.extract on the bundled replay pages, hostile input, Japanese encodings and rules."""

from __future__ import annotations

import os
import random
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from crawler.clean import boilerplate_rule, clean_text
from crawler.extract import MIN_TEXT_CHARS, Article, Skipped, extract_article
from crawler.outlet import ExtractionRules

SITES = Path(__file__).resolve().parent.parent / "demo" / "sites"
MANIFEST = SITES / "manifest.toml"
BASE = "http://127.0.0.1:8000"


def manifest(kind: str) -> list[Any]:
    """One pytest param per manifest entry of `kind`; a missing manifest is a failing param."""
    if not MANIFEST.exists():
        return [pytest.param(None, id="manifest-missing")]
    entries = tomllib.loads(MANIFEST.read_text(encoding="utf-8")).get(kind, [])
    return [pytest.param(e, id=f"{e['site']}:{e['path']}") for e in entries] or [
        pytest.param(None, id=f"no-{kind}-in-manifest")
    ]


def page_file(entry: dict[str, Any]) -> Path:
    """The replay file behind a URL path: "/a/" -> a/index.html, "/a" -> a, a.html or a/index.html."""
    site = SITES / entry["site"]
    path = entry["path"].lstrip("/")
    if not path or path.endswith("/"):
        return site / path / "index.html"
    for candidate in (site / path, site / f"{path}.html", site / path / "index.html"):
        if candidate.is_file():
            return candidate
    raise AssertionError(f"no replay file for {entry['site']}:{entry['path']}")


def page_url(entry: dict[str, Any]) -> str:
    return BASE + entry["path"]


def load_page(entry: dict[str, Any]) -> bytes:
    return page_file(entry).read_bytes().replace(b"{{BASE}}", BASE.encode())


def as_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


@pytest.mark.parametrize("entry", manifest("article"))
def test_manifest_article(entry: dict[str, Any] | None) -> None:
    assert entry is not None, f"{MANIFEST} is missing or lists no [[article]]"
    article = extract_article(load_page(entry), page_url(entry))
    assert isinstance(article, Article), article
    assert entry["first_sentence"] in article.text
    assert entry["last_sentence"] in article.text
    for line in entry.get("clutter", []):
        assert line not in article.text, f"clutter kept: {line!r}"
    for caption in entry.get("captions", []):
        # A caption can open the first sentence ("Russian Foreign Minister Sergey Lavrov").
        if caption not in entry["first_sentence"]:
            assert caption not in article.text, f"caption kept: {caption!r}"
    if "paragraphs" in entry:  # the body's, from its first sentence to its last
        body = article.text[article.text.index(entry["first_sentence"]):]
        assert body.count("\n\n") + 1 == entry["paragraphs"]
    if "dek" in entry:  # a visible standfirst opens the text
        assert article.text.startswith(entry["dek"] + "\n\n")
    assert article.title == entry["title"]
    assert article.authors == tuple(entry.get("authors", []))
    if entry.get("published"):
        assert article.published_at == as_datetime(entry["published"])
    # One blank line between paragraphs, never more, never a stray space.
    assert "\n\n\n" not in article.text
    assert all(p == p.strip() and p for p in article.text.split("\n\n"))
    assert article.language == entry.get("language", "en")
    assert article.canonical_url == page_url(entry)


@pytest.mark.parametrize("entry", manifest("non_article"))
def test_manifest_non_article_is_skipped(entry: dict[str, Any] | None) -> None:
    assert entry is not None, f"{MANIFEST} is missing or lists no [[non_article]]"
    result = extract_article(load_page(entry), page_url(entry))
    assert isinstance(result, Skipped), f"{entry['kind']} page extracted as an article: {result}"


# --- not articles --------------------------------------------------------------------

SECTION_PAGE = (
    "<html><head><title>Politics | Japan Today</title></head><body><h1>Politics</h1><ul>"
    + "".join(
        f'<li><a href="/category/politics/story-{i}">Headline number {i} about a cabinet meeting in Tokyo</a>'
        f" <span>Dec {i + 1}, 2023</span></li>"
        for i in range(40)
    )
    + "</ul></body></html>"
)


@pytest.mark.parametrize(
    "html, reason",
    [
        (b"", "empty document"),
        ("  \n\t ", "empty document"),
        (os.urandom(4096), "not HTML"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not HTML"),
        ("<!-- nothing -->", "unparseable HTML"),
        ("<html><body><p>Too short to be news.</p></body></html>", "no article text"),
        ("<html><body><div><p>unclosed <span>text " * 5, "no article text"),
        (SECTION_PAGE, "link list"),
    ],
    ids=["empty-bytes", "whitespace", "random-bytes", "png", "comment-only", "short", "broken", "section-page"],
)
def test_not_an_article_is_skipped(html: str | bytes, reason: str) -> None:
    result = extract_article(html)
    assert isinstance(result, Skipped)
    assert result.reason.startswith(reason)


def test_short_text_reason_names_the_floor() -> None:
    result = extract_article("<html><head><title>T</title></head><body><p>" + "word " * 20 + "</p></body></html>")
    assert result == Skipped(f"no article text (99 chars < {MIN_TEXT_CHARS})")


@pytest.mark.parametrize(
    "html",
    [
        '<script type="application/ld+json">' + "[" * 50_000 + "]" * 50_000 + "</script><p>x</p>",
        '<script type="application/ld+json">{"@type": [{}], "author": {"name": 5}, "headline": ["a"]}</script>',
        '<html><head><link rel="canonical" href="http://[broken"><meta property="og:url" content="http://[x">'
        "</head><body>" + "<p>Lavrov said the dispute was over.</p>" * 20 + "</body></html>",
        "<html><body><p>" + "nul\x00 and \x0b control " * 40 + "</p></body></html>",
        "<html><body>" + "<p>hi</p>" * 25_000 + "</body></html>",
        "<div>" * 100_000,
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>hello</p></body></html>',
    ],
    ids=[
        "deep-json-ld", "odd-json-ld", "bad-ipv6-urls", "control-chars", "too-many-elements", "deep-divs", "xml-decl"
    ],
)
def test_hostile_html_never_raises(html: str) -> None:
    assert isinstance(extract_article(html, url="http://127.0.0.1:8000/a"), (Article, Skipped))


def test_mutated_replay_pages_never_raise() -> None:
    """Bytes flipped, cut and spliced into a real page (seeded, so a failure reproduces)."""
    pages = [load_page(e.values[0]) for e in manifest("article") if e.values[0] is not None]
    assert pages
    rng = random.Random(20231218)
    splices = [b"<", b"</div>", b"\x00", b"<!--", b"&#0;", b"<![CDATA[", b"\xff\xfe", b"http://["]
    splices.append(b'<meta charset="shift_jis">')
    for _ in range(40):
        page = bytearray(rng.choice(pages))
        for _ in range(rng.randint(1, 60)):
            at = rng.randrange(len(page))
            roll = rng.random()
            if roll < 0.4:
                page[at] = rng.randrange(256)
            elif roll < 0.7:
                del page[at : at + rng.randint(1, 500)]
            else:
                page[at:at] = rng.choice(splices)
        assert isinstance(extract_article(bytes(page), f"{BASE}/x"), (Article, Skipped))


def test_truncated_bytes_never_raise() -> None:
    data = JAPANESE_PAGE.format(meta='<meta charset="Shift_JIS">').encode("cp932")
    for end in range(0, len(data), 37):
        assert isinstance(extract_article(data[:end]), (Article, Skipped))


# --- Japanese encodings --------------------------------------------------------------

JA_TITLE = "ラブロフ外相「日本と領土問題はない」"
JA_PARAGRAPHS = [
    "【東京】ロシアのラブロフ外相は１８日、国営テレビのインタビューで、日本を含む他国との領土問題は"
    "「存在しない」と述べた。北方領土をめぐる交渉に応じない姿勢を改めて示したものとみられる。",
    "ラブロフ氏は、北大西洋条約機構（ＮＡＴＯ）との間にも領土をめぐる争いはないと主張したうえで、"
    "日本についても言及した。インタビューの内容は外務省のウェブサイトで公開された。",
    "ロシアは昨年３月、ウクライナ侵攻を受けて日本が制裁を科したことを理由に、平和条約締結交渉を"
    "中断すると一方的に表明している。",
    "日本政府は、北方四島の帰属問題を解決して平和条約を締結するという基本方針に変わりはないとしている。"
    "松野官房長官は記者会見で「引き続き粘り強く取り組む」と語った。",
]
JAPANESE_PAGE = (
    "<html><head>{meta}<title>" + JA_TITLE + "｜テスト新聞</title></head><body>"
    '<nav><a href="/">ホーム</a> <a href="/politics">政治</a></nav><article><h1>' + JA_TITLE + "</h1>"
    + "".join(f"<p>{p}</p>" for p in JA_PARAGRAPHS)
    + "</article><footer>Copyright テスト新聞社</footer></body></html>"
)


@pytest.mark.parametrize("codec, label", [("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP"), ("utf-8", "utf-8")])
@pytest.mark.parametrize("declared", [True, False], ids=["meta-charset", "detected"])
def test_japanese_bytes_decode(codec: str, label: str, declared: bool) -> None:
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={label}">' if declared else ""
    article = extract_article(JAPANESE_PAGE.format(meta=meta).encode(codec))
    assert isinstance(article, Article), article
    assert article.title == JA_TITLE
    assert article.language == "ja"
    assert article.text == "\n\n".join(JA_PARAGRAPHS)


def test_wrongly_declared_charset_falls_back_to_detection() -> None:
    data = JAPANESE_PAGE.format(meta='<meta charset="utf-8">').encode("euc_jp")
    article = extract_article(data)
    assert isinstance(article, Article)
    assert JA_PARAGRAPHS[0] in article.text


def test_a_few_stray_bytes_keep_the_declared_charset() -> None:
    data = JAPANESE_PAGE.format(meta='<meta charset="utf-8">').encode("utf-8").replace("。".encode(), b"\xff", 1)
    article = extract_article(data)
    assert isinstance(article, Article)
    assert JA_PARAGRAPHS[-1] in article.text  # not re-guessed as some other codec


def test_utf8_bom_wins_over_meta() -> None:
    data = b"\xef\xbb\xbf" + JAPANESE_PAGE.format(meta='<meta charset="Shift_JIS">').encode("utf-8")
    article = extract_article(data)
    assert isinstance(article, Article) and article.title == JA_TITLE


# --- outlet rules --------------------------------------------------------------------

LAVROV = [
    "Tokyo (Jiji Press)—Russian Foreign Minister Sergei Lavrov has claimed that his country has no "
    "territorial disputes with other countries including Japan, indicating that Moscow will not engage "
    "in negotiations over the so-called Northern Territories.",
    "Lavrov made the remark in an interview Monday on Channel 1, a Kremlin-backed television channel.",
    "The Northern Territories are the four Russia-held northwestern Pacific islands claimed by Japan. "
    "Lavrov said that the issue regarding the islands is a done deal.",
    "The 2020 Russian constitutional amendment, which made term limits a dead letter, also included a "
    "clause banning the ceding of territory in principle.",
    "The disputed islands were seized from Japan by Soviet troops in the closing days of World War II.",
]
PROMO = (
    "Subscribers can now read our award-winning Sunday magazine in the new app, with longer "
    "investigations, photo essays from across Asia and a weekly briefing on diplomacy."
)


def test_drop_rule_removes_what_generic_extraction_keeps() -> None:
    body = "".join(
        f"<p>{p}</p>" + (f'<div class="jx-extra"><p>{PROMO}</p></div>' if i == 2 else "")
        for i, p in enumerate(LAVROV)
    )
    html = f'<html><head><title>Lavrov</title></head><body><div class="story">{body}</div></body></html>'
    generic = extract_article(html)
    assert isinstance(generic, Article) and PROMO in generic.text  # the failure the rule exists for
    fixed = extract_article(html, rules=ExtractionRules(drop=(".jx-extra", "nav")))
    assert isinstance(fixed, Article)
    assert PROMO not in fixed.text
    assert fixed.text == "\n\n".join(LAVROV)


def test_body_rule_picks_the_article_over_a_paragraph_rich_sidebar() -> None:
    teasers = "".join(f"<p>{PROMO} Offer {i}.</p>" for i in range(6))
    html = (
        "<html><head><title>Lavrov</title></head><body>"
        f'<div class="rail">{teasers}</div><div id="txt">{"<br><br>".join(LAVROV)}</div>'
        f'<div class="more">{teasers}</div></body></html>'
    )
    generic = extract_article(html)
    assert isinstance(generic, Article) and PROMO in generic.text
    fixed = extract_article(html, rules=ExtractionRules(body="#txt"))
    assert isinstance(fixed, Article)
    assert PROMO not in fixed.text
    assert LAVROV[0] in fixed.text and LAVROV[-1] in fixed.text


def test_author_and_date_rules_win_over_generic_metadata() -> None:
    html = (
        '<html><head><title>Lavrov</title><meta name="author" content="Desk"></head><body>'
        '<p class="by">By Taro Yamada and Hanako Sato</p><p class="when">Dec. 19, 2023 17:41 JST</p>'
        + "".join(f"<p>{p}</p>" for p in LAVROV)
        + "</body></html>"
    )
    article = extract_article(html, rules=ExtractionRules(author=".by", date=".when"))
    assert isinstance(article, Article)
    assert article.authors == ("Taro Yamada", "Hanako Sato")
    assert article.published_at == datetime(2023, 12, 19, 17, 41, tzinfo=timezone(timedelta(hours=9)))
    assert extract_article(html).authors == ("Desk",)


def test_body_rule_matching_nothing_falls_back_to_the_page() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in LAVROV)
    html = f"<html><head><title>Lavrov</title></head><body>{paragraphs}</body></html>"
    article = extract_article(html, rules=ExtractionRules(body="#nowhere", drop=("[[invalid",)))
    assert isinstance(article, Article) and LAVROV[-1] in article.text


# --- metadata ------------------------------------------------------------------------


def test_json_ld_in_graph_beats_opengraph_and_naive_dates_are_utc() -> None:
    html = (
        '<html lang="en-GB"><head><title>Wrong title | Site</title>'
        '<meta property="og:title" content="OG title"><meta property="og:locale" content="ja_JP">'
        '<meta property="og:image" content="/img/a.jpg"><meta property="article:tag" content="Russia">'
        '<link rel="canonical" href="/news/lavrov">'
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebSite", "name": "Ignored"},'
        '{"@type": "ReportageNewsArticle", "headline": "JSON-LD headline", "datePublished": "2023-12-19T08:41:00",'
        '"dateModified": "2023-12-19T10:00:00+09:00", "author": [{"@type": "Person", "name": "Jane Roe"}, '
        '{"@type": "Person", "name": "John Doe"}], "publisher": {"@type": "Organization", "name": "Jiji Press"},'
        '"articleSection": ["Politics"], "keywords": "Russia, Japan"}]}</script>'
        "</head><body><h1>H1 title</h1>" + "".join(f"<p>{p}</p>" for p in LAVROV) + "</body></html>"
    )
    article = extract_article(html, url="https://example.com/a/b?x=1")
    assert isinstance(article, Article)
    assert article.title == "JSON-LD headline"
    assert article.authors == ("Jane Roe", "John Doe")
    assert article.published_at == datetime(2023, 12, 19, 8, 41, tzinfo=timezone.utc)
    assert article.updated_at == datetime(2023, 12, 19, 1, 0, tzinfo=timezone.utc)
    assert article.language == "en"  # <html lang> comes before og:locale
    assert article.canonical_url == "https://example.com/news/lavrov"
    assert article.image == "https://example.com/img/a.jpg"
    assert article.site_name == "Jiji Press"
    assert article.section == "Politics"
    assert article.tags == ("Russia", "Japan")


def test_title_falls_back_to_h1_then_title_without_site_suffix() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in LAVROV)
    with_h1 = f"<html><head><title>T | Kyodo News</title></head><body><h1>The H1</h1>{paragraphs}</body></html>"
    assert extract_article(with_h1).title == "The H1"
    title_only = (
        "<html><head><title>Russia says territorial disputes with Japan are over | Kyodo News</title></head>"
        f"<body>{paragraphs}</body></html>"
    )
    assert extract_article(title_only).title == "Russia says territorial disputes with Japan are over"


# --- line cleanup --------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "© KYODO",
        "©2023 GPlusMedia Inc.",
        "==Kyodo",
        "Alexander Zemlianichenko/Pool via REUTERS",
        "Russian Foreign Minister Sergey Lavrov Photo: AP/Alexander Zemlianichenko",
        "Credit: AP Photo/Alexander Zemlianichenko",
        "Login to comment",
        "Login to leave a comment",
        "1 Comment",
        "0 ( +0 / -0 )",
        "print PRINT",
        "Share this article",
        "Newsletter Signup Register / Login",
        "INTERNATIONAL > East Asia & Pacific",
        "Related coverage:",
        "You have read 1 of 10 free articles this month.",
        "Like this story? Subscribe to The Diplomat for unlimited access to our reporting and analysis.",
        "This website uses cookies to improve your experience. We'll assume you're ok with this, "
        "but you can opt-out if you wish. Accept",
    ],
)
def test_boilerplate_lines_are_recognised(line: str) -> None:
    assert boilerplate_rule(line) is not None


@pytest.mark.parametrize(
    "line",
    [
        "TOKYO (Kyodo) -- Russian Foreign Minister Sergey Lavrov said Monday that disputes are over.",
        "MOSCOW – Russian President Vladimir Putin told local media he will adhere to the Constitution.",
        "Lavrov made the remark in an interview Monday on Channel 1.",
        "Share prices in Tokyo rose 2 percent.",
        "By Vladimir Isachenkov of the Associated Press with additional reporting by The Diplomat.",
        "He continued, “Generally speaking, we don't have territorial disputes with any countries.”",
    ],
)
def test_content_lines_are_kept(line: str) -> None:
    assert boilerplate_rule(line) is None


def test_clean_text_drops_repeated_title_and_joins_paragraphs() -> None:
    raw = "Headline\nFirst  paragraph.\n\n\nSecond paragraph.\n© KYODO\n"
    assert clean_text(raw, labels=["Headline"]) == "First paragraph.\n\nSecond paragraph."
