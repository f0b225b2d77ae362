"""Serve the bundled outlet replays (`demo/sites/<site>/`) on 127.0.0.1, one port per site.

Files may contain `{{BASE}}` (this site's base URL) and `{{BASE:other}}` (another site's);
both are replaced when served. `python -m demo.server` prints `{"site": "http://127.0.0.1:N"}`
as one JSON line and serves until SIGTERM/SIGINT or end of stdin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import sys
import threading
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

SITES_DIR = Path(__file__).resolve().parent / "sites"
LOG_ENV = "WIREWATCH_DEMO_LOG"  # set to 1 to log one stderr line per request

_PLACEHOLDER = re.compile(r"\{\{BASE(?::([a-z0-9_-]+))?\}\}")
_UNKNOWN_BASE = "http://127.0.0.1:9"  # discard port: a link to a site that is not served
_TEXT_SUFFIXES = (".html", ".htm", ".xml", ".rdf", ".txt")

_NOT_FOUND = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>404 Not Found</title></head>'
    "<body><h1>Not Found</h1><p>The requested page does not exist.</p></body></html>\n"
).encode()


def _xml_type(head: bytes) -> str:
    # Sniff past the prolog and comments: feeds and sitemaps share the .xml extension.
    root = re.search(rb"<([A-Za-z][\w:.-]*)", re.sub(rb"<[?!][^>]*>", b"", head))
    name = root.group(1).split(b":")[-1] if root else b""
    if name in (b"rss", b"RDF"):
        return "application/rss+xml"
    if name == b"feed":
        return "application/atom+xml"
    return "application/xml"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def content_type(path: Path, body: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        # A page in a legacy encoding (Shift_JIS, EUC-JP) goes out without a charset, as many
        # Japanese CMSs send it: only its <meta> says what it is.
        return "text/html; charset=utf-8" if _is_utf8(body) else "text/html"
    if suffix in (".xml", ".rdf"):
        return _xml_type(body[:1024])
    if suffix == ".txt":
        return "text/plain; charset=utf-8"
    if suffix == ".json":
        return "application/json"
    return "application/octet-stream"


class _Site:
    """One site's files, resolved and substituted once, then served from memory."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root.resolve()
        self._cache: dict[Path, tuple[bytes, str, str, float]] = {}
        self._lock = threading.Lock()
        self.bases: dict[str, str] = {}

    def resolve(self, url_path: str) -> Path | None:
        rel = unquote(url_path).lstrip("/")
        if "\\" in rel or any(part in ("..", ".") for part in rel.split("/")):
            return None
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root):
            return None
        if target.is_dir():
            target = target / "index.html"
        elif not target.exists() and not target.suffix:
            target = target.with_name(target.name + ".html")
        return target if target.is_file() else None

    def load(self, path: Path) -> tuple[bytes, str, str, float]:
        """(body, content type, ETag, mtime) for a file, with placeholders filled in."""
        with self._lock:
            hit = self._cache.get(path)
            if hit is None:
                body = path.read_bytes()
                try:
                    body = _PLACEHOLDER.sub(self._base_for, body.decode("utf-8")).encode("utf-8")
                except UnicodeDecodeError:
                    if path.suffix.lower() in _TEXT_SUFFIXES:
                        # Shift_JIS or EUC-JP: the placeholder is ASCII, and latin-1 maps bytes
                        # one to one, so the page's own bytes pass through unchanged.
                        body = _PLACEHOLDER.sub(self._base_for, body.decode("latin-1")).encode("latin-1")
                    # else a binary file: served as is
                etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
                hit = (body, content_type(path, body), etag, int(path.stat().st_mtime))
                self._cache[path] = hit
            return hit

    def _base_for(self, m: re.Match[str]) -> str:
        return self.bases.get(m.group(1) or self.name, _UNKNOWN_BASE)


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.1"
    server_version = "wirewatch-replay/1"
    timeout = 30

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        site = self.server.site
        url_path = urlsplit(self.path).path or "/"
        self.server.owner._count(site.name, url_path)
        path = site.resolve(url_path)
        if path is None:
            self._send(HTTPStatus.NOT_FOUND, _NOT_FOUND, "text/html; charset=utf-8", head)
            return
        body, ctype, etag, mtime = site.load(path)
        extra = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True), "Cache-Control": "max-age=60"}
        if self._not_modified(etag, mtime):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, True, extra)
            return
        self._send(HTTPStatus.OK, body, ctype, head, extra)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                return parsedate_to_datetime(ims).timestamp() >= mtime
            except (TypeError, ValueError):
                return False
        return False

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        ctype: str | None,
        head: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get(LOG_ENV):
            sys.stderr.write(f"[{self.server.site.name}] {self.address_string()} {format % args}\n")


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: _Site, owner: ReplayServer, port: int = 0) -> None:
        self.site = site
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler)


class ReplayServer:
    """All demo sites, each on its own 127.0.0.1 port. Use as a context manager or start()/stop()."""

    def __init__(self, sites_dir: Path = SITES_DIR, sites: list[str] | None = None,
                 first_port: int | None = None) -> None:
        """`first_port`: serve the sites on consecutive ports from there (falling back to any free
        port when one is taken), so their URLs stay the same from one `wirewatch demo` to the next
        and the archive recognises pages it already has; None (tests): any free ports."""
        self._first_port = first_port
        names = sites if sites is not None else sorted(p.name for p in sites_dir.iterdir() if p.is_dir())
        self._sites = [_Site(n, sites_dir / n) for n in names]
        self._servers: list[_SiteServer] = []
        self._threads: list[threading.Thread] = []
        self._hits_lock = threading.Lock()
        self.hits: Counter[tuple[str, str]] = Counter()
        self.bases: dict[str, str] = {}

    def start(self) -> ReplayServer:
        if self._servers:
            return self
        for index, site in enumerate(self._sites):
            srv = self._bind(site, None if self._first_port is None else self._first_port + index)
            self._servers.append(srv)
            self.bases[site.name] = f"http://127.0.0.1:{srv.server_address[1]}"
        for site in self._sites:
            site.bases = self.bases
        for srv in self._servers:
            t = threading.Thread(
                target=srv.serve_forever, kwargs={"poll_interval": 0.1}, name=f"replay-{srv.site.name}", daemon=True
            )
            t.start()
            self._threads.append(t)
        return self

    def _bind(self, site: _Site, port: int | None) -> _SiteServer:
        if port is not None:
            try:
                return _SiteServer(site, self, port)
            except OSError:
                pass  # taken: any free port will do, at the price of new URLs
        return _SiteServer(site, self)

    def stop(self) -> None:
        # shutdown() blocks until that server's loop notices; stop all loops at once.
        stoppers = [threading.Thread(target=srv.shutdown, daemon=True) for srv in self._servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(timeout=5)
        for srv in self._servers:
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def url(self, site: str, path: str = "/") -> str:
        return self.bases[site] + path

    def hit_count(self, site: str, path: str) -> int:
        with self._hits_lock:
            return self.hits[(site, path)]

    def reset_hits(self) -> None:
        with self._hits_lock:
            self.hits.clear()

    def _count(self, site: str, path: str) -> None:
        with self._hits_lock:
            self.hits[(site, path)] += 1

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _wait_for_eof(done: threading.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked in a buffered read would hold its lock
    # at interpreter shutdown.
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    done.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.server", description=__doc__.splitlines()[0])
    parser.add_argument("--sites-dir", type=Path, default=SITES_DIR)
    parser.add_argument(
        "--ignore-stdin", action="store_true", help="keep serving at end of stdin (stop with SIGTERM/SIGINT)"
    )
    args = parser.parse_args(argv)
    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ReplayServer(args.sites_dir) as server:
        print(json.dumps(server.bases), flush=True)
        if not args.ignore_stdin:
            threading.Thread(target=_wait_for_eof, args=(done,), daemon=True).start()
        while not done.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
