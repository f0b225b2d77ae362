"""Outlet definitions (TOML, the `seeds/*.toml` format) for the demo replay sites."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class _Section:
    path: str
    link_pattern: str


@dataclass(frozen=True)
class _DemoOutlet:
    site: str
    title: str
    language: str = "en"
    wire: bool = False
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sitemap_since: str | None = None
    sections: tuple[_Section, ...] = ()


DEMO_OUTLETS: tuple[_DemoOutlet, ...] = (
    _DemoOutlet("jiji", "Jiji Press (demo replay)", wire=True, feeds=("/rss/news.xml",)),
    _DemoOutlet(
        "kyodo",
        "Kyodo News (demo replay)",
        wire=True,
        sitemaps=("/sitemap.xml",),
        # An absolute cut-off: the sitemap's 2023-11-01 story must stay out, 2023-12-18 in.
        sitemap_since="2023-12-01",
    ),
    _DemoOutlet(
        "japantoday",
        "Japan Today (demo replay)",
        sections=(_Section("/category/politics", r"/category/politics/[a-z0-9-]+$"),),
    ),
    _DemoOutlet("japantimes", "The Japan Times (demo replay)", feeds=("/feed/atom.xml",)),
    _DemoOutlet(
        "diplomat",
        "The Diplomat (demo replay)",
        sitemaps=("/sitemap-news.xml",),
        sitemap_since="2019-01-01",
    ),
    _DemoOutlet(
        "asahi",
        "The Asahi Shimbun AJW (demo replay)",
        sections=(_Section("/ajw/international/", r"/ajw/articles/[0-9]+$"),),
    ),
    # Japanese: Kyodo's own report, republished by two regional papers (both fictional); the
    # Hokkaido paper's site is Shift_JIS, its pages declaring it only in a <meta> tag.
    _DemoOutlet(
        "kyodo-ja",
        "共同通信 Kyodo News, Japanese service (demo replay)",
        language="ja",
        wire=True,
        sitemaps=("/sitemap-news.xml",),
        sitemap_since="2023-12-01",
    ),
    _DemoOutlet("shiretoko", "知床日報 (fictional Hokkaido paper, demo replay)", language="ja",
                feeds=("/rss/news.rdf",)),
    _DemoOutlet(
        "saikai",
        "西海日日新聞 (fictional Nagasaki paper, demo replay)",
        language="ja",
        sections=(_Section("/news/world/", r"/news/world/[0-9]{8}-[0-9]+\.html$"),),
    ),
)


def _q(value: str) -> str:
    # JSON string syntax is a subset of TOML basic strings.
    return json.dumps(value, ensure_ascii=False)


def _qlist(values: list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def outlets_toml(bases: dict[str, str], interval: str = "10m") -> str:
    """TOML for the demo outlets, `bases` mapping site name to `http://127.0.0.1:PORT`."""
    out: list[str] = ["# Demo outlets: the bundled replay sites served by demo.server.", ""]
    for o in DEMO_OUTLETS:
        base = bases[o.site].rstrip("/")
        out += [
            "[[outlet]]",
            f"name = {_q('demo-' + o.site)}",
            f"title = {_q(o.title)}",
            f"homepage = {_q(base + '/')}",
            f"language = {_q(o.language)}",
            f"wire = {'true' if o.wire else 'false'}",
            f"interval = {_q(interval)}",
        ]
        if o.feeds:
            out.append(f"feeds = {_qlist([base + p for p in o.feeds])}")
        if o.sitemaps:
            out.append(f"sitemaps = {_qlist([base + p for p in o.sitemaps])}")
        if o.sitemap_since:
            out.append(f"sitemap_since = {_q(o.sitemap_since)}")
        for s in o.sections:
            out += ["[[outlet.sections]]", f"url = {_q(base + s.path)}", f"link_pattern = {_q(s.link_pattern)}"]
        out.append("")
    return "\n".join(out)
