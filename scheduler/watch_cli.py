"""`wirewatch watch ...` and `wirewatch alerts ...`: managing watches and the alert outbox.

Registered on the main group by scheduler/cli.py; `ctx.obj` is its State.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone

import click

from alerts.channels import Channel, send
from alerts.deliver import deliver_due
from alerts.feed import atom_feed
from alerts.messages import test_message
from alerts.spec import MODES, WatchError, build_watch
from alerts.store import add_watch, replace_watch, sync_config_watches
from db import outbox
from db import watches as watch_rows
from db.connect import DatabaseUnavailable, connect
from scheduler.render import FORMATS, render_rows

STATUSES = ("pending", "sending", "sent", "failed")


def sync_watches(dsn: str, config) -> None:
    """Make the database's config-file watches those of `config` (run, demo, import, `watch sync`;
    alerts.store.sync_config_watches says what happens to one the file no longer defines)."""
    with connect(dsn) as conn:
        try:
            sync_config_watches(conn, config.watches, config.source)
        except WatchError as exc:
            raise click.ClickException(str(exc)) from None


def _errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (WatchError, DatabaseUnavailable) as exc:
            raise click.ClickException(str(exc)) from None
    return wrapper


def _existing(conn, name: str) -> watch_rows.WatchRow:
    row = watch_rows.get_watch(conn, name)
    if row is None:
        raise WatchError(f"no watch named {name!r} (see `wirewatch watch list`)")
    return row


def _editable(row: watch_rows.WatchRow) -> None:
    if row.source == "config":
        raise WatchError(f"watch {row.name!r} is defined in the config file; change it there")


def _watch_options(func):
    for decorator in reversed([
        click.option("--query", "-q", help='Web-search syntax: "a phrase", OR, -excluded.'),
        click.option("--channel", "-c", "channels", multiple=True,
                     help="An apprise URL (repeatable): json://host/path, mailtos://..., slack://..., tgram://..."),
        click.option("--outlet", "outlets", multiple=True, help="Only articles of this outlet (repeatable)."),
        click.option("--lang", help="Only articles in this language, e.g. en."),
        click.option("--mode", type=click.Choice(MODES), help="instant (default), hourly digest or daily digest."),
        click.option("--at", "at", help="Local time of the daily digest, HH:MM."),
        click.option("--tz", "time_zone", help="Time zone of --at and of times in messages (default UTC)."),
        click.option("--updates/--no-updates", default=None,
                     help="Alert again, marked as an update, on a later report of a story already alerted on."),
    ]):
        func = decorator(func)
    return func


@click.group("watch")
def watch_group() -> None:
    """Watches: stored searches whose new matching articles are sent to channels."""


@watch_group.command("add")
@click.argument("name")
@_watch_options
@click.pass_obj
@_errors
def watch_add(state, name: str, query: str | None, channels: tuple[str, ...], outlets: tuple[str, ...],
              lang: str | None, mode: str | None, at: str | None, time_zone: str | None, updates: bool | None) -> None:
    """Add a watch; every new original article matching QUERY is sent to each --channel.

    Example: wirewatch watch add kuril --query '"northern territories" OR kuril' --channel 'json://127.0.0.1:8080/hook'
    """
    if not query:
        raise click.UsageError("--query is required")
    spec = build_watch(name, query, channels, outlets=outlets, language=lang, mode=mode or "instant", at=at,
                       time_zone=time_zone, updates=bool(updates))
    from scheduler.search import query_note

    with connect(state.archive()) as conn:
        add_watch(conn, spec)
        if note := query_note(conn, spec.query):
            click.echo(note, err=True)
    click.echo(f"Added watch {spec}.")


@watch_group.command("edit")
@click.argument("name")
@_watch_options
@click.option("--all-outlets", is_flag=True, help="Drop the outlet filter.")
@click.option("--any-lang", is_flag=True, help="Drop the language filter.")
@click.pass_obj
@_errors
def watch_edit(state, name: str, query: str | None, channels: tuple[str, ...], outlets: tuple[str, ...],
               lang: str | None, mode: str | None, at: str | None, time_zone: str | None, updates: bool | None,
               all_outlets: bool, any_lang: bool) -> None:
    """Change a watch: only the options given change; --channel replaces all its channels.

    Example: wirewatch watch edit kuril --mode daily --at 08:00 --tz Asia/Tokyo
    """
    with connect(state.archive()) as conn:
        row = _existing(conn, name)
        _editable(row)
        kept = [c.url for c in watch_rows.channel_secrets(conn, name)]
        new_mode = mode or row.mode
        spec = build_watch(
            name, query or row.query, channels or kept,
            outlets=() if all_outlets else (outlets or row.outlets),
            language=None if any_lang else (lang or row.language), mode=new_mode,
            at=(at or row.daily_at) if new_mode == "daily" else None, time_zone=time_zone or row.time_zone,
            updates=row.updates if updates is None else updates,
        )
        replace_watch(conn, spec)
    click.echo(f"Changed watch {spec}.")


@watch_group.command("remove")
@click.argument("name")
@click.pass_obj
@_errors
def watch_remove(state, name: str) -> None:
    """Remove a watch with its channels, alerts and pending deliveries.

    Example: wirewatch watch remove kuril
    """
    with connect(state.archive()) as conn:
        _editable(_existing(conn, name))
        with conn.transaction():
            watch_rows.delete_watch(conn, name)
    click.echo(f"Removed watch {name}.")


@watch_group.command("sync")
@click.pass_obj
@_errors
def watch_sync(state) -> None:
    """Write the config file's watches to the database now (`wirewatch run` does this on start).

    A watch the file no longer defines is deleted if it raised no alert; one with alerts is kept
    as a command-line watch, which `wirewatch watch remove` deletes.

    Example: wirewatch --config wirewatch.toml watch sync
    """
    state.archive(sync=True)
    click.echo(f"{len(state.config.watches)} watches from {state.config.source} synced.", err=True)


@watch_group.command("list")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_obj
@_errors
def watch_list(state, fmt: str) -> None:
    """Every watch with its mode, filters, masked channels and number of alerts.

    Example: wirewatch watch list --format json
    """
    with connect(state.archive()) as conn:
        rows = watch_rows.list_watches(conn)
    click.echo(render_rows([_watch_dict(r) for r in rows], fmt,
                           columns=["name", "mode", "alerts", "query", "channels"]), nl=False)
    if not rows and fmt == "table":
        click.echo("No watches yet: wirewatch watch add NAME --query QUERY --channel URL", err=True)


def _watch_dict(row: watch_rows.WatchRow) -> dict:
    mode = row.mode if row.mode != "daily" else f"daily {row.daily_at:%H:%M} {row.time_zone}"
    return {"name": row.name, "query": row.query, "parsed": row.parsed, "mode": mode,
            "outlets": ", ".join(row.outlets) or "all", "language": row.language or "any",
            "updates": row.updates, "source": row.source, "channels": ", ".join(row.channels), "alerts": row.alerts}


@watch_group.command("show")
@click.argument("name")
@click.pass_obj
@_errors
def watch_show(state, name: str) -> None:
    """A watch's settings, how PostgreSQL reads its query, its channels (masked) and recent deliveries.

    Example: wirewatch watch show kuril
    """
    with connect(state.archive()) as conn:
        row = _existing(conn, name)
        recent = outbox.recent(conn, watch=name, limit=10)
    for key, value in _watch_dict(row).items():
        if key != "channels":
            click.echo(f"{key:<9} {value}")
    for channel in row.channels:
        click.echo(f"channel   {channel}")
    if recent:
        click.echo("")
        click.echo(render_rows([_delivery_dict(d) for d in recent], "table",
                               columns=["created", "status", "attempts", "channel", "outlet", "title"]), nl=False)


@watch_group.command("test")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--send/--no-send", "do_send", default=True, show_default=True,
              help="Send a test message to each channel.")
@click.pass_obj
@_errors
def watch_test(state, name: str, limit: int, do_send: bool) -> None:
    """Show which archived articles the watch would have matched, and send a test message to its channels.

    Example: wirewatch watch test kuril --limit 5
    """
    with connect(state.archive()) as conn:
        row = _existing(conn, name)
        found = watch_rows.matches(conn, name, limit=limit)
        channels = watch_rows.channel_secrets(conn, name)
    click.echo(render_rows([{"id": m.id, "published": m.published_at, "outlet": m.outlet, "copies": m.copies,
                             "title": m.title, "url": m.url} for m in found], "table",
                           columns=["id", "published", "outlet", "copies", "title"]), nl=False)
    click.echo(f"{len(found)} archived original{'s' if len(found) != 1 else ''} match {row.query!r}"
               f"{' (limit reached)' if len(found) == limit else ''}.", err=True)
    if not do_send:
        return
    message = test_message(name, row.query, len(found))
    failures = 0
    for secret in channels:
        error = send(Channel(secret.url), message.title, message.body)
        failures += error is not None
        click.echo(f"test message to {secret.masked}: {'sent' if error is None else 'FAILED: ' + error}", err=True)
    if failures:
        raise click.ClickException(f"{failures} of {len(channels)} channels did not accept the test message")


@watch_group.command("feed")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_obj
@_errors
def watch_feed(state, name: str, limit: int) -> None:
    """Print the watch's alerts as an Atom feed, newest first (copies listed in each entry).

    Example: wirewatch watch feed kuril > kuril.atom
    """
    with connect(state.archive()) as conn:
        row = _existing(conn, name)
        entries = outbox.watch_alerts(conn, name, limit=limit)
    click.echo(atom_feed(row, entries, datetime.now(timezone.utc)), nl=False)


@click.group("alerts", invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--watch", help="Only this watch's deliveries.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
@_errors
def alerts_group(ctx: click.Context, status: str | None, watch: str | None, limit: int, fmt: str) -> None:
    """Recent alert deliveries and failures, newest first (channels masked).

    Example: wirewatch alerts --status failed
    """
    if ctx.invoked_subcommand is not None:
        return
    with connect(ctx.obj.archive()) as conn:
        rows = outbox.recent(conn, status=status, watch=watch, limit=limit)
    click.echo(render_rows([_delivery_dict(d) for d in rows], fmt,
                           columns=["created", "watch", "status", "attempts", "channel", "outlet", "title",
                                    "error"]), nl=False)
    if not rows and fmt == "table":
        click.echo("No alert deliveries.", err=True)


def _delivery_dict(row: outbox.DeliveryRow) -> dict:
    return {"id": row.id, "created": row.created_at, "watch": row.watch, "kind": row.kind, "status": row.status,
            "attempts": row.attempts, "due": row.due_at, "sent": row.sent_at, "channel": row.channel,
            "article_id": row.article_id, "outlet": row.outlet, "title": row.title, "error": row.last_error}


@alerts_group.command("retry")
@click.option("--watch", help="Only this watch's failed deliveries.")
@click.pass_obj
@_errors
def alerts_retry(state, watch: str | None) -> None:
    """Give failed deliveries a fresh set of attempts and send them now.

    Example: wirewatch alerts retry --watch kuril
    """
    dsn = state.archive()
    with connect(dsn) as conn:
        count = outbox.retry_failed(conn, watch=watch)
    click.echo(f"{count} failed deliveries queued again.", err=True)
    click.echo(f"Alerts: {deliver_due(dsn).describe()}.")


@alerts_group.command("send")
@click.pass_obj
@_errors
def alerts_send(state) -> None:
    """Deliver every alert that is due now (the daemon does this continuously).

    Example: wirewatch alerts send
    """
    click.echo(f"Alerts: {deliver_due(state.archive()).describe()}.")



def deliver_after_storing(dsn: str, *, err: bool = True) -> None:
    """After `demo` or `import` stored articles: send the alerts now due (bounded) and say so."""
    result = deliver_due(dsn)
    click.echo(f"Alerts: {result.describe()}.", err=err)
    for error in result.errors[:5]:
        click.echo(f"  {error}", err=err)
