"""A web server on 127.0.0.1 (port 0, in a thread) that misbehaves on purpose, route by route.

Good articles live at /good/N. Every other route is one fault: bombs, drips, hangs, dropped
and truncated connections, redirect loops, Retry-After, 5xx, bad encodings, bad feeds and
sitemaps. Bomb bodies are generated when the server starts (nothing large is committed) and
served from memory, as are the enormous but valid sources (a sitemap index fanning out
3,000 x 3,000, a gzip sitemap of 500,000 URLs, a feed of 130,000 items). `requests` records (path, monotonic time) of every request as it arrives;
`sent` records how many body bytes a route managed to send before the client hung up.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import brotli

MIB = 1024 * 1024
BOMB_BYTES = 64 * MIB  # what each compression bomb expands to
BIG_BYTES = 8 * MIB    # an oversized plain page

# Two different reports (one per encoding), or the second would be stored as a duplicate of the first.
JAPANESE = {
    encoding: ("<html><head><title>北方領土の交渉が再開</title></head><body><article><h1>北方領土の交渉が再開</h1>"
               + "".join(f"<p>{city}で{i + 1}日、日本とロシアの外相が会談し、北方領土問題をめぐる交渉を再開することで"
                         f"合意した。両国は平和条約の締結に向けて{city}で協議を続ける。</p>" for i in range(8))
               + "</article></body></html>")
    for encoding, city in (("shift_jis", "東京"), ("euc_jp", "モスクワ"))
}

LAUGHS_DTD = ('<!DOCTYPE {root} [<!ENTITY lol0 "lol">'
              + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
# The same DTD where a pattern over the bytes loses track of it: behind a 70 KB comment, with a
# "]" in a comment inside the subset, with a ">" in the SYSTEM literal before "[".
LAUGHS_DISGUISES = {
    "laughs-comment.xml": lambda dtd: "<!--" + "x" * 70_000 + "-->" + dtd,
    "laughs-bracket.xml": lambda dtd: dtd.replace("[", "[<!-- ] -->", 1),
    "laughs-system.xml": lambda dtd: dtd.replace(" [", ' SYSTEM "a>b" [', 1),
}
XXE_DTD = '<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


# One source's links as written in it, a malformed one among good ones (issue 19). Per source,
# so that each bad link is named by exactly one log line. `http://[::1]/a/9` is well formed: it
# is fetched, or refused as an unsafe destination, never skipped as malformed.
def bad_links(source: str) -> list[str]:
    return [f"http://example.com:99999/{source}", f"http://[object Object]/{source}/1", f"http://[::1/{source}/9"]


# JSON-LD with escapes PostgreSQL cannot store, written literally in the script element.
UNSTORABLE_ESCAPES = {"nul": r"\u0000", "surrogate": r"\ud800"}


def jsonld_article_html(n: int, escape: str) -> bytes:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
          f'"headline": "Lighthouse{escape} keeper report {n}", '
          f'"author": {{"@type": "Person", "name": "Ann{escape} Lee"}}, '
          f'"keywords": ["fog{escape}"], "datePublished": "2024-02-03T08:00:00+00:00"}}</script>')
    return article_html(n).replace(b"</head>", ld.encode() + b"</head>")


def article_html(n: int, title: str | None = None) -> bytes:
    title = title or f"Lighthouse keeper report number {n}"
    paragraphs = "".join(
        f"<p>Report {n}, part {i}: the keeper of the northern lighthouse logged {i + n} vessels passing the "
        f"cape and {i * n + 3} gulls on the rocks before the fog rolled in from the sea.</p>" for i in range(8))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="article:published_time" content="2024-02-0{n % 9 + 1}T08:00:00+00:00"></head>'
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def _compress_zeros(kind: str, size: int) -> bytes:
    chunk = b"\0" * MIB
    if kind == "br":
        return brotli.compress(b"\0" * size, quality=5)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS)
    return b"".join(compressor.compress(chunk) for _ in range(size // MIB)) + compressor.flush()


def rss(base: str, links: list[str], prolog: str = "", title: str = "Hostile") -> bytes:
    items = "".join(f"<item><title>{title}</title><link>{base}{link}</link></item>" for link in links)
    return (f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


def sitemap_index(links: list[str]) -> bytes:
    sitemaps = "".join(f"<sitemap><loc>{link}</loc></sitemap>" for link in links)
    return ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{sitemaps}</sitemapindex>").encode()


def urlset(base: str, links: list[str], prolog: str = "", loc_suffix: str = "") -> bytes:
    urls = "".join(f"<url><loc>{base}{link}{loc_suffix}</loc></url>" for link in links)
    return (f'<?xml version="1.0"?>{prolog}<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


# Issue 19, items 4-6: sources that are valid but enormous. Dates go up with the number, and every
# document lists its entries oldest first, so keeping "the newest" is not keeping "the first".
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def stamp(n: int, unit: timedelta = timedelta(minutes=1)) -> str:
    return (EPOCH + n * unit).isoformat(timespec="seconds")


def dated_index(base: str, links: list[tuple[str, int]]) -> bytes:
    """A sitemap index of (path, n) children, child n last modified `stamp(n)`."""
    sitemaps = "".join(f"<sitemap><loc>{base}{link}</loc><lastmod>{stamp(n)}</lastmod></sitemap>" for link, n in links)
    return ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{sitemaps}</sitemapindex>").encode()


def huge_sitemap(base: str, n: int, step: int = 1) -> bytes:
    """A gzip urlset of n links /gone/K (404s), K last modified `stamp(K, step s)`, written in chunks."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [compressor.compress(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')]
    for start in range(0, n, 10_000):
        out.append(compressor.compress("".join(
            f"<url><loc>{base}/gone/{k}</loc><lastmod>{stamp(k, timedelta(seconds=step))}</lastmod></url>"
            for k in range(start, min(n, start + 10_000))).encode()))
    out.append(compressor.compress(b"</urlset>"))
    return b"".join(out) + compressor.flush()


def big_feed(base: str, n: int, path: str = "gone") -> bytes:
    """An RSS feed of n items linking /PATH/feed-K, item K published `stamp(K)`, oldest first."""
    items = "".join(f"<item><link>{base}/{path}/feed-{k}</link>"
                    f"<pubDate>{format_datetime(EPOCH + timedelta(minutes=k))}</pubDate></item>" for k in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title><link>{base}/</link>'
            f"{items}</channel></rss>").encode()


class HostileServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, float]] = []
        self.sent: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.feed_links: list[str] = []      # what /feed.xml lists
        self.sitemap_links: list[str] = []   # what /sitemap.xml lists
        self.redirect_target = ""            # where /redirect-out sends the client
        self.fanout_width = 3000             # children of each index under /fanout/
        self.slow_seconds = 0.02             # how long /slow/N takes to answer 404
        self._generated: dict[str, bytes] = {}  # big documents, built on first request
        self.bombs = {kind: _compress_zeros(kind, BOMB_BYTES) for kind in ("gzip", "deflate", "br")}
        self.sitemap_bomb = _compress_zeros("gzip", 64 * MIB)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append((self.path, time.monotonic()))
                    server.hits[path] = server.hits.get(path, 0) + 1
                try:
                    server.route(self, path, parse_qs(urlsplit(self.path).query))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                pass  # clients hanging up on a bomb or a drip is the point

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def arrivals(self, path: str) -> list[float]:
        return [t for p, t in self.requests if urlsplit(p).path == path]

    # -- responses ------------------------------------------------------------------------

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str | None = "text/html; charset=utf-8",
             **headers: str) -> None:
        h.send_response(status)
        if content_type:
            h.send_header("Content-Type", content_type)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stream(self, h: BaseHTTPRequestHandler, path: str, total: int, *, pause: float = 0.0,
               chunk: int = 64 * 1024) -> None:
        """A close-delimited body (no Content-Length): the client only learns the size by reading."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        sent = 0
        try:
            while sent < total and not self._closing.is_set():
                h.wfile.write(b"<p>" + b"x" * (chunk - 7) + b"</p>\n")
                h.wfile.flush()
                sent += chunk
                if pause:
                    time.sleep(pause)
        finally:
            self.sent[path] = sent

    def route(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:  # noqa: C901
        parts = path.strip("/").split("/")
        head = parts[0]
        if path == "/robots.txt":
            return self.send(h, 200, b"User-agent: *\nAllow: /\n", "text/plain")
        if path == "/feed.xml":
            return self.send(h, 200, rss(self.base, self.feed_links), "application/rss+xml")
        if path == "/sitemap.xml":
            return self.send(h, 200, urlset(self.base, self.sitemap_links), "application/xml")
        if head == "good":
            return self.send(h, 200, article_html(int(parts[1])))
        if head in ("fanout", "huge", "bigfeed", "steady", "slow"):
            return self.enormous(h, parts, query)
        if head == "feeds":
            return self.bad_document(h, parts[1], rss, "rss", "application/rss+xml")
        if head == "sitemaps":
            return self.bad_document(h, parts[1], urlset, "urlset", "application/xml")
        if head == "bad-links":  # each source: two good links, the malformed ones, one more good link
            return self.bad_links(h, parts[1])
        if head == "jsonld":  # /jsonld/ESCAPE/N
            return self.send(h, 200, jsonld_article_html(int(parts[2]), UNSTORABLE_ESCAPES[parts[1]]))
        if head == "long-canonical":  # a same-site canonical too long for the URL index: cannot be stored
            tail = "".join(f"{i:05d}{(i * 7919) % 100_000:05d}" for i in range(2_000))  # 20,000 digits
            canonical = f'<link rel="canonical" href="{self.base}/a/{tail}">'.encode()
            return self.send(h, 200, article_html(int(parts[1])).replace(b"</head>", canonical + b"</head>"))
        if head == "bomb":  # Content-Encoding bombs: a few KiB on the wire, 64 MiB unpacked
            return self.send(h, 200, self.bombs[parts[1]], Content_Encoding=parts[1])
        if head == "big":  # announced by Content-Length
            return self.send(h, 200, b"<html><body>" + b"x" * BIG_BYTES + b"</body></html>")
        if head == "big-stream":  # not announced: the limit must hold while reading
            return self.stream(h, path, 4 * BIG_BYTES)
        if head == "drip":  # never finishes: a chunk every half second for a minute
            return self.stream(h, path, 120 * 16, pause=0.5, chunk=16)
        if head == "hang":  # accepts and never answers
            self._closing.wait(60)
            return None
        if head == "drop":  # closes without a response
            h.close_connection = True
            return None
        if head == "partial":  # promises more than it sends
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", "100000")
            h.end_headers()
            h.wfile.write(article_html(1)[:2000])
            h.close_connection = True
            return None
        if head == "loop":  # /loop/a -> /loop/b -> /loop/a ...
            return self.send(h, 302, b"", None, Location=f"/loop/{'b' if parts[1] == 'a' else 'a'}")
        if head == "chain":  # /chain/N -> /chain/N-1 ... -> /good/(40+N)
            n = int(parts[1])
            target = f"/chain/{n - 1}" if n > 1 else "/good/40"
            return self.send(h, 301, b"", None, Location=target)
        if head == "redirect-out":
            return self.send(h, 302, b"", None, Location=query.get("to", [self.redirect_target])[0])
        if head == "retry":  # /retry/STATUS/FORM/N: STATUS with Retry-After, then the article
            status, form = int(parts[1]), parts[2]
            if self.hits[path] == 1:
                after = query.get("after", ["1"])[0]
                value = after if form == "seconds" else formatdate(time.time() + float(after), usegmt=True)
                return self.send(h, status, b"busy", "text/plain", Retry_After=value)
            return self.send(h, 200, article_html(int(parts[3])))
        if head == "storm":
            return self.send(h, 500, b"Internal Server Error", "text/plain")
        if head == "type":  # the article served under a wrong or missing Content-Type
            kind = parts[1]
            body = article_html(int(parts[2]))
            return self.send(h, 200, body, None if kind == "missing" else "application/octet-stream"
                             if kind == "octet" else "image/png")
        if head == "binary":
            return self.send(h, 200, bytes(range(256)) * 64, "text/html")
        if head == "deep":  # the story under 300 wrapping divs: past libxml2's default 256 levels
            body = article_html(int(parts[1])).replace(b"<body>", b"<body>" + b"<div>" * 300)
            return self.send(h, 200, body.replace(b"</body>", b"</div>" * 300 + b"</body>"))
        if head == "bad-utf8":
            body = article_html(int(parts[1]), "Invalid bytes in the lighthouse log").replace(b"gulls", b"gu\xff\xfells")
            return self.send(h, 200, body)
        if head in ("sjis", "eucjp"):  # no charset in the header, none in the page
            encoding = "shift_jis" if head == "sjis" else "euc_jp"
            return self.send(h, 200, JAPANESE[encoding].encode(encoding), "text/html")
        if head == "not-article":
            links = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(30))
            return self.send(h, 200, f"<html><head><title>Index</title></head><body><ul>{links}</ul></body></html>"
                             .encode())
        if head == "empty":
            return self.send(h, 200, b"")
        return self.send(h, 404, b"not found", "text/plain")

    def generate(self, head: str, n: int, step: int = 1) -> bytes:
        """The body of /huge/, /bigfeed/ or /steady/ for n entries, built once. Call it before a
        crawl: building 130,000 items takes this process a second or more, which would otherwise
        count as the server's latency (AutoThrottle's delay) and hold up its other answers."""
        key = f"{head}?{n}" + (f"&{step}" if step != 1 else "")
        with self._lock:
            if key not in self._generated:
                self._generated[key] = (huge_sitemap(self.base, n, step) if head == "huge"
                                        else big_feed(self.base, n, "slow" if head == "steady" else "gone"))
            return self._generated[key]

    def enormous(self, h: BaseHTTPRequestHandler, parts: list[str], query: dict[str, list[str]]) -> None:
        """/fanout/index.xml -> /fanout/i/N.xml -> /fanout/s/N-M.xml (empty urlsets), each index
        `fanout_width` wide; /huge/sitemap.xml.gz?n=N&step=S (URL K dated S*K seconds after EPOCH); /bigfeed/feed.xml?n=N (links /gone/feed-K, 404s);
        /steady/feed.xml?n=N (links /slow/feed-K, which answer 404 after `slow_seconds`)."""
        head, n, step = parts[0], int(query.get("n", ["0"])[0]), int(query.get("step", ["1"])[0])
        width = self.fanout_width
        if head == "fanout" and parts[1] == "index.xml":
            return self.send(h, 200, dated_index(self.base, [(f"/fanout/i/{i}.xml", i) for i in range(width)]),
                             "application/xml")
        if head == "fanout" and parts[1] == "i":
            i = int(parts[2].split(".")[0])
            return self.send(h, 200, dated_index(self.base, [(f"/fanout/s/{i}-{j}.xml", i * width + j)
                                                             for j in range(width)]), "application/xml")
        if head == "fanout":
            return self.send(h, 200, urlset("", []), "application/xml")
        if head == "slow":
            time.sleep(self.slow_seconds)
            return self.send(h, 404, b"not found", "text/plain")
        body = self.generate(head, n, step)
        if head == "huge":
            return self.send(h, 200, body, "application/x-gzip")
        return self.send(h, 200, body, "application/rss+xml")

    def bad_links(self, h: BaseHTTPRequestHandler, name: str) -> None:
        """/bad-links/feed.xml, sitemap.xml, index.xml (-> child.xml), section.html."""
        good = {"feed.xml": [51, 52, 53], "sitemap.xml": [54, 55, 56], "child.xml": [57, 58, 59],
                "section.html": [60, 61, 62]}.get(name, [])
        links = [*(f"{self.base}/good/{n}" for n in good[:2]), *bad_links(name.split(".")[0]),
                 *(f"{self.base}/good/{n}" for n in good[2:])]
        if name == "feed.xml":
            return self.send(h, 200, rss("", [*links, "http://[::1]/a/9"]), "application/rss+xml")
        if name in ("sitemap.xml", "child.xml"):
            return self.send(h, 200, urlset("", links), "application/xml")
        if name == "index.xml":
            return self.send(h, 200, sitemap_index([*bad_links("index"), f"{self.base}/bad-links/child.xml"]),
                             "application/xml")
        if name == "section.html":
            anchors = "".join(f'<li><a href="{link}">Story</a></li>' for link in links)
            return self.send(h, 200, f"<html><body><ul>{anchors}</ul></body></html>".encode())
        return self.send(h, 404, b"", "text/plain")

    def bad_document(self, h: BaseHTTPRequestHandler, name: str, build, root: str, content_type: str) -> None:
        """/feeds/NAME and /sitemaps/NAME: malformed, truncated, empty, laughs (and disguised), xxe, bomb.gz."""
        links = ["/good/30"]
        if name == "malformed.xml":
            body = build(self.base, links).replace(b"</channel>", b"<channel>").replace(b"</urlset>", b"<url>")
        elif name == "truncated.xml":
            body = build(self.base, links)[:60]
        elif name == "empty.xml":
            body = b""
        elif name == "laughs.xml" or name in LAUGHS_DISGUISES:
            dtd = LAUGHS_DTD.format(root=root)
            body = (build(self.base, links, prolog=LAUGHS_DISGUISES.get(name, str)(dtd))
                    .replace(b"Hostile", b"&lol9;").replace(b"</loc>", b"&lol9;</loc>"))
        elif name == "xxe.xml":
            body = build(self.base, links, prolog=XXE_DTD.format(root=root)).replace(b"/good/30", b"/good/30?&xxe;")
        elif name == "bomb.xml.gz":
            return self.send(h, 200, self.sitemap_bomb, "application/x-gzip")
        else:
            return self.send(h, 404, b"", "text/plain")
        self.send(h, 200, body, content_type)
