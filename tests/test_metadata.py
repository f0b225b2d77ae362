"""crawler.metadata on small hand-written pages, one rule per test."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import lxml.html
import pytest

from crawler.bylines import split_authors
from crawler.metadata import Metadata, complete_metadata, read_metadata

URL = "https://news.example/2024/08/22/story"


def page(head: str = "", body: str = "", ld: dict | list | None = None) -> str:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld is not None else ""
    return f"<html><head>{head}{script}</head><body>{body}<p>{'Text of the story. ' * 20}</p></body></html>"


def meta_of(html: str, complete: bool = False) -> Metadata:
    tree = lxml.html.document_fromstring(html)
    found = read_metadata(tree, URL)
    if complete:
        complete_metadata(found, tree, URL)
    return found


def article(**fields: object) -> dict:
    return {"@context": "https://schema.org", "@type": "NewsArticle", **fields}


# --- title ---------------------------------------------------------------------------


def test_entities_escaped_once_too_often_are_decoded() -> None:
    # JSON-LD is not HTML: lxml leaves its entities alone. A meta attribute can carry "&amp;#039;".
    ld = article(headline="Schubert: &quot;Nicht mehr viel&quot; &#8216;zu&#8217; verlieren")
    assert meta_of(page(ld=ld)).title == "Schubert: \"Nicht mehr viel\" \u2018zu\u2019 verlieren"
    og = '<meta property="og:title" content="T&amp;#252;rkiye&amp;#039;de yang&#305;n">'
    assert meta_of(page(head=og)).title == "Türkiye'de yangın"


def test_json_ld_headline_beats_og_title_and_h1() -> None:
    head = '<meta property="og:title" content="The social headline">'
    html = page(head=head, body="<h1>The visible headline</h1>", ld=article(headline="The SEO headline"))
    assert meta_of(html).title == "The SEO headline"


def test_h1_in_the_breadcrumb_gives_way_to_og_title_shown_in_an_h2() -> None:
    head = '<meta property="og:title" content="Warum Kritik so ineffektiv ist">'
    crumb = '<nav class="breadcrumbs"><a href="/politik">Politik</a><h1>Trump: Kritik ist ineffektiv</h1></nav>'
    shown = '<h2><span class="kicker">Meinung</span><span class="headline">Warum Kritik so ineffektiv ist</span></h2>'
    ld = article(headline="Trump: Kritik ist ineffektiv")
    assert meta_of(page(head=head, body=crumb + shown, ld=ld)).title == "Warum Kritik so ineffektiv ist"
    # The same h1 outside a breadcrumb is the headline, and the JSON-LD headline stays.
    plain = "<h1>Trump: Kritik ist ineffektiv</h1>" + shown
    assert meta_of(page(head=head, body=plain, ld=ld)).title == "Trump: Kritik ist ineffektiv"
    # og:title that readers never see does not win either.
    assert meta_of(page(head=head, body=crumb, ld=ld)).title == "Trump: Kritik ist ineffektiv"


def test_section_label_that_another_source_lacks_is_dropped() -> None:
    head = '<meta property="og:title" content="Thioune fordert Geduld">'
    ld = article(headline="Thioune fordert Geduld | Sport")
    assert meta_of(page(head=head, ld=ld)).title == "Thioune fordert Geduld"


def test_dash_part_is_kept_even_when_the_h1_lacks_it() -> None:
    # " - " joins parts of headlines themselves ("... THOUSANDS - here's how"): no label.
    ld = article(headline="Your bill could be worth THOUSANDS - here is how to check")
    html = page(body="<h1>Your bill could be worth THOUSANDS</h1>", ld=ld)
    assert meta_of(html).title == "Your bill could be worth THOUSANDS - here is how to check"


def test_empty_h1_is_passed_over() -> None:
    html = page(head="<title>Story title - Section - Site</title>", body='<h1 class="logo"></h1><h1>Story title</h1>')
    assert meta_of(html).title == "Story title"


# --- publication time ----------------------------------------------------------------


def test_json_ld_in_cdata_keeps_its_offset() -> None:
    ld = json.dumps(article(headline="H", datePublished="2024-08-22T12:00:00+02:00"))
    html = f'<html><head><script type="application/ld+json">\n//<![CDATA[\n{ld}\n//]]>\n</script></head><body></body></html>'
    assert meta_of(html).published_at == datetime(2024, 8, 22, 10, 0, tzinfo=timezone.utc)


def test_marked_time_element_gives_the_time_when_meta_tags_have_none() -> None:
    body = (
        '<time class="entry-date published" datetime="2026-01-27T12:13:17+01:00">27. Januar 2026</time>'
        '<time class="entry-date" datetime="2026-01-27T07:14:00+01:00">27. Januar 2026</time>'
    )
    found = meta_of(page(body=body)).published_at
    assert found == datetime(2026, 1, 27, 12, 13, 17, tzinfo=timezone(timedelta(hours=1)))


def test_a_day_without_a_time_takes_the_time_element_of_that_day() -> None:
    head = '<meta property="article:published_time" content="2024-08-22">'
    body = '<time datetime="2024-08-21T09:00:00+02:00">yesterday</time><time datetime="2024-08-22T12:00:00+02:00">today</time>'
    assert meta_of(page(head=head, body=body)).published_at == datetime(2024, 8, 22, 10, 0, tzinfo=timezone.utc)
    # With no <time> of that day, the day stays as given.
    assert meta_of(page(head=head)).published_at == datetime(2024, 8, 22, tzinfo=timezone.utc)


def test_fact_check_date_comes_from_its_claim_review() -> None:
    ld = {"@context": "https://schema.org", "@type": "ClaimReview", "datePublished": "2026-05-13T15:44:00+02:00",
          "claimReviewed": "A claim"}
    assert meta_of(page(ld=ld)).published_at == datetime(2026, 5, 13, 13, 44, tzinfo=timezone.utc)


# --- authors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("Anna Martel und Lea Wagner", ["Anna Martel", "Lea Wagner"]),
        ("Trine Juncher Jørgensen og Tôrtia Reimer-Johansen ", ["Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen"]),
        ("Autor: Monika Bolliger, Anna Trechsel", ["Monika Bolliger", "Anna Trechsel"]),
        ("von Jemima Kelly", ["Jemima Kelly"]),
        ("Elena Oberholzer (obe)", ["Elena Oberholzer"]),
        ("牛镛、岳弘彬", ["牛镛", "岳弘彬"]),
        ("José Ortega y Gasset", ["José Ortega y Gasset"]),
    ],
)
def test_split_authors(byline: str, names: list[str]) -> None:
    assert split_authors(byline) == names


def test_organisation_author_gives_way_to_a_person_in_the_meta_tags() -> None:
    head = '<meta name="cXenseParse:author" content="x"><meta name="author" content="Daichi Matsuoka">'
    ld = article(headline="H", author={"@type": "Organization", "name": "Mainichi"})
    assert meta_of(page(head=head, ld=ld)).authors == ("Daichi Matsuoka",)


def test_organisation_alone_is_the_credit() -> None:
    ld = article(headline="H", author={"@type": "Organization", "name": "kicker"})
    assert meta_of(page(ld=ld)).authors == ("kicker",)


def test_agency_beside_a_person_is_kept_and_the_outlet_is_not() -> None:
    ld = article(
        headline="H",
        publisher={"@type": "Organization", "name": "Mallorca Magazin"},
        author=[{"@type": "Organization", "name": "Deutsche Presse-Agentur"}, {"@type": "Person", "name": "Ana Pons"},
                {"@type": "Organization", "name": "Mallorca Magazin"}],
    )
    assert meta_of(page(ld=ld)).authors == ("Deutsche Presse-Agentur", "Ana Pons")


def test_outlet_with_its_address_is_no_list_of_people() -> None:
    head = '<meta name="author" content="hessenschau.de, Frankfurt, Germany"><meta name="publisher" content="hessenschau.de">'
    assert meta_of(page(head=head)).authors == ("hessenschau.de",)


def test_outlet_name_number_and_affiliation_are_no_names() -> None:
    head = '<meta property="og:site_name" content="LTO"><meta name="author" content="LTO">'
    assert meta_of(page(head=head)).authors == ("LTO",)  # only the outlet credits itself
    ld = article(headline="H", author={"@type": "Person", "name": (
        "Povilas Aleksandravičius, Mykolo Romerio universiteto Žmogaus ir visuomenės studijų fakulteto profesorius, Lrt.lt")})
    assert meta_of(page(ld=ld)).authors == ("Povilas Aleksandravičius",)
    assert meta_of(page(head='<meta name="author" content="105092">')).authors == ()


def test_dublin_core_creator_is_family_name_first() -> None:
    assert meta_of(page(head='<meta name="dc.creator" content="Brazil, Rachel">')).authors == ("Rachel Brazil",)


def test_author_page_link_names_the_author_when_metadata_credits_only_the_outlet() -> None:
    head = '<meta property="og:site_name" content="LTO"><meta name="author" content="LTO">'
    body = (
        '<p class="meta">von <a href="/autoren/name/max-kolter">Dr. Max Kolter</a></p>'
        '<aside><a href="/autoren/name/someone-else">Someone Else</a></aside>'
    )
    assert meta_of(page(head=head, body=body)).authors == ("Dr. Max Kolter",)


def test_trafilatura_byline_that_names_the_site_is_dropped() -> None:
    html = page(head='<meta property="og:site_name" content="Example News">', body='<p class="byline">By Example News</p>')
    assert "Example News" not in meta_of(html, complete=True).authors
