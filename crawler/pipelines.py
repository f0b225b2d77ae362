"""Scrapy item pipeline: hands each fetched page to the spider context's ingest (extract, dedupe, store)."""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawler.items import FetchedPage


class ArchivePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePipeline":
        return cls(crawler)

    def process_item(self, item: FetchedPage) -> FetchedPage:
        # Synchronous on purpose: one page's extraction and transaction take a few
        # milliseconds; ingest runs on the reactor thread so no two stores interleave.
        self.crawler.spider.context.ingest(item)
        return item
