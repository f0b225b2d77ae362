"""The `wirewatch` command as a user runs it: a real process, a real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import psycopg
import pytest

from scheduler.cli import cli
from tests.conftest import manifest_articles

STORED = [a for a in manifest_articles() if not a.get("excluded_by_since")]


def wirewatch(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_explains_itself(command: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, "-m", "scheduler.cli", *command, "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage: wirewatch" in result.stdout
    command_obj = cli
    for part in command:
        command_obj = command_obj.commands[part]
    if not isinstance(command_obj, click.Group):
        assert "Example:" in result.stdout


def test_a_bad_outlets_file_is_one_clear_error(tmp_path: Path, cli_env) -> None:
    bad = tmp_path / "outlets.toml"
    bad.write_text('[[outlet]]\nname = "x"\ntitle = "X"\nhomepage = "https://x.example/"\nlanguage = "en"\n'
                   'interval = "often"\nfeeds = ["https://x.example/feed"]\n')
    result = wirewatch("--outlets", str(bad), "run", "--once", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: {bad}: outlet 'x': interval: expected a duration such as "
                                     "'90s', '15m', '2h' or '1d', got 'often'")
    check = wirewatch("--outlets", str(bad), "outlets", "check", env=cli_env)
    assert check.returncode == 1 and "Traceback" not in check.stderr


def test_bundled_outlets_check(cli_env) -> None:
    result = wirewatch("outlets", "check", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "kyodo" in result.stdout and "outlets, valid" in result.stderr


def test_db_url_prints_the_configured_dsn(cli_env, dsn: str) -> None:
    result = wirewatch("db", "url", env=cli_env)
    assert result.returncode == 0 and result.stdout.strip() == dsn
    shown = wirewatch("config", env=cli_env | {"WIREWATCH_DATABASE_URL": "postgresql://u:s3cret@h/db"})
    assert "s3cret" not in shown.stdout and "database_url = <redacted>" in shown.stdout


def test_embedded_database_lives_in_its_home(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    homes = [tmp_path / "a", tmp_path / "b"]
    urls = []
    try:
        for home in homes:
            result = wirewatch("db", "url", env=env | {"WIREWATCH_HOME": str(home)})
            assert result.returncode == 0, result.stderr
            urls.append(result.stdout.strip())
            assert (home / "pgdata" / "PG_VERSION").exists()
            with psycopg.connect(urls[-1]) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        assert urls[0] != urls[1]
        migrated = wirewatch("db", "migrate", env=env | {"WIREWATCH_HOME": str(homes[0])})
        shipped = len(list((Path(__file__).resolve().parent.parent / "db" / "migrations").glob("[0-9]*.sql")))
        assert migrated.returncode == 0 and f"Applied {shipped} migrations" in migrated.stdout
    finally:
        for home in homes:
            wirewatch("db", "stop", env=env | {"WIREWATCH_HOME": str(home)})


def test_demo_then_search_then_clean(cli_env) -> None:
    demo = wirewatch("demo", env=cli_env)
    assert demo.returncode == 0, demo.stderr
    for outlet in sorted({a["outlet"] for a in STORED}):
        assert outlet in demo.stdout
    copies = sum(1 for a in STORED if a.get("copy_of"))
    assert f"Archive now holds {len(STORED)} demo articles, {copies} of them syndicated copies" in demo.stdout
    assert "wirewatch search Lavrov" in demo.stdout and 'psql "$(wirewatch db url)"' in demo.stdout
    assert "wirewatch search 北方領土" in demo.stdout
    # a title cut to its column ends with an ellipsis, never mid-word with nothing to say so
    cut = [line for line in demo.stdout.splitlines() if "territorial spat with" in line]
    assert cut and all("…" in line for line in cut), cut

    found = wirewatch("search", "Lavrov", "--sort", "date", "--format", "json", env=cli_env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert {h["outlet"] for h in hits} >= {"demo-jiji", "demo-kyodo"}
    assert [h["published"] for h in hits] == sorted((h["published"] for h in hits), reverse=True)
    table = wirewatch("search", '"peace treaty" -Lavrov', "--outlet", "demo-asahi", env=cli_env)
    assert "Drop territorial claim" in table.stdout and "demo-asahi" in table.stdout

    again = wirewatch("demo", env=cli_env)
    assert f"Archive now holds {len(STORED)} demo articles" in again.stdout

    clean = wirewatch("demo", "--clean", env=cli_env)
    assert clean.returncode == 0 and f"Removed {len({a['outlet'] for a in STORED})} demo outlets" in clean.stdout
    none = wirewatch("search", "Lavrov", "--format", "json", env=cli_env)
    assert json.loads(none.stdout) == []


def test_daemon_crawls_logs_failures_once_and_stops_on_sigterm(replay, cli_env, dsn: str, tmp_path: Path) -> None:
    from demo.outlets import outlets_toml

    outlets = tmp_path / "outlets.toml"
    # Port 9 (discard) is closed on loopback: an outlet that can only fail.
    outlets.write_text(outlets_toml(replay.bases) + '\n[[outlet]]\nname = "unreachable"\ntitle = "Down"\n'
                       'homepage = "http://127.0.0.1:9/"\nlanguage = "en"\ninterval = "1h"\n'
                       'feeds = ["http://127.0.0.1:9/feed.xml"]\n')
    process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "run"],
                               env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        stored = 0
        while time.monotonic() < deadline and stored < len(STORED):
            time.sleep(0.5)
            assert process.poll() is None, process.stderr.read()
            with psycopg.connect(dsn) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        assert stored == len(STORED)
        with psycopg.connect(dsn) as conn:
            failing = conn.execute(
                "SELECT consecutive_failures, last_error FROM outlets WHERE name = 'unreachable'").fetchone()
            deadline = time.monotonic() + 30
            while failing[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.5)
                failing = conn.execute(
                    "SELECT consecutive_failures, last_error FROM outlets WHERE name = 'unreachable'").fetchone()
        assert failing[0] == 1 and "127.0.0.1:9" in failing[1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert stderr.count("crawl of unreachable failed") == 1, stderr
    assert "Traceback" not in stderr
    assert "wirewatch stopped" in stderr


def test_serve_on_a_busy_port_is_one_error_line(cli_env) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = wirewatch("serve", "--port", str(port), env=cli_env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: port {port} on 127.0.0.1 is in use "
                                                  "(--port or WIREWATCH_API_PORT for another)"]


def test_global_options_may_follow_the_command(tmp_path: Path, cli_env) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text('[[outlet]]\nname = "mine"\ntitle = "Mine"\nhomepage = "https://mine.example/"\n'
                    'language = "en"\ninterval = "1h"\nfeeds = ["https://mine.example/feed"]\n')
    before = wirewatch("--outlets", str(mine), "outlets", "check", env=cli_env)
    for args in (["outlets", "check", "--outlets", str(mine)], ["outlets", "check", f"--outlets={mine}", "-v"],
                 ["outlets", "--log-format", "json", "check", "--outlets", str(mine)]):
        after = wirewatch(*args, env=cli_env)
        assert after.returncode == 0 and after.stdout == before.stdout and "mine" in after.stdout, after.stderr
    # `--` ends the options: after it, '--outlets' is a search query like any other
    assert wirewatch("search", "--format", "json", "--", "--outlets", env=cli_env).stdout.strip() == "[]"
    help_text = wirewatch("--help", env=cli_env).stdout
    assert help_text.count("--outlets FILE") == 1 and "may also follow the command" in help_text


def test_run_warns_once_when_no_contact_is_set(tmp_path: Path, cli_env) -> None:
    down = tmp_path / "down.toml"
    down.write_text('[[outlet]]\nname = "down"\ntitle = "Down"\nhomepage = "http://127.0.0.1:9/"\n'
                    'language = "en"\ninterval = "1h"\nfeeds = ["http://127.0.0.1:9/feed.xml"]\n')
    unset = wirewatch("run", "--once", "--outlets", str(down), env=cli_env)
    assert "No such option" not in unset.stderr
    warnings = [line for line in unset.stderr.splitlines() if "crawl.contact_url is not set" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "github.com/wirewatch/wirewatch" in warnings[0]
    assert unset.stderr.index("crawl.contact_url") < unset.stderr.index("crawl of down failed")
    set_ = wirewatch("run", "--once", "--outlets", str(down),
                     env=cli_env | {"WIREWATCH_CRAWL_CONTACT_URL": "mailto:crawler@example.org"})
    assert "crawl of down failed" in set_.stderr and "contact_url" not in set_.stderr


def test_watch_add_says_how_it_reads_a_query_mixing_or_and_exclusions(cli_env) -> None:
    added = wirewatch("watch", "add", "kuril", "--query", "kuril OR lavrov -hockey", "--channel",
                      "json://127.0.0.1:9/hook", env=cli_env)
    assert added.returncode == 0, added.stderr
    assert "Query read as: 'kuril' | ('lavrov' & !'hockey')" in added.stderr
    plain = wirewatch("watch", "add", "plain", "--query", '"northern territories" OR kuril', "--channel",
                      "json://127.0.0.1:9/hook", env=cli_env)
    assert plain.returncode == 0 and "Query read as" not in plain.stderr
