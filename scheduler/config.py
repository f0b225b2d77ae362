"""The one typed configuration object: defaults < config file < WIREWATCH_* environment < CLI flags.

Built once by the CLI; lower layers receive plain values taken from it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from scheduler.outlets import bundled_outlets_path

CONFIG_FILENAME = "wirewatch.toml"
DEFAULT_USER_AGENT = "wirewatch/0.1 (media monitoring; +{contact})"
DEFAULT_CONTACT = "https://github.com/wirewatch/wirewatch"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names its source and key."""


class Secret:
    """A value that must never reach a log line, an error message or `wirewatch config`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: Secret | None = None
    outlets_path: Path = field(default_factory=bundled_outlets_path)
    contact_url: str = DEFAULT_CONTACT
    user_agent: str | None = None
    concurrency: int = 16
    per_domain_concurrency: int = 2
    download_timeout: float = 30.0
    max_page_bytes: int = 10 * 1024 * 1024
    extract_timeout: float = 20.0  # seconds one page's extraction may take (crawler.extract_worker)
    obey_robots: bool = True
    robots_ttl: float = 24 * 3600.0  # seconds a site's robots.txt is reused by every crawl (crawler.robots)
    # CIDR networks the crawler may reach although not public (crawler.safety); none by default.
    allowed_networks: tuple[str, ...] = ()
    # What one outlet's crawl may discover, newest first past a cap (crawler.spiders.base.DiscoveryLimits).
    max_sitemap_children: int = 50
    max_sitemap_depth: int = 2
    max_sitemap_fetches: int = 100
    max_sitemap_urls: int = 1000
    max_feed_items: int = 500
    max_article_requests: int = 2000
    dedupe_window: timedelta = timedelta(days=3)
    # An article published longer ago raises no alert: alerts are for news (a backfill is not).
    alert_max_age: timedelta = timedelta(days=2)
    log_level: str = "INFO"
    log_format: str = "text"
    parallel_crawls: int = 8
    lease_seconds: float = 300.0
    shutdown_seconds: float = 30.0
    metrics_port: int = 0  # 0: no Prometheus endpoint
    metrics_address: str = "127.0.0.1"
    api_host: str = "127.0.0.1"  # `wirewatch serve`; another address requires api_token
    api_port: int = 8080
    api_token: Secret | None = None  # bearer token of the API and web UI
    api_base_url: str | None = None  # public address of `wirewatch serve`, for absolute links in its feeds
    source: str = "defaults"
    watches: tuple = ()  # alerts.spec.WatchSpec from [[watch]] tables; synced to the database on start

    @property
    def effective_user_agent(self) -> str:
        return self.user_agent or DEFAULT_USER_AGENT.format(contact=self.contact_url)

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pgdata"

    def redacted(self) -> dict[str, Any]:
        """Every setting as printable values, secrets shown as <redacted>."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, timedelta):
                value = f"{int(value.total_seconds())}s"
            elif isinstance(value, Secret):
                value = repr(value)
            elif f.name == "watches":
                value = [str(w) for w in value]  # channels masked
            out[f.name] = value
        out["user_agent"] = self.effective_user_agent
        return out


# Upper bounds keep a typo (an extra zero run, TOML's inf) from overflowing timedelta or a C int
# in a library after the daemon has started.
MAX_INT = 2**31 - 1
MAX_NUMBER = 1e9
# Control characters (NUL, CR, LF) would split a User-Agent header or a log line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


# key in the config file ("section.key") -> (Config field, parser)
def _positive_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) and not (isinstance(v, str) and v.strip().isascii()
                                                                and v.strip().isdigit()):
        raise ValueError(f"expected a positive integer, got {v!r}")
    n = int(v)
    if not 0 < n <= MAX_INT:
        raise ValueError(f"expected a positive integer up to {MAX_INT}, got {v!r}")
    return n


def _positive_float(v: Any) -> float:
    try:
        n = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of seconds, got {v!r}") from None
    if not 0 < n <= MAX_NUMBER or isinstance(v, bool):  # NaN fails both comparisons
        raise ValueError(f"expected a positive number up to {MAX_NUMBER:.0e}, got {v!r}")
    return n


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return v.lower() in ("1", "true", "yes", "on")
    raise ValueError(f"expected true or false, got {v!r}")


def _string(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"expected a non-empty string, got {v!r}")
    if _CONTROL.search(v):
        raise ValueError(f"contains a control character: {v!r}")
    return v.strip()


def _host(v: Any) -> str:
    """An address to listen on: an IP address or a host name."""
    s = _string(v)
    try:
        ipaddress.ip_address(s)
    except ValueError:
        if not _HOST_NAME.match(s):
            raise ValueError(f"expected an IP address or a host name, got {v!r}") from None
    return s


def _choice(*allowed: str):
    def parse(v: Any) -> str:
        s = _string(v)
        if s.lower() not in allowed and s.upper() not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {v!r}")
        return s.upper() if s.upper() in allowed else s.lower()
    return parse


def _port(v: Any) -> int:
    if v in (0, "0"):
        return 0
    n = _positive_int(v)
    if n > 65535:
        raise ValueError(f"expected a TCP port (1-65535, or 0 for off), got {v!r}")
    return n


def _networks(v: Any) -> tuple[str, ...]:
    """A TOML list of CIDR strings, or a comma-separated string (environment, command line)."""
    from crawler.safety import parse_networks

    items = v.split(",") if isinstance(v, str) else v
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"expected a list of IP networks such as [\"127.0.0.0/8\"], got {v!r}")
    items = [i.strip() for i in items if i.strip()]
    return tuple(str(n) for n in parse_networks(items))


def _days(v: Any) -> timedelta:
    days = _positive_float(v)
    if days > 36500:
        raise ValueError(f"expected at most 36500 days, got {v!r}")
    return timedelta(days=days)


# A bearer token is the whole of the API's access control: one short enough to guess is none.
MIN_TOKEN_CHARS = 16


def _token(v: Any) -> Secret:
    s = _string(v)
    if len(s) < MIN_TOKEN_CHARS:
        raise ValueError(f"too short: at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 24`)")
    return Secret(s)


def _base_url(v: Any) -> str:
    """The address people and feed readers reach `wirewatch serve` at: http(s), a host, no query."""
    from urllib.parse import urlsplit

    s = _string(v)
    try:
        parts = urlsplit(s)
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise ValueError(f"expected an http:// or https:// URL, got {v!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"expected an http:// or https:// URL without query or fragment, got {v!r}")
    return s.rstrip("/") + "/"


def _dsn(v: Any) -> Secret:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    s = _string(v)
    if not s.startswith(("postgresql://", "postgres://")) and "=" not in s:
        raise ValueError("expected a postgresql:// URL or a key=value DSN")
    try:
        conninfo_to_dict(s)  # libpq's own parser: "a=b=c" or an unknown option fails here, not at connect
    except ProgrammingError:  # its text may quote the password: not passed on
        raise ValueError("not a valid DSN") from None
    return Secret(s)


_SECRET_KINDS = {"database_url": "postgresql:// URL", "api_token": f"token of at least {MIN_TOKEN_CHARS} characters"}

SETTINGS: dict[str, tuple[str, Any]] = {
    "database.url": ("database_url", _dsn),
    "outlets.path": ("outlets_path", lambda v: Path(_string(v)).expanduser()),
    "crawl.contact_url": ("contact_url", _string),
    "crawl.user_agent": ("user_agent", _string),
    "crawl.concurrency": ("concurrency", _positive_int),
    "crawl.per_domain_concurrency": ("per_domain_concurrency", _positive_int),
    "crawl.download_timeout": ("download_timeout", _positive_float),
    "crawl.max_page_bytes": ("max_page_bytes", _positive_int),
    "crawl.extract_timeout": ("extract_timeout", _positive_float),
    "crawl.obey_robots": ("obey_robots", _bool),
    "crawl.robots_ttl": ("robots_ttl", _positive_float),
    "crawl.allowed_networks": ("allowed_networks", _networks),
    "crawl.max_sitemap_children": ("max_sitemap_children", _positive_int),
    "crawl.max_sitemap_depth": ("max_sitemap_depth", _positive_int),
    "crawl.max_sitemap_fetches": ("max_sitemap_fetches", _positive_int),
    "crawl.max_sitemap_urls": ("max_sitemap_urls", _positive_int),
    "crawl.max_feed_items": ("max_feed_items", _positive_int),
    "crawl.max_article_requests": ("max_article_requests", _positive_int),
    "dedupe.window_days": ("dedupe_window", _days),
    "alerts.max_age_days": ("alert_max_age", _days),
    "log.level": ("log_level", _choice("DEBUG", "INFO", "WARNING", "ERROR")),
    "log.format": ("log_format", _choice("text", "json")),
    "schedule.parallel_crawls": ("parallel_crawls", _positive_int),
    "schedule.lease_seconds": ("lease_seconds", _positive_float),
    "schedule.shutdown_seconds": ("shutdown_seconds", _positive_float),
    "metrics.port": ("metrics_port", _port),
    "metrics.address": ("metrics_address", _host),
    "api.host": ("api_host", _host),
    "api.port": ("api_port", _port),
    "api.token": ("api_token", _token),
    "api.base_url": ("api_base_url", _base_url),
}
ENV_PREFIX = "WIREWATCH_"


def env_name(key: str) -> str:
    """`crawl.concurrency` -> `WIREWATCH_CRAWL_CONCURRENCY`; `database.url` -> `WIREWATCH_DATABASE_URL`."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("wirewatch", appauthor=False))


def load_config(
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the Config. `overrides` are CLI flags by file key (`outlets.path`), None meaning unset."""
    env = os.environ if env is None else env
    home = Path(env.get("WIREWATCH_HOME") or default_home()).expanduser()
    config = Config(home=home)

    path = config_file or (Path(env["WIREWATCH_CONFIG"]) if env.get("WIREWATCH_CONFIG") else None)
    explicit = path is not None
    path = path or home / CONFIG_FILENAME
    if path.exists():
        config = _apply(config, _read_file(path), str(path))
        config = replace(config, source=str(path))
    elif explicit:
        raise ConfigError(f"{path}: config file not found")

    from_env = {key: env[env_name(key)] for key in SETTINGS if env.get(env_name(key))}
    config = _apply(config, from_env, "environment", naming=env_name)
    if overrides:
        config = _apply(config, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return config


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if section == "watch":
            flat["watch"] = values  # [[watch]] tables, checked by _watches
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section}: expected a [{section}] table")
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    return flat


def _apply(config: Config, values: Mapping[str, Any], source: str, naming=lambda k: k) -> Config:
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key == "watch":
            changes["watches"] = _watches(raw, source)
            continue
        if key not in SETTINGS:
            raise ConfigError(f"{source}: {naming(key)}: unknown setting (known: {', '.join(SETTINGS)})")
        attr, parse = SETTINGS[key]
        try:
            changes[attr] = parse(raw)
        except ValueError as exc:
            shown = "<redacted>" if attr in ("database_url", "api_token") else None
            message = str(exc) if shown is None else f"expected a {_SECRET_KINDS[attr]}, got {shown}"
            raise ConfigError(f"{source}: {naming(key)}: {message}") from None
    return replace(config, **changes)


def _watches(tables: Any, source: str) -> tuple:
    """[[watch]] tables; the queries themselves are checked by PostgreSQL when synced."""
    from alerts.spec import WatchError, watch_from_table

    if not isinstance(tables, list):
        raise ConfigError(f"{source}: watch: expected [[watch]] tables")
    try:
        specs = tuple(watch_from_table(t) for t in tables)
    except WatchError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    names = [w.name for w in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: watch: a name is defined twice: {sorted(n for n in set(names) if names.count(n) > 1)}")
    return specs
