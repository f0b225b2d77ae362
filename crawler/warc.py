"""Pages from files: WARC response records (`.warc`, `.warc.gz`) and plain HTML files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.items import FetchedPage

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_RECORD_BYTES = 20 * 1024 * 1024


class UnreadableFile(ValueError):
    """A file that cannot be imported; the message names it."""


def is_warc(path: Path) -> bool:
    return path.name.endswith((".warc", ".warc.gz"))


def pages_from_warc(path: Path) -> Iterator[FetchedPage]:
    """Every HTML `response` record; other records (requests, metadata, images) are passed over."""
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None
    with stream:
        try:
            for record in ArchiveIterator(stream):
                if not record.format.startswith("warc"):
                    # warcio reads any five-word first line as an ARC header
                    raise UnreadableFile(f"{path}: not a WARC file (a record in {record.format} format)")
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if not content_type.lower().startswith(HTML_TYPES):
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                body = record.content_stream().read(MAX_RECORD_BYTES + 1)
                if not url or len(body) > MAX_RECORD_BYTES:
                    log.warning("%s: skipped record %s: %s", path, url or "?",
                                "no target URI" if not url else f"body over {MAX_RECORD_BYTES} bytes",
                                extra={"event": "warc_record_skipped", "url": url})
                    continue
                status = record.http_headers.get_statuscode()
                yield FetchedPage(
                    url=url, final_url=url, body=body, status=int(status) if status and status.isdigit() else None,
                    headers=dict(record.http_headers.headers), via="warc",
                )
        except ArchiveLoadFailed as exc:
            raise UnreadableFile(f"{path}: not a readable WARC file ({str(exc).strip()})") from None


def page_from_html_file(path: Path, url: str) -> FetchedPage:
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None
    return FetchedPage(url=url, final_url=url, body=body, status=None,
                       headers={"Content-Type": "text/html"}, via="file")


def declared_url(body: bytes) -> str | None:
    """The page's own absolute URL (rel=canonical, then og:url), for HTML files imported without --url."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.document_fromstring(body)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        for value in tree.xpath(xpath):
            value = value.strip()
            if value.startswith(("http://", "https://")):
                return value
    return None
