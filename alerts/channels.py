"""Channels are apprise URLs (email, Slack, Discord, Teams, Telegram, Matrix, ntfy, webhooks...).

An apprise URL carries tokens and passwords, so a `Channel` never shows its URL: `str()` and
`repr()` give the masked form, and error texts from a send are scrubbed of every piece of
the URL that the masked form does not already show.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

# Schemes whose host part is an address rather than a token: the masked form keeps it, so a
# user can tell two webhooks apart. Any other scheme shows nothing past its name.
ADDRESS_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls", "mailto", "mailtos"}
SEND_TIMEOUT_SECONDS = 30.0
DELIVERY_HEADER = "X-Wirewatch-Deliveries"
DELIVERY_FIELD = "wirewatch_deliveries"
_PIECES = re.compile(r"[^/:@?&=#,+\s]{4,}")


def mask(url: str) -> str:
    """`json://user:pw@127.0.0.1:8080/hook?token=x` -> `json://127.0.0.1:8080/***`."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower() if scheme.isalnum() else "?"
    if scheme in ADDRESS_SCHEMES and rest:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            host, port = "", ""
        if host:
            return f"{scheme}://{host}{port}/***"
    return f"{scheme}://***"


@dataclass(frozen=True)
class Channel:
    """One apprise URL. Compare and hash by URL; print only masked."""

    url: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask(self.url)

    def reveal(self) -> str:
        return self.url

    def scrub(self, text: str) -> str:
        """`text` without any piece of this URL that its masked form does not show."""
        shown = set(_PIECES.findall(self.masked))
        text = text.replace(self.url, self.masked)
        for piece in sorted(set(_PIECES.findall(self.url)) - shown, key=len, reverse=True):
            text = text.replace(piece, "***")
        return text

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Channel({self.masked!r})"


class ChannelError(ValueError):
    """A channel URL apprise cannot use; the message shows only the masked URL."""


def parse_channel(url: str) -> Channel:
    """A usable channel, or ChannelError saying why not (apprise decides what is valid)."""
    import apprise  # imported lazily: ~0.2 s, paid only by commands that touch channels

    _quiet_transport_loggers()  # apprise logs a URL it cannot parse, secrets and all
    url = url.strip()
    channel = Channel(url)
    if "://" not in url:
        raise ChannelError(f"{channel.masked}: not an apprise URL (expected e.g. json://host/path, "
                           "mailtos://user:password@example.com, slack://..., tgram://...)")
    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise ChannelError(f"{channel.masked}: apprise cannot use this URL (unknown service or a "
                           "missing or malformed part; see the apprise wiki for the service's URL format)")
    return channel


def send(channel: Channel, title: str, body: str, deliveries: Sequence[int] = ()) -> str | None:
    """Send one message; None on success, else the reason with the channel's secrets scrubbed.

    `deliveries` are the outbox ids the message carries. They travel with it as a
    `X-Wirewatch-Deliveries` header (webhooks, email) and a `wirewatch_deliveries` field (JSON
    webhooks), so a receiver can drop the repeat that at-least-once delivery
    allows after a crash."""
    import apprise

    _quiet_transport_loggers()
    plugin = apprise.Apprise.instantiate(channel.reveal(), suppress_exceptions=True)
    if plugin is None:
        return "apprise cannot use this channel URL"
    if deliveries:
        _label(plugin, list(deliveries))
    notifier = apprise.Apprise()
    notifier.add(plugin)
    try:
        result = notifier.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT,
                                 timeout=SEND_TIMEOUT_SECONDS)
    except Exception as exc:  # a plugin bug must not take the drainer down; reported per delivery
        return channel.scrub(f"{type(exc).__name__}: {exc}")
    if result:
        return None
    reasons = [entry.message for entry in result.logs() if getattr(entry, "message", None)]
    return channel.scrub("; ".join(reasons)[:500] or "the service did not accept the message")


def _label(plugin, deliveries: list[int]) -> None:
    if isinstance(getattr(plugin, "headers", None), dict):
        plugin.headers[DELIVERY_HEADER] = ",".join(map(str, deliveries))
    from apprise.plugins.custom_json import NotifyJSON

    if isinstance(plugin, NotifyJSON):
        plugin.payload_extras[DELIVERY_FIELD] = deliveries


_quieted = False
# A URL's credentials, path and query: where channel tokens live.
_URL_SECRETS = re.compile(r"([a-z][a-z0-9+.-]*://)(?:[^@\s/]*@)?([^/\s?#'\"]+)[^\s'\"]*", re.IGNORECASE)


def _scrub_urls(record: logging.LogRecord) -> bool:
    """Rewrite an apprise record with every URL cut to scheme and host, whichever handler
    (apprise's own capture included) gets it."""
    message = record.getMessage()
    scrubbed = _URL_SECRETS.sub(r"\1\2/***", message)
    if scrubbed != message:
        record.msg, record.args = scrubbed, None
    return True


def _quiet_transport_loggers() -> None:
    """apprise's debug lines print webhook paths and payloads, urllib3's request lines print
    paths; for channels those carry tokens. wirewatch logs one scrubbed line per delivery
    instead (apprise's own reasons reach it through the notify result, whose capture handler
    sits on apprise's logger, so no filter may go there).

    Propagation is switched off on every call, not once: a logging.config.dictConfig elsewhere
    in the process may have switched it back on. Handlers attached to apprise's logger itself
    (its result capture; pytest's caplog) still see its records, with URLs scrubbed."""
    global _quieted
    logging.getLogger("apprise").propagate = False
    if _quieted:
        return
    logging.getLogger("apprise").addFilter(_scrub_urls)
    for name in ("urllib3", "urllib3.connectionpool"):  # a logger's filters see only its own records
        logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.WARNING)
    _quieted = True
