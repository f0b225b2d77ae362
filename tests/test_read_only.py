"""Read commands change nothing, whatever config file they are given; the config file's watches
are written by `run` (and demo, import, `watch sync`), and a watch with alerts is deleted only by
`watch remove`."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.test_alerts import article_html
from tests.test_cli import wirewatch
from tests.test_config_errors import OUTLET


def watch_table(webhook, name: str, query: str) -> str:
    return f'[[watch]]\nname = "{name}"\nquery = "{query}"\nchannels = ["{webhook.url("/" + name)}"]\n'


def archive_state(dsn: str) -> dict:
    """Every watch with its source, update time, channels and alerts; the articles."""
    with psycopg.connect(dsn) as conn:
        watches = conn.execute(
            "SELECT w.name, w.source, w.updated_at, "
            "       (SELECT array_agg(c.masked ORDER BY c.id) FROM watch_channels c WHERE c.watch_id = w.id), "
            "       (SELECT array_agg(al.article_id ORDER BY al.id) FROM alerts al WHERE al.watch_id = w.id) "
            "FROM watches w ORDER BY w.name").fetchall()
        articles = conn.execute("SELECT count(*), max(id) FROM articles").fetchone()
    return {"watches": watches, "articles": articles}


def setup_archive(home: Path, tmp_path: Path, cli_env: dict, webhook) -> tuple[Path, Path, int]:
    """Config A defines `all` (it raises an alert on the imported page) and `quiet` (no alert);
    config B defines neither, only `other`. Returns both paths and the article's id."""
    home.mkdir(parents=True, exist_ok=True)
    outlets = tmp_path / "outlets.toml"
    outlets.write_text(OUTLET, encoding="utf-8")
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    # [alerts]: the imported page is from 2024, news for this test
    first.write_text(f'[outlets]\npath = "{outlets}"\n[alerts]\nmax_age_days = 36500\n' + watch_table(webhook, "all", "kuril")
                     + watch_table(webhook, "quiet", "volcano"), encoding="utf-8")
    second.write_text(f'[outlets]\npath = "{outlets}"\n' + watch_table(webhook, "other", "budget"), encoding="utf-8")
    page = tmp_path / "kuril.html"
    page.write_text(article_html("Kuril islands talks resume", "2024-01-10T08:00:00+09:00", "kuril"))
    imported = wirewatch("--config", str(first), "import", str(page), "--url", "https://www.kyodo.test/news/1",
                         env=cli_env)
    assert imported.returncode == 0, imported.stderr
    assert "Alerts: 1 alert deliveries sent in 1 messages." in imported.stderr
    with psycopg.connect(cli_env["WIREWATCH_DATABASE_URL"]) as conn:
        article_id = conn.execute("SELECT id FROM articles").fetchone()[0]
    return first, second, article_id


def test_read_commands_with_another_config_change_nothing(cli_env, webhook, home: Path, tmp_path: Path,
                                                         dsn: str) -> None:
    _, second, article_id = setup_archive(home, tmp_path, cli_env, webhook)
    before = archive_state(dsn)
    assert [(w[0], w[1], len(w[4] or [])) for w in before["watches"]] == [("all", "config", 1), ("quiet", "config", 0)]

    reads = [("status",), ("search", "kuril"), ("show", str(article_id)), ("export", "kuril"), ("config",),
             ("watch", "list"), ("watch", "show", "all"), ("watch", "feed", "all"), ("outlets", "list"),
             ("alerts",), ("db", "url")]
    for command in reads:
        result = wirewatch("--config", str(second), *command, env=cli_env)
        assert result.returncode == 0, (command, result.stderr)
        assert "removed" not in result.stderr and "Traceback" not in result.stderr, (command, result.stderr)
        assert archive_state(dsn) == before, command
    listed = json.loads(wirewatch("--config", str(second), "watch", "list", "--format", "json", env=cli_env).stdout)
    assert {w["name"]: w["alerts"] for w in listed} == {"all": 1, "quiet": 0}


def test_run_syncs_the_file_but_keeps_a_watch_with_alerts_until_watch_remove(cli_env, webhook, home: Path,
                                                                           tmp_path: Path, dsn: str) -> None:
    _, second, _ = setup_archive(home, tmp_path, cli_env, webhook)
    # The outlet's feed is on the discard port: the crawl fails at once, after the watches were synced.
    ran = wirewatch("--config", str(second), "run", "--once", env=cli_env)
    assert "Traceback" not in ran.stderr, ran.stderr
    assert "watch quiet removed: no longer in" in ran.stderr
    assert f"watch all is no longer in {second} but has 1 alerts: kept as a command-line watch" in ran.stderr
    after = {w[0]: (w[1], len(w[4] or [])) for w in archive_state(dsn)["watches"]}
    assert after == {"all": ("cli", 1), "other": ("config", 0)}

    again = wirewatch("--config", str(second), "watch", "sync", env=cli_env)
    assert again.returncode == 0 and "kept" not in again.stderr and "removed" not in again.stderr, again.stderr
    removed = wirewatch("--config", str(second), "watch", "remove", "all", env=cli_env)
    assert removed.returncode == 0, removed.stderr
    assert {w[0] for w in archive_state(dsn)["watches"]} == {"other"}
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
