"""Prometheus metrics of the daemon (prometheus-client), served when `metrics.port` is set.

Own registry rather than the library's global one, so several daemons in one test process
(or a library user) never collide; the process collector is added for resident memory.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.process_collector import ProcessCollector

log = logging.getLogger(__name__)

# From a minute to a week: wire copy arrives in minutes, a sitemap backfill in days.
DELAY_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        r = self.registry
        self.pages = Counter("wirewatch_pages_fetched", "Pages fetched (feeds, sitemaps, sections, articles)",
                             ["outlet"], registry=r)
        self.articles = Counter("wirewatch_articles_stored", "Articles stored (originals and copies)",
                                ["outlet"], registry=r)
        self.copies = Counter("wirewatch_copies_detected", "Articles stored as syndicated copies", ["outlet"],
                              registry=r)
        self.unchanged = Counter("wirewatch_sources_unchanged", "Feeds/sitemaps answering 304 or the same body",
                                 ["outlet"], registry=r)
        self.crawls = Counter("wirewatch_crawls", "Finished crawls by result (ok, failed, stopped)",
                              ["outlet", "result"], registry=r)
        self.failures = Counter("wirewatch_crawl_failures", "Failed crawls", ["outlet"], registry=r)
        self.duration = Histogram("wirewatch_crawl_duration_seconds", "Duration of one outlet's crawl", ["outlet"],
                                  buckets=DURATION_BUCKETS, registry=r)
        self.delay = Histogram("wirewatch_publication_delay_seconds",
                               "From an article's publication time to its storage", ["outlet"],
                               buckets=DELAY_BUCKETS, registry=r)
        self.running = Gauge("wirewatch_crawls_running", "Crawls in progress in this process", registry=r)
        self.waiting = Gauge("wirewatch_crawls_waiting", "Claimed-to-be-run crawls waiting for a free slot",
                             registry=r)
        self.host_waiting = Gauge("wirewatch_requests_waiting_for_host",
                                  "Requests queued behind the per-host limit", registry=r)
        self.unhealthy = Gauge("wirewatch_outlet_unhealthy", "1 while an outlet is marked unhealthy", ["outlet"],
                               registry=r)

    def crawl_finished(self, result, *, healthy: bool, delays: list[float]) -> None:
        """Count one outlet's crawl (`crawler.run.OutletResult`)."""
        outlet = result.outlet
        self.pages.labels(outlet).inc(result.pages_fetched)
        self.articles.labels(outlet).inc(result.articles_stored)
        self.copies.labels(outlet).inc(result.copies_detected)
        self.unchanged.labels(outlet).inc(result.sources_unchanged)
        outcome = "stopped" if not result.completed else "ok" if result.ok else "failed"
        self.crawls.labels(outlet, outcome).inc()
        if outcome == "failed":
            self.failures.labels(outlet).inc()
        self.duration.labels(outlet).observe(result.seconds)
        for seconds in delays:
            self.delay.labels(outlet).observe(seconds)
        self.unhealthy.labels(outlet).set(0 if healthy else 1)

    def serve(self, port: int, address: str) -> None:
        start_http_server(port, addr=address, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", address, port, extra={"event": "metrics_started"})
