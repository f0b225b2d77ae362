"""Items that flow from spiders (or the importer) to the archive pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FetchedPage:
    """One fetched article page, exactly as received."""

    url: str  # the URL requested (as discovered, canonicalised)
    final_url: str  # after redirects
    body: bytes
    status: int | None = 200
    headers: dict[str, str] = field(default_factory=dict)
    via: str = ""  # how it was discovered: "feed", "sitemap", "section", "warc", "file"

    @property
    def content_type(self) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == "content-type":
                return value
        return None
