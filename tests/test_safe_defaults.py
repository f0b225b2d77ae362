"""The Scrapy settings a crawl really runs with (defaults from `wirewatch`'s own config, merged
over Scrapy's) are the safe ones README "Reliability" documents."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler.run import scrapy_settings
from scheduler.config import load_config
from scheduler.jobs import crawl_options

MiB = 1024 * 1024


def effective() -> Settings:
    config = load_config(env={"WIREWATCH_HOME": "/nonexistent-home"})
    settings = Settings()  # Scrapy's defaults, then ours on top, as the crawler builds them
    settings.setdict(scrapy_settings(crawl_options(config, "dbname=unused")), priority="project")
    return settings


def test_the_effective_scrapy_settings_are_the_safe_ones() -> None:
    s = effective()
    assert Settings().getint("DOWNLOAD_MAXSIZE") == 1024 * MiB  # what we override: Scrapy's 1 GiB
    assert 0 < s.getint("DOWNLOAD_MAXSIZE") <= 10 * MiB
    assert s.getint("DOWNLOAD_MAXSIZE") < s.getint("WIREWATCH_SITEMAP_MAX_BYTES") <= 50 * MiB  # larger for sitemaps only
    assert 0 < s.getfloat("DOWNLOAD_TIMEOUT") <= 30
    assert 0 < s.getfloat("DNS_TIMEOUT") <= 10
    assert 0 < s.getint("REDIRECT_MAX_TIMES") <= 5
    assert s.getbool("ROBOTSTXT_OBEY")
    assert not s.getbool("TELNETCONSOLE_ENABLED")
    handlers = s.getwithbase("DOWNLOAD_HANDLERS")
    for scheme in ("file", "data", "ftp", "s3"):
        assert handlers[scheme] is None, scheme
    assert handlers["http"] and handlers["https"]
    assert not s.getbool("COOKIES_ENABLED")
