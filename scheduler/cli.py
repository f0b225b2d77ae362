"""The `wirewatch` command line. Data goes to stdout; logs and progress to stderr."""

from __future__ import annotations

import functools
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from crawler.outlet import Outlet
from db import outlets as outlet_rows
from db.connect import DatabaseUnavailable, connect, stop_embedded
from db.migrate import migrate
from scheduler.config import DEFAULT_CONTACT, Config, ConfigError, load_config
from scheduler.database import open_archive, resolve_dsn, sync_outlets
from scheduler.logs import configure_logging
from scheduler.outlets import OutletsError, load_outlets
from scheduler.render import FORMATS, render_rows
from scheduler.watch_cli import alerts_group, deliver_after_storing, sync_watches, watch_group

log = logging.getLogger("wirewatch")


class State:
    def __init__(self, config: Config) -> None:
        self.config = config

    def outlets(self) -> list[Outlet]:
        try:
            return load_outlets(self.config.outlets_path)
        except OutletsError as exc:
            raise click.ClickException(str(exc)) from None

    def archive(self, *, sync: bool = False) -> str:
        """The DSN, migrated. Only with `sync` (run, demo, import: the commands that store articles
        and raise alerts) are the config file's watches written: a read command run with another
        config file must change nothing."""
        try:
            dsn = open_archive(self.config)
            if sync:
                sync_watches(dsn, self.config)
            return dsn
        except DatabaseUnavailable as exc:
            raise click.ClickException(str(exc)) from None


pass_state = click.make_pass_decorator(State)


def expected_errors(func):
    """Turn the errors a user can fix into one `Error: ...` line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ConfigError, OutletsError, DatabaseUnavailable) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


class GlobalOptionsGroup(click.Group):
    """Takes the group's own options after the subcommand too (`wirewatch run --once --outlets x.toml`):
    they are moved in front of it, where click parses them, so `--help` keeps listing them once, here.
    No subcommand has an option of the same name, so moving one cannot take a subcommand's."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with_value = {name for p in self.params if isinstance(p, click.Option) and not p.is_flag
                      for name in p.opts}
        flags = {name for p in self.params if isinstance(p, click.Option) and p.is_flag and not p.is_eager
                 for name in p.opts}
        start, i = None, 0
        while i < len(args) and start is None:  # the subcommand: the first word not an option's value
            if args[i] in self.commands:
                start = i
            i += 2 if args[i] in with_value else 1
        if start is not None:
            moved, kept, rest = [], [], args[start + 1:]
            i = 0
            while i < len(rest):
                arg, name = rest[i], rest[i].split("=", 1)[0]
                if arg == "--":
                    kept += rest[i:]
                    break
                if arg in flags or (name in with_value and "=" in arg):
                    moved.append(arg)
                elif arg in with_value and i + 1 < len(rest):
                    moved += rest[i:i + 2]
                    i += 1
                else:
                    kept.append(arg)
                i += 1
            args = args[:start] + moved + args[start:start + 1] + kept
        return super().parse_args(ctx, args)


@click.group(cls=GlobalOptionsGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), envvar="WIREWATCH_CONFIG",
              help="Config file (env WIREWATCH_CONFIG; default $WIREWATCH_HOME/wirewatch.toml).")
@click.option("--outlets", "outlets_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Outlets file (env WIREWATCH_OUTLETS_PATH; default: the bundled seeds/outlets.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging, including Scrapy's own.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log line format on stderr (env WIREWATCH_LOG_FORMAT).")
@click.version_option(package_name="wirewatch")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, outlets_path: Path | None, verbose: bool,
        log_format: str | None) -> None:
    """wirewatch: monitor news outlets into a clean, deduplicated PostgreSQL archive.

    State lives in $WIREWATCH_HOME (the embedded database, wirewatch.toml). Without
    WIREWATCH_DATABASE_URL an embedded PostgreSQL is started there. The options below may
    also follow the command (wirewatch run --once --outlets my.toml).

    Example: wirewatch demo
    """
    try:
        config = load_config(config_file=config_file, overrides={
            "outlets.path": str(outlets_path) if outlets_path else None,
            "log.level": "DEBUG" if verbose else None,
            "log.format": log_format,
        })
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(config.log_level, config.log_format)
    ctx.obj = State(config)


def database_text(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A command-line value PostgreSQL can take as text. Bytes that are not UTF-8 reach Python's
    argv as lone surrogates, which the driver cannot encode (a traceback, not an error line)."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise click.BadParameter("not valid UTF-8 text (check the terminal's encoding)") from None
    if "\x00" in value:
        raise click.BadParameter("contains a NUL character")
    return value


def search_query(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """QUERY of search and export: text PostgreSQL's web-search parser takes."""
    from alerts.spec import query_problem

    if problem := query_problem(value):
        raise click.BadParameter(problem)
    return value


def point_in_time(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """--since and --until: what the outlets file and the API take (db/durations.py)."""
    from db.durations import TIME_FORMS, parse_time

    if value is None:
        return None
    parsed = parse_time(value, datetime.now(timezone.utc))
    if parsed is None:
        raise click.BadParameter(f"expected {TIME_FORMS}, got {value!r}")
    return parsed


TIME_HELP = "2024-01-31, 2024-01-31T09:00 (UTC), or 2d, 36h, 1w ago"


def search_filters(func):
    """--outlet --since --until --lang, shared by search and export."""
    for option in reversed([
        click.option("--outlet", callback=database_text, help="Only this outlet."),
        click.option("--since", callback=point_in_time, metavar="WHEN",
                     help=f"Published on or after: {TIME_HELP}."),
        click.option("--until", callback=point_in_time, metavar="WHEN", help=f"Published before: {TIME_HELP}."),
        click.option("--lang", callback=database_text, help="Language code, e.g. en."),
    ]):
        func = option(func)
    return func


def empty_range(since: datetime | None, until: datetime | None) -> None:
    if since and until and since >= until:
        raise click.UsageError(f"--since {since:%Y-%m-%d %H:%M} is not before --until {until:%Y-%m-%d %H:%M}: "
                               "no article can be published in that range")


def no_match_reason(conn, filters) -> None:
    """After a search found nothing: an error naming the filter no article can pass, if one is."""
    from db.search import filter_problem

    if problem := filter_problem(conn, filters):
        flag = {"language": "--lang"}.get(problem.name, f"--{problem.name}")
        raise click.ClickException(f"{flag}: {problem.message}")


@cli.command()
@click.option("--once", is_flag=True, help="Crawl every outlet once, then exit.")
@click.option("--outlet", "only", multiple=True, help="Only this outlet (repeatable).")
@pass_state
@expected_errors
def run(state: State, once: bool, only: tuple[str, ...]) -> None:
    """Run the daemon in the foreground: each outlet is crawled at its interval until SIGINT/SIGTERM.

    With --once, exits 1 only when no outlet at all could be crawled.

    Example: wirewatch run --once --outlet kyodo
    """
    from scheduler.daemon import run_daemon, run_once

    outlets = _select(state.outlets(), only)
    dsn = state.archive(sync=True)
    with connect(dsn) as conn:
        sync_outlets(conn, outlets)
    if state.config.user_agent is None and state.config.contact_url == DEFAULT_CONTACT:
        # outlets' operators read the User-Agent to reach whoever crawls them; the default names no one
        log.warning("crawl.contact_url is not set: the User-Agent names the placeholder %s; set "
                    "crawl.contact_url in wirewatch.toml (or WIREWATCH_CRAWL_CONTACT_URL) to a page or "
                    "mailto: address where outlets can reach you", DEFAULT_CONTACT,
                    extra={"event": "contact_unset"})
    if once:
        results = run_once(outlets, state.config, dsn)
        _print_results(results)
        deliver_after_storing(dsn)
        crawled = sum(1 for r in results if r.ok)
        click.echo(f"{crawled} of {len(outlets)} outlets crawled; "
                   f"{sum(r.articles_stored for r in results)} articles stored.", err=True)
        if crawled == 0:
            raise click.ClickException("no outlet could be crawled (see the log lines above)")
        return
    run_daemon(outlets, state.config, dsn)


@cli.command()
@click.option("--clean", is_flag=True, help="Remove the demo outlets and their articles, then exit.")
@click.option("--serve", is_flag=True, help="Keep serving the replay sites after the crawl until Ctrl-C.")
@pass_state
@expected_errors
def demo(state: State, clean: bool, serve: bool) -> None:
    """Crawl a bundled replay of outlet websites on 127.0.0.1 into the archive and summarise it.

    Needs no network and no configuration. Outlets are named demo-...; --clean removes them.

    Example: wirewatch demo && wirewatch search Lavrov
    """
    from scheduler.demo import clean_demo, run_demo

    dsn = state.archive(sync=True)
    if clean:
        removed = clean_demo(dsn)
        click.echo(f"Removed {len(removed)} demo outlets and their articles.")
        return
    run_demo(state.config, dsn, serve=serve)


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="Address of the page, for a single HTML file without a canonical link.")
@click.option("--no-alerts", is_flag=True, help="Store the pages without raising alerts (a backfill).")
@pass_state
@expected_errors
def import_(state: State, paths: tuple[Path, ...], url: str | None, no_alerts: bool) -> None:
    """Import WARC (.warc, .warc.gz) or HTML files through extract, dedupe and store.

    Pages of a host that no configured outlet covers are stored under an outlet named after the host.
    An article published more than alerts.max_age_days ago raises no alert; --no-alerts raises none.

    Example: wirewatch import crawl-2024-01.warc.gz
    """
    from scheduler.imports import import_files

    if url is not None and (len(paths) != 1 or paths[0].name.endswith((".warc", ".warc.gz"))):
        raise click.UsageError("--url applies to a single HTML file")
    outlets = state.outlets()
    dsn = state.archive(sync=True)
    with connect(dsn) as conn:
        sync_outlets(conn, outlets)
        summary = import_files(conn, list(paths), outlets, url=url, dedupe_window=state.config.dedupe_window,
                               progress=lambda s: click.echo(f"... {s.pages} pages read", err=True),
                               extract_timeout=state.config.extract_timeout,
                               alerts=not no_alerts, alert_max_age=state.config.alert_max_age)
    o = summary.outcomes
    click.echo(f"Imported {summary.pages} pages from {summary.files} files: {o['stored']} articles stored, "
               f"{o['copies']} syndicated copies, {o['duplicates']} already archived, "
               f"{o['skipped']} not articles, {o['errors']} unreadable files.")
    for outlet, n in sorted(summary.by_outlet.items()):
        click.echo(f"  {outlet}: {n}")
    deliver_after_storing(dsn)
    if summary.pages == 0 and o["errors"]:
        raise click.ClickException("nothing could be imported: " + "; ".join(summary.problems))


@cli.command()
@click.argument("query", callback=search_query)
@search_filters
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True,
              help="Relevance (weighted by recency) or newest first.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, help="Skip this many results (paging).")
@click.option("--with-copies", is_flag=True, help="List syndicated copies too, not only under their original.")
@click.option("--stories", is_flag=True, help="One row per story: the reports of one event and their copies.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_state
@expected_errors
def search(state: State, query: str, outlet: str | None, since: datetime | None, until: datetime | None,
           lang: str | None, sort: str, limit: int, offset: int, with_copies: bool, stories: bool, fmt: str) -> None:
    """Search the archive. Web-search syntax: "a phrase", OR, -excluded.

    Ranked by relevance weighted by recency (--sort date: newest first), with a snippet where
    the terms matched. A syndicated copy is shown as its original, with the outlets that also
    carried it. JSON, JSON lines and CSV carry every field (README "Search output").

    Example: wirewatch search '"northern territories" OR kuril -hockey' --since 2023-01-01
    """
    from db.search import Filters
    from scheduler.search import query_note, search_rows

    if with_copies and stories:
        raise click.UsageError("--with-copies and --stories exclude each other")
    empty_range(since, until)
    dsn = state.archive()
    with connect(dsn) as conn:
        if note := query_note(conn, query):
            click.echo(note, err=True)
        rows, columns, count = search_rows(conn, query, outlet=outlet, language=lang, since=_utc(since),
                                    until=_utc(until), limit=limit, offset=offset, with_copies=with_copies,
                                    stories=stories, sort=sort, color=fmt == "table" and sys.stdout.isatty())
        if not rows:
            no_match_reason(conn, Filters(query, outlet=outlet, language=lang, since=since, until=until))
    if fmt != "table":
        for row in rows:
            row.pop("match", None)
    if fmt == "csv":
        from scheduler.search import flat_rows

        rows = flat_rows(rows)
    click.echo(render_rows(rows, fmt, columns=columns), nl=False)
    if not rows and fmt == "table":
        click.echo(f"No article matches {query!r}.", err=True)
    elif count and fmt == "table":
        click.echo(count, err=True)


@cli.command()
@click.argument("article_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_state
@expected_errors
def show(state: State, article_id: int, fmt: str) -> None:
    """Print one article: its metadata, the outlets that also carried it, its story, its clean text.

    Example: wirewatch show 42
    """
    import json

    from db.search import article
    from scheduler.search import show_article

    with connect(state.archive()) as conn:
        if fmt == "text":
            click.echo(show_article(conn, article_id), nl=False)
            return
        found = article(conn, article_id)
    if found is None:
        raise click.ClickException(f"no article #{article_id}")
    click.echo(json.dumps(found.as_record(), default=str, ensure_ascii=False, indent=2))


@cli.command()
@click.argument("query", callback=search_query)
@search_filters
@click.option("--with-copies/--originals-only", default=True, show_default=True,
              help="Export the syndicated copies of each original too.")
@click.option("--limit", type=click.IntRange(1), help="At most this many results (default: all).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "warc"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.File("wb"), default="-", help="Output file (default: stdout).")
@pass_state
@expected_errors
def export(state: State, query: str, outlet: str | None, since: datetime | None, until: datetime | None,
           lang: str | None, with_copies: bool, limit: int | None, fmt: str, output) -> None:
    """Write a query's articles, newest first, as JSON lines or CSV (every field, full text), or as a
    gzipped WARC of their stored pages, which `wirewatch import` reads back.

    Example: wirewatch export Lavrov --format warc -o lavrov.warc.gz
    """
    from db.search import Filters
    from scheduler.search import export as write_export
    from scheduler.search import export_ids

    empty_range(since, until)
    filters = Filters(query, outlet=outlet, language=lang, since=_utc(since), until=_utc(until))
    with connect(state.archive()) as conn:
        ids = list(export_ids(conn, filters, with_copies=with_copies, limit=limit))
        if not ids:
            no_match_reason(conn, filters)
        written = write_export(conn, ids, fmt, output)
    click.echo(f"Exported {written} of {len(ids)} articles as {fmt}.", err=True)


@cli.command()
@click.option("--host", help="Address to listen on (env WIREWATCH_API_HOST; default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="TCP port (env WIREWATCH_API_PORT; default 8080).")
@pass_state
@expected_errors
def serve(state: State, host: str | None, port: int | None) -> None:
    """Serve the JSON API, Atom feeds and the web UI over HTTP (FastAPI on uvicorn).

    Bound to 127.0.0.1 by default; on any other address api.token (WIREWATCH_API_TOKEN) must
    be set, and every request but /healthz must carry it as a bearer token.

    Example: wirewatch serve --port 8080
    """
    from web.serve import serve_forever

    host = host or state.config.api_host
    port = state.config.api_port if port is None else port
    token = state.config.api_token.reveal() if state.config.api_token else None
    if token is None and not _loopback(host):
        raise click.ClickException(f"serving on {host} needs api.token (WIREWATCH_API_TOKEN): "
                                   "the archive would be open to the network")
    _check_bindable(host, port)
    serve_forever(state.archive(), host=host, port=port, token=token, base_url=state.config.api_base_url)


@cli.command()
@click.option("--rebuild", is_flag=True, required=True,
              help="Forget every copy and story link and recompute them from the archive's texts.")
@pass_state
@expected_errors
def dedupe(state: State, rebuild: bool) -> None:
    """Recompute syndicated-copy links, stories and wire attribution over the whole archive.

    Progress goes to stderr; crawls wait until the rebuild commits.

    Example: wirewatch dedupe --rebuild
    """
    from scheduler.dedupe import run_rebuild

    run_rebuild(state.archive(), window=state.config.dedupe_window)


cli.add_command(watch_group)
cli.add_command(alerts_group)


@cli.group()
def db() -> None:
    """The PostgreSQL database: its address, migrations, the embedded server."""


@db.command("url")
@pass_state
@expected_errors
def db_url(state: State) -> None:
    """Print the DSN in use (starting the embedded server if needed).

    Example: psql "$(wirewatch db url)"
    """
    click.echo(resolve_dsn(state.config))


@db.command("migrate")
@pass_state
@expected_errors
def db_migrate(state: State) -> None:
    """Apply missing migrations (every command also does this on start).

    Example: wirewatch db migrate
    """
    with connect(resolve_dsn(state.config)) as conn:
        applied = migrate(conn)
    click.echo(f"Applied {len(applied)} migrations." if applied else "Database is up to date.")


@db.command("reindex-japanese")
@pass_state
@expected_errors
def db_reindex_japanese(state: State) -> None:
    """Index Japanese articles archived before migration 0008 by character bigrams, and
    recompute every watch's bigram query (safe to re-run: only unindexed rows are read).

    Example: wirewatch db reindex-japanese
    """
    from db import articles, watches

    with connect(resolve_dsn(state.config)) as conn:
        migrate(conn)
        indexed = articles.index_bigrams(conn)
        with conn.transaction():
            queries = watches.reindex_bigram_queries(conn)
    click.echo(f"Indexed {indexed} articles by bigrams; recomputed {queries} watch queries.")


@db.command("stop")
@pass_state
def db_stop(state: State) -> None:
    """Stop the embedded PostgreSQL server of this WIREWATCH_HOME.

    Example: wirewatch db stop
    """
    stopped = stop_embedded(state.config.embedded_pgdata)
    click.echo("Embedded PostgreSQL stopped." if stopped else "Embedded PostgreSQL was not running.")


@cli.group()
def outlets() -> None:
    """The configured outlets."""


@outlets.command("check")
@pass_state
def outlets_check(state: State) -> None:
    """Validate the outlets file and print what it defines.

    Example: wirewatch --outlets my-outlets.toml outlets check
    """
    found = state.outlets()
    for o in found:
        sources = len(o.feeds) + len(o.sitemaps) + len(o.sections)
        click.echo(f"{o.name:<20} {o.language:<4} every {_duration(o.interval):<6} {sources} sources  {o.title}")
    click.echo(f"{state.config.outlets_path}: {len(found)} outlets, valid.", err=True)


@outlets.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_state
@expected_errors
def outlets_list(state: State, fmt: str) -> None:
    """Outlets in the database with their article counts and crawl state.

    Example: wirewatch outlets list --format json
    """
    with connect(state.archive()) as conn:
        rows = outlet_rows.list_outlets(conn)
    click.echo(render_rows([{
        "name": r.name, "articles": r.articles, "last_success": r.last_success_at, "failures": r.consecutive_failures,
        "last_error": r.last_error, "title": r.title,
    } for r in rows], fmt, columns=["name", "articles", "last_success", "failures", "last_error"]), nl=False)


@cli.command()
@click.option("--outlet", help="Only this outlet's articles.")
@click.option("--since", callback=point_in_time, metavar="WHEN", help=f"Only pages fetched on or after: {TIME_HELP}.")
@pass_state
@expected_errors
def reextract(state: State, outlet: str | None, since: datetime | None) -> None:
    """Run extraction again over the stored raw pages and update the articles in place.

    For after an extractor change: each article whose page now extracts differently is
    updated (search included), and a changed text is checked for duplicates again. Prints
    how many changed; progress goes to stderr.

    Example: wirewatch reextract --outlet kyodo --since 2024-01-01
    """
    from crawler.extract_worker import TimedExtractor
    from scheduler.reextract import reextract_articles, select_articles

    rules = {o.name: o.rules for o in state.outlets()}
    with connect(state.archive()) as conn:
        ids = select_articles(conn, outlet=outlet, since=_utc(since))
        extract = TimedExtractor(state.config.extract_timeout)  # the crawl's time cap per page
        try:
            with click.progressbar(length=len(ids), label="Re-extracting", file=sys.stderr) as bar:
                s = reextract_articles(conn, ids, rules=rules, dedupe_window=state.config.dedupe_window,
                                       tick=lambda: bar.update(1), extract=extract)
        finally:
            extract.close()
    click.echo(f"Re-extracted {s.examined} articles: {s.changed} changed ({s.texts_changed} texts, "
               f"{s.relinked} with a new copy link), {s.unchanged} unchanged, {s.not_articles} no longer "
               f"extract as an article (kept).")


@cli.command()
@click.option("--history", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Previous runs of each outlet the last run's yield is compared with.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@pass_state
@expected_errors
def status(state: State, history: int, fmt: str) -> None:
    """Per outlet, the last crawl run (when, result, duration, articles new and in total, the
    malformed links it skipped and the fetched pages it could not store), its extraction yield
    (share of pages with a title, body, date, author, flagging a sharp drop against the outlet's
    own previous runs), consecutive failures, next run and health; then the archive's totals
    (articles, copies, stories, database size).

    Example: wirewatch status --format json
    """
    from scheduler.status import COLUMNS, outlet_statuses, status_rows, totals_line

    with connect(state.archive()) as conn:
        statuses = outlet_statuses(conn, history_runs=history)
        totals = outlet_rows.archive_totals(conn)
    click.echo(render_rows(status_rows(statuses), fmt, columns=[c.name for c in COLUMNS]), nl=False)
    click.echo(totals_line(totals), err=fmt != "table")
    dropped = [s.outlet for s in statuses if s.drops]
    if dropped and fmt == "table":
        click.echo(f"Extraction yield dropped for: {', '.join(dropped)} (a site redesign?)", err=True)


@cli.command("config")
@pass_state
def show_config(state: State) -> None:
    """Print the effective configuration, secrets redacted.

    Example: wirewatch config
    """
    for key, value in state.config.redacted().items():
        click.echo(f"{key} = {value}")


def _select(outlets: list[Outlet], only: tuple[str, ...]) -> list[Outlet]:
    if not only:
        return outlets
    names = {o.name for o in outlets}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise click.ClickException(f"unknown outlet(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    return [o for o in outlets if o.name in only]


def _print_results(results) -> None:
    rows = [{"outlet": r.outlet, "ok": "yes" if r.ok else "FAILED", "pages": r.pages_fetched,
             "stored": r.articles_stored, "copies": r.copies_detected, "known": r.duplicates_skipped,
             "errors": r.errors} for r in results]
    click.echo(render_rows(rows, "table", columns=list(rows[0]) if rows else []), nl=False)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=timezone.utc) if value and value.tzinfo is None else value


def _check_bindable(host: str, port: int) -> None:
    """Bind and release the address before uvicorn does: on a busy port uvicorn logs its startup
    line, then "[Errno 98]", and exits 3 with no word of ours. As uvicorn does, with SO_REUSEADDR,
    so a port a closed server left in TIME_WAIT still counts as free. A server that takes the port
    between the two binds still gets uvicorn's error: rare, and still a non-zero exit."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(f"port {port} on {host} is in use (--port or WIREWATCH_API_PORT "
                                           "for another)") from None
            raise click.ClickException(f"cannot listen on port {port} of {host}: {exc.strerror}") from None


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _duration(delta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def main() -> None:
    cli(prog_name="wirewatch")


if __name__ == "__main__":
    sys.exit(main())
