"""Scrapy item pipeline: hands each fetched page to the spider context's ingest (extract, dedupe, store)."""

from __future__ import annotations

import asyncio

from scrapy.crawler import Crawler

from crawler.items import FetchedPage


class ArchivePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ArchivePipeline":
        return cls(crawler)

    async def process_item(self, item: FetchedPage) -> FetchedPage:
        # Extraction and the store transaction run in the context's worker threads: a heavy
        # page then delays only its own item, not the downloads of every outlet in the process.
        # Scrapy waits for items in this method before it closes a spider, so a graceful stop
        # lets them finish.
        context = self.crawler.spider.context
        try:
            if context.workers is None:
                result = context.ingest(item)
            else:
                result = await asyncio.get_running_loop().run_in_executor(context.workers, context.ingest, item)
        except Exception:
            context.articles_failed += 1  # Scrapy logs the traceback; the page is fetched again next time
            raise
        if result is None:  # not stored (database unavailable): keep the source's validators unsaved
            context.articles_failed += 1
        return item
