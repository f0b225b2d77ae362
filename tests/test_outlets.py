"""The outlets file: the bundled one is valid, and every mistake names file, outlet and field."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from scheduler.outlets import OutletsError, bundled_outlets_path, load_outlets, parse_outlets

REQUIRED_OUTLETS = {"jiji", "kyodo", "asahi-ajw", "japantoday", "japantimes", "thediplomat", "mainichi", "nhk-world"}
JAPANESE_OUTLETS = {"jiji-ja", "kyodo-ja", "asahi-ja", "nhk-ja", "mainichi-ja"}

GOOD = """
[[outlet]]
name = "kyodo"
title = "Kyodo"
homepage = "https://english.kyodonews.net/"
language = "en"
wire = true
interval = "15m"
feeds = ["https://english.kyodonews.net/rss.xml"]
sitemap_since = "2023-12-01"
[[outlet.sections]]
url = "https://english.kyodonews.net/"
link_pattern = "/articles/-/\\\\d+"
[outlet.rules]
drop = [".comments"]
"""


def test_bundled_outlets_are_valid_and_cover_the_required_outlets() -> None:
    outlets = load_outlets(bundled_outlets_path())
    assert REQUIRED_OUTLETS | JAPANESE_OUTLETS <= {o.name for o in outlets}
    for outlet in outlets:
        assert outlet.feeds or outlet.sitemaps or outlet.sections, outlet.name
        assert outlet.language == ("ja" if outlet.name in JAPANESE_OUTLETS else "en"), outlet.name
    assert {o.name for o in outlets if o.wire} >= {"jiji", "kyodo", "jiji-ja", "kyodo-ja"}


def test_japanese_section_patterns_match_their_examples_and_not_the_listing() -> None:
    """Each pattern against the article URL its "# e.g." comment gives, and the section page itself."""
    by_name = {o.name: o for o in load_outlets(bundled_outlets_path())}
    examples = {"jiji-ja": "https://www.jiji.com/jc/article?k=2026032700900&g=pol",
                "kyodo-ja": "https://www.47news.jp/14307271.html"}
    for name, example in examples.items():
        (section,) = by_name[name].sections
        assert re.search(section.link_pattern, example), name
        assert not re.search(section.link_pattern, section.url), name


def test_a_good_file_parses_into_outlets() -> None:
    (outlet,) = parse_outlets(GOOD, "x.toml")
    assert outlet.interval == timedelta(minutes=15)
    assert outlet.sitemap_since == date(2023, 12, 1)
    assert outlet.sections[0].link_pattern == "/articles/-/\\d+"
    assert outlet.rules.drop == (".comments",)
    assert "english.kyodonews.net" in outlet.covered_hosts()


@pytest.mark.parametrize("change, message", [
    (('interval = "15m"', 'interval = "soon"'), "x.toml: outlet 'kyodo': interval: expected a duration"),
    (('language = "en"', 'language = 5'), "x.toml: outlet 'kyodo': language: expected a non-empty string"),
    (('wire = true', 'wire = "yes"'), "outlet 'kyodo': wire: expected true or false"),
    (('feeds = ["https://english.kyodonews.net/rss.xml"]', 'feeds = ["ftp://x/y"]'),
     "outlet 'kyodo': feeds[0]: expected an absolute http(s) URL"),
    (('name = "kyodo"', 'name = "Kyodo News"'), "x.toml: outlet #1: name: expected a slug"),
    (('link_pattern = "/articles/-/\\\\d+"', 'link_pattern = "(["'), "sections[0].link_pattern: invalid regular expression"),
    (('drop = [".comments"]', 'drop = ["!!"]'), "rules: invalid CSS selector"),
    (('wire = true', 'wire = true\ncolour = "red"'), "outlet 'kyodo': colour: unknown field"),
    (('title = "Kyodo"', 'title = ""'), "outlet 'kyodo': title: expected a non-empty string"),
])
def test_mistakes_name_file_outlet_and_field(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(OutletsError) as err:
        parse_outlets(GOOD.replace(old, new), "x.toml")
    assert message in str(err.value)


def test_an_outlet_without_sources_is_refused() -> None:
    text = GOOD.replace('feeds = ["https://english.kyodonews.net/rss.xml"]', "").split("[[outlet.sections]]")[0]
    with pytest.raises(OutletsError, match="at least one of feeds, sitemaps or sections"):
        parse_outlets(text, "x.toml")


def test_duplicate_names_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(OutletsError, match="outlet 'kyodo': name: defined twice"):
        parse_outlets(GOOD + GOOD.split("[outlet.rules]")[0], "x.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[outlet]\nname=", encoding="utf-8")
    with pytest.raises(OutletsError, match=r"broken.toml: invalid TOML"):
        load_outlets(broken)
    with pytest.raises(OutletsError, match=r"missing.toml: cannot read outlets file"):
        load_outlets(tmp_path / "missing.toml")
